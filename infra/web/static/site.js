// A little plain JavaScript: copy buttons, and the CSRF token for same-origin fetches.
"use strict";
function csrfToken() {
  const meta = document.querySelector('input[name="csrf_token"]');
  return meta ? meta.value : "";
}
async function postJson(url, body) {
  const response = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": csrfToken()},
    body: JSON.stringify(body),
  });
  return {status: response.status, body: await response.json()};
}
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  await navigator.clipboard.writeText(source.textContent.trim());
  button.textContent = "Copied";
});
