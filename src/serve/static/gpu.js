// The in-browser generator page: parses the picked GGUF in the page, uploads it to the page's
// GPU and streams the continuation there (src/generate/in_browser.ts, served under /modules/).
// The page's state is mirrored on document.body.dataset (state: idle | loading | ready |
// generating | done | error) and the last result's ids on #ids, for automated checks.
import { loadGGUFInBrowser } from "/modules/generate/in_browser.js";

const $ = (id) => document.getElementById(id);
let model = null;
let abort = null;

function setState(state, message) {
  document.body.dataset.state = state;
  if (message !== undefined) $("status").textContent = message;
  $("generate").disabled = !(state === "ready" || state === "done" || state === "error") || model === null;
  $("stop").disabled = state !== "generating";
}

setState("idle");
if (!("gpu" in navigator)) setState("error", "This browser has no WebGPU (navigator.gpu): use a recent Chrome, Edge or Safari.");

$("file").addEventListener("change", async () => {
  const file = $("file").files[0];
  if (!file) return;
  model?.destroy();
  model = null;
  setState("loading", `Reading ${file.name} (${(file.size / 1e6).toFixed(1)} MB)…`);
  try {
    const t0 = performance.now();
    model = await loadGGUFInBrowser(new Uint8Array(await file.arrayBuffer()), file.name);
    const d = model.model.dims;
    $("adapter").textContent = `GPU: ${model.model.adapterName}`;
    setState(
      "ready",
      `${file.name}: ${d.arch}, ${d.layers} layers, vocab ${d.vocabSize}, weights ${model.model.weightFormats} ` +
        `(${(model.model.weightBytes / 1e6).toFixed(1)} MB on the GPU), loaded in ${(performance.now() - t0).toFixed(0)} ms.`,
    );
  } catch (err) {
    setState("error", `Could not load ${file.name}: ${err.message}`);
  }
});

$("generate").addEventListener("click", async () => {
  if (!model) return;
  abort = new AbortController();
  $("text").textContent = $("prompt").value;
  $("ids").textContent = "";
  setState("generating", "Generating on the GPU…");
  const t0 = performance.now();
  try {
    const s = model.stream($("prompt").value, {
      temperature: Number($("temperature").value),
      maxNewTokens: Number($("max-tokens").value),
      seed: Number($("seed").value),
      signal: abort.signal,
    });
    for await (const piece of s) $("text").textContent += piece;
    const r = await s.result;
    const seconds = (performance.now() - t0) / 1000;
    $("ids").textContent = r.tokens.join(" ");
    setState(
      "done",
      `${r.tokens.length} tokens in ${seconds.toFixed(2)} s (${(r.tokens.length / seconds).toFixed(1)} tokens/s), finished by ${r.finishReason}.`,
    );
  } catch (err) {
    setState("error", abort.signal.aborted ? "Stopped." : `Generation failed: ${err.message}`);
  }
});

$("stop").addEventListener("click", () => abort?.abort());
