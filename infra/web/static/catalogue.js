// Search as you type: the same page fetched with the form's state, its results swapped in,
// and the address updated so that it stays shareable. Without JavaScript the form submits.
"use strict";
(function () {
  const form = document.getElementById("catalogue"), box = document.getElementById("q");
  if (!form || !box) return;
  let timer = null, latest = 0;
  async function refresh() {
    const params = new URLSearchParams(new FormData(form));
    for (const [key, value] of [...params]) if (!value) params.delete(key);
    const url = "/models?" + params.toString(), ticket = ++latest;
    const response = await fetch(url, {credentials: "same-origin"});
    if (ticket !== latest || !response.ok) return;  // a later keystroke has its own answer
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    document.getElementById("results").replaceWith(page.getElementById("results"));
    history.replaceState(null, "", url);
    performance.mark("results-shown");
  }
  box.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(refresh, 150); });
  form.addEventListener("change", (event) => { if (event.target !== box) refresh(); });
})();
