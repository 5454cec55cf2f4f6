// The in-browser generator page: parses the picked checkpoint in the page (a GGUF file, or a
// Hugging Face folder's files), uploads it to the page's GPU and streams the continuation there
// (src/generate/in_browser.ts, under modules/ beside this file: served by `tsgpt serve`, or
// written with the page by `tsgpt export-page`). The page's state is mirrored on
// document.body.dataset (state: idle | loading | ready | generating | done | error) and the last
// result's ids on #ids, for automated checks.
import { loadPickedFiles } from "./modules/generate/in_browser.js";

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

/** Loads the picked files; `folder` names them in messages. */
async function load(files, folder) {
  model?.destroy();
  model = null;
  if (files.length === 0) {
    setState("error", `${folder}: no files in it.`);
    return;
  }
  const bytes = files.reduce((n, f) => n + f.size, 0);
  setState("loading", `Reading ${folder} (${files.length} file${files.length === 1 ? "" : "s"}, ${(bytes / 1e6).toFixed(1)} MB)…`);
  try {
    const t0 = performance.now();
    model = await loadPickedFiles(files, folder);
    const d = model.model.dims;
    $("adapter").textContent = `GPU: ${model.model.adapterName}`;
    setState(
      "ready",
      `${folder} (${model.format === "hf" ? "Hugging Face" : "GGUF"}): ${d.arch}, ${d.layers} layers, vocab ${d.vocabSize}, ` +
        `${model.tokenizer.kind} tokenizer, weights ${model.model.weightFormats} ` +
        `(${(model.model.weightBytes / 1e6).toFixed(1)} MB on the GPU), loaded in ${(performance.now() - t0).toFixed(0)} ms.`,
    );
  } catch (err) {
    setState("error", `Could not load ${folder}: ${err.message}`);
  }
}

$("file").addEventListener("change", () => {
  const files = [...$("file").files];
  if (files.length > 0) load(files, files.length === 1 ? files[0].name : "the picked files");
});

// A picked folder lists every file under it (webkitRelativePath "folder/…"): a checkpoint is
// the files directly in the folder, not those of its subfolders.
$("folder").addEventListener("change", () => {
  const all = [...$("folder").files];
  const folder = all.length > 0 ? all[0].webkitRelativePath.split("/")[0] : "the folder";
  load(
    all.filter((f) => f.webkitRelativePath.split("/").length === 2),
    folder,
  );
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
