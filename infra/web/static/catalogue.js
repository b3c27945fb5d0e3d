// Search as you type: the same page fetched with the form's state, its results swapped in,
// and the address updated so that it stays shareable. Without JavaScript the form submits.
"use strict";
(function () {
  const form = document.getElementById("catalogue"), box = document.getElementById("q");
  if (!form || !box) return;
  // 100 ms between keystrokes ends a burst of typing; a search still on its way when the
  // next one starts is dropped, so the connection serves only the latest.
  const PAUSE_MS = 100;
  let timer = null, latest = 0, pending = null;
  async function refresh() {
    const params = new URLSearchParams(new FormData(form));
    for (const [key, value] of [...params]) if (!value) params.delete(key);
    const url = "/models?" + params.toString(), ticket = ++latest;
    if (pending) pending.abort();
    pending = new AbortController();
    let response;
    try {
      response = await fetch(url, {credentials: "same-origin", signal: pending.signal});
    } catch (error) {
      if (error.name === "AbortError") return;
      throw error;
    }
    if (ticket !== latest || !response.ok) return;  // a later keystroke has its own answer
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    document.getElementById("results").replaceWith(page.getElementById("results"));
    history.replaceState(null, "", url);
    performance.mark("results-shown");
  }
  box.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(refresh, PAUSE_MS); });
  form.addEventListener("change", (event) => { if (event.target !== box) refresh(); });
})();
