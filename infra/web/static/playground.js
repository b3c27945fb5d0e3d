// The playground: inputs from the form (an image drawn to a canvas and sent as a raw
// float32 tensor), one same-origin POST with the CSRF token, outputs, timing and cost.
"use strict";
function shapeOf(el) { return el.dataset.shape ? el.dataset.shape.split(",").map(Number) : []; }
function base64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(text);
}
function imageTensor(file, el) {
  const shape = shapeOf(el), nchw = el.dataset.layout === "nchw";
  const [c, h, w] = nchw ? [shape[1], shape[2], shape[3]] : [shape[3], shape[1], shape[2]];
  return createImageBitmap(file).then((bitmap) => {
    const canvas = document.createElement("canvas");
    canvas.width = w; canvas.height = h;
    const context = canvas.getContext("2d");
    context.drawImage(bitmap, 0, 0, w, h);
    const pixels = context.getImageData(0, 0, w, h).data, out = new Float32Array(c * h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
      const at = (y * w + x) * 4;
      // One channel: the pixel's grey (ITU-R 601 luma, as Pillow's "L"), not its red.
      const value = c === 1 ? (0.299 * pixels[at] + 0.587 * pixels[at + 1] + 0.114 * pixels[at + 2]) / 255 : pixels[at + k] / 255;
      out[nchw ? (k * h + y) * w + x : (y * w + x) * c + k] = value;
    }
    return {b64: base64(new Uint8Array(out.buffer)), dtype: "float32", shape: shape};
  });
}
async function readInput(el) {
  const control = el.querySelector("input, textarea");
  if (el.dataset.kind === "image") {
    if (!control.files.length) throw new Error("choose an image for " + el.dataset.input);
    return imageTensor(control.files[0], el);
  }
  if (el.dataset.kind === "number") return [Number(control.value)];
  return JSON.parse(control.value);
}
function show(result, text, ok) {
  result.className = ok ? "ok" : "error";
  result.textContent = text;
}
document.getElementById("playground").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target, result = document.getElementById("play-result");
  const inputs = {};
  try {
    for (const el of form.querySelectorAll("[data-input]")) inputs[el.dataset.input] = await readInput(el);
  } catch (error) { show(result, "Input: " + error.message, false); return; }
  show(result, "Running…", true);
  const started = performance.now();
  const response = await fetch(form.dataset.url, {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": form.csrf_token.value},
    body: JSON.stringify({inputs: inputs}),
  });
  const body = await response.json(), took = Math.round(performance.now() - started);
  if (!response.ok) { show(result, (body.error ? body.error.code + ": " + body.error.message : JSON.stringify(body)), false); return; }
  const cost = body.cost, money = (cost.amount / 100).toFixed(2) + " " + cost.currency;
  show(result, "", true);
  result.innerHTML = "<p><strong>Took</strong> <span id='play-ms'></span> · <strong>cost</strong> <span id='play-cost'></span></p><pre id='play-out'></pre>";
  document.getElementById("play-ms").textContent = took + " ms in the browser, " + JSON.stringify(body.timings_ms) + " on the server";
  document.getElementById("play-cost").textContent = money + " (" + cost.units + " unit" + (cost.units === 1 ? "" : "s") + ")";
  document.getElementById("play-out").textContent = JSON.stringify(body.outputs, null, 1).slice(0, 20000);
});
