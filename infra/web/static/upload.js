// A model version uploaded in parts from the browser, with a progress bar. After a
// dropped connection the Resume button asks the server which parts are missing and
// sends only those, as the SDK does. Every request carries the page's CSRF token.
"use strict";
(function () {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const csrf = form.querySelector("input[name=csrf_token]").value;
  const bar = document.getElementById("upload-progress");
  const said = document.getElementById("upload-status");
  const resume = document.getElementById("upload-resume");
  const base = form.dataset.base; // /publisher/uploads
  let file = null;
  let uploadId = null;

  class Refused extends Error {}

  async function call(method, url, body, type) {
    const headers = { "X-CSRF-Token": csrf, Accept: "application/json" };
    if (type) headers["Content-Type"] = type;
    const answer = await fetch(url, { method, headers, body, credentials: "same-origin" });
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) {
      const error = data.error || {};
      throw new Refused(`${error.message || answer.statusText} (${error.code || answer.status})`);
    }
    return data;
  }

  async function sha256(blob) {
    // The whole file is read once to hash it (the server wants the digest up front).
    if (!window.crypto || !crypto.subtle) throw new Refused("hashing needs https (or localhost)");
    const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function show(done, total) {
    bar.max = total;
    bar.value = done;
    bar.textContent = `${Math.round((100 * done) / total)} %`;
    said.textContent = `Sent ${done} of ${total} bytes`;
  }

  function partBytes(state, n) {
    return Math.min(state.part_size, state.size - (n - 1) * state.part_size);
  }

  async function sendMissing(state) {
    let done = state.size - state.missing.reduce((sum, n) => sum + partBytes(state, n), 0);
    show(done, state.size);
    for (const n of state.missing) {
      const start = (n - 1) * state.part_size;
      const part = file.slice(start, start + partBytes(state, n));
      await call("PUT", `${base}/${uploadId}/parts/${n}`, part, "application/octet-stream");
      done += part.size;
      show(done, state.size);
    }
  }

  async function run(fresh) {
    resume.hidden = true;
    try {
      if (fresh) {
        said.textContent = "Hashing the file...";
        const declared = {
          version: form.elements.version.value,
          size: file.size,
          sha256: await sha256(file),
          part_size: Number(form.elements.part_size.value) * 1024,
        };
        uploadId = (await call("POST", form.action, JSON.stringify(declared), "application/json")).upload_id;
      }
      await sendMissing(await call("GET", `${base}/${uploadId}`));
      said.textContent = "Validating...";
      const version = await call("POST", `${base}/${uploadId}/complete`);
      said.textContent = `Version ${version.version} is ${version.status}. ${(version.reasons || []).join(" ")} `;
      const see = document.createElement("a");
      see.href = `${window.location.pathname}?wait_for=${version.position}`;
      see.textContent = "See the versions";
      said.append(see);
    } catch (error) {
      if (error instanceof Refused) {
        said.textContent = `Refused: ${error.message}`;
        return;
      }
      said.textContent = "The connection dropped. Resume sends only the parts the server is missing.";
      resume.hidden = false;
      resume.focus();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    file = form.elements.file.files[0];
    if (file) run(true);
  });
  resume.addEventListener("click", () => run(false));
})();
