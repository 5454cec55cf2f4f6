// Quantized stories260K in tsgpt and in llama.cpp (through node-llama-cpp), in the same run:
//   1. tsgpt quantizes the model to q8_0 / q6_k / q5_0 / q4_1 / q4_0 / q4_k GGUF files (with
//      llama-quantize's output-head rule, and q4_1 / q4_0 / q4_k also without it: --output-type
//      same) (stories260K's rows are 64 long, so its output head is Q8_0 and q4_k falls back to
//      Q5_0),
//   2. both decode the same prompt (the same token ids) greedily from each file: the token ids
//      must be the same,
//   3. perplexity of f32 vs each dtype on simple stories (stories.txt) and held-out lines,
//   4. the quantized matmul kernels (js, native) against the f32 matmul on a 2048 × 2048 GEMV.
// Run: npx tsx bench/quant/llamacpp.ts [--tokens 64]
// llama.cpp part: needs node-llama-cpp (its prebuilt CPU binaries), found through
// TSGPT_LLAMACPP_DIR (a folder whose node_modules holds it) or TSGPT_NODE_LLAMA_CPP (a module
// specifier); skipped otherwise. tsgpt decodes with the weights kept quantized.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadCheckpointSync } from "../../src/formats/load.js";
import { readGGUFCheckpoint } from "../../src/formats/gguf_llama.js";
import { SentencePieceProcessor } from "../../src/tokenizer/processor.js";
import { DecoderModel } from "../../src/generate/decoder.js";
import { getBackend } from "../../src/backend/index.js";
import { evaluateQuantization } from "../../src/generate/perplexity.js";
import { quantizeTensor } from "../../src/quant/quantize.js";
import { quantizeCheckpoint } from "../../src/quant/checkpoint.js";
import type { Checkpoint } from "../../src/formats/types.js";
import type { QuantDType } from "../../src/quant/types.js";
import { quantizedMatmulJs } from "../../src/quant/matmul.js";
import { quantKernelInfo, quantizedMatmul } from "../../src/quant/kernels.js";
import { main as cli } from "../../src/cli/main.js";
import { llamaCppSpecifier, openLlamaCpp } from "./llamacpp_runner.js";
import { tsgptDecode } from "./greedy_decode.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const shared = process.env.TSGPT_SHARED_DIR ?? resolve(here, "..", "..", "..", "shared");
const modelPath = join(shared, "models", "stories260K", "stories260K.bin");
const tokPath = join(shared, "models", "stories260K", "tok512.model");
const tokensArg = process.argv.indexOf("--tokens");
const maxTokens = tokensArg > 0 ? Number(process.argv[tokensArg + 1]) : 64;
const prompt = "Once upon a time";
const dir = mkdtempSync(join(tmpdir(), "tsgpt-quant-bench-"));

function gemvBench(): void {
  const n = 2048,
    k = 2048,
    reps = 20;
  const x = Float32Array.from({ length: k }, (_, i) => Math.sin(i));
  const wf = Float32Array.from({ length: n * k }, (_, i) => Math.cos(i * 0.37) * 0.05);
  const out = new Float32Array(n);
  const time = (f: () => void, r = reps) => {
    f();
    const t0 = performance.now();
    for (let i = 0; i < r; i++) f();
    return (performance.now() - t0) / r;
  };
  const be = getBackend();
  const f32 = time(() =>
    be.matmul({
      batch: 1,
      m: 1,
      n,
      k,
      a: x,
      aOffset: 0,
      aBatchStride: 0,
      transA: false,
      b: wf,
      bOffset: 0,
      bBatchStride: 0,
      transB: true,
      c: out,
      accumulate: false,
    }),
  );
  console.log(`\nGEMV 1×${k} · (${n}×${k})ᵀ, ${be.name} f32 matmul: ${f32.toFixed(3)} ms; quantized kernel: ${quantKernelInfo().kernel}`);
  for (const dt of ["Q8_0", "Q6_K", "Q5_0", "Q4_1", "Q4_0", "Q4_K", "Q8_ROW"] as const) {
    const w = quantizeTensor({ data: wf, shape: [n, k] }, dt);
    const q = time(() => quantizedMatmul(x, 1, k, w, out));
    const js = time(() => quantizedMatmulJs(x, 1, k, w, out), 2);
    console.log(
      `  ${dt.padEnd(6)} ${(w.data.length / 2 ** 20).toFixed(2)} MiB  kernel ${q.toFixed(3)} ms (${(f32 / q).toFixed(2)}× f32)  js ${js.toFixed(1)} ms`,
    );
  }
}

const sp = SentencePieceProcessor.load(tokPath);
const ckpt = loadCheckpointSync(modelPath);
const bos = ckpt.config.bos_token_id ?? 1;
const promptIds = [bos, ...sp.encode(prompt)];
// One thread: on a shared machine, llama.cpp's spinning worker threads slow it down badly.
const specifier = llamaCppSpecifier();
const llamaCpp = specifier ? await openLlamaCpp(specifier, { threads: 1, contextSize: 512 }) : null;
try {
  if (!llamaCpp) console.log("node-llama-cpp not found (set TSGPT_LLAMACPP_DIR): llama.cpp comparison skipped");
  console.log(
    `greedy from the ${promptIds.length} token ids of "${prompt}" (BOS included), ${maxTokens} tokens (tsgpt backend: ${getBackend().name}, quantized kernels: ${quantKernelInfo().kernel}; weights kept quantized)`,
  );
  const compare = async (label: string, path: string, mixture: string): Promise<void> => {
    // Token ids, not texts: the engines' detokenizers may differ in spaces, the ids may not.
    const ours = tsgptDecode(DecoderModel.fromCheckpoint(readGGUFCheckpoint(path)), promptIds, maxTokens);
    console.log(`\n[${label}] ${mixture}`);
    console.log(`[${label}] tsgpt     ${ours.tokPerS.toFixed(0)} tok/s: ${JSON.stringify(sp.decode(ours.ids).slice(0, 100))}…`);
    if (llamaCpp) {
      const ref = await (await llamaCpp.load(path)).decode(promptIds, maxTokens);
      console.log(`[${label}] llama.cpp ${ref.tokPerS.toFixed(0)} tok/s: ${JSON.stringify(sp.decode(ref.ids).slice(0, 100))}…`);
      const first = ours.ids.findIndex((id, i) => id !== ref.ids[i]);
      const same = first < 0 && ours.ids.length === ref.ids.length;
      console.log(
        `[${label}] greedy token ids equal (${ours.ids.length} tokens): ${same}${same ? "" : ` (first difference at token ${first}: ${ours.ids[first]} vs ${ref.ids[first]})`}`,
      );
    }
  };
  /** "Q6_K ×1, Q4_K ×14, F32 ×5": the dtypes of a quantized checkpoint's tensors. */
  const mixtureOf = (ck: Checkpoint): string => {
    const counts = new Map<string, number>();
    for (const t of ck.tensors.values()) counts.set(t.dtype, (counts.get(t.dtype) ?? 0) + 1);
    return [...counts].map(([d, n]) => `${d} ×${n}`).join(", ");
  };
  const storiesCkpt = loadCheckpointSync(modelPath);
  const runs = [
    ["q8_0", "auto"],
    ["q6_k", "auto"],
    ["q5_0", "auto"],
    ["q4_1", "auto"],
    ["q4_1", "same"],
    ["q4_0", "auto"],
    ["q4_0", "same"],
    ["q4_k", "auto"],
    ["q4_k", "same"],
  ] as const;
  for (const [dtype, outputType] of runs) {
    const label = `stories260K ${dtype}${outputType === "same" ? " pure" : ""}`;
    const out = join(dir, `stories260K-${dtype}-${outputType}.gguf`);
    const code = await cli(["quantize", "--model", modelPath, "--dtype", dtype, "--output-type", outputType, "--out", out]);
    if (code !== 0) throw new Error(`quantize ${dtype} failed`);
    await compare(label, out, mixtureOf(quantizeCheckpoint(storiesCkpt, dtype.toUpperCase() as QuantDType, { output: outputType })));
  }

  const stories = readFileSync(join(here, "stories.txt"), "utf8")
    .split("\n")
    .filter((l) => l.trim());
  const heldout = readFileSync(join(shared, "testdata", "corpus", "heldout.txt"), "utf8")
    .split("\n")
    .filter((l) => /^[\x20-\x7e]{40,300}$/.test(l))
    .slice(0, 40); // plain-ASCII English lines
  for (const [name, lines] of [
    ["stories.txt (simple children's stories)", stories],
    ["heldout.txt (40 ASCII lines: web text, far from TinyStories)", heldout],
  ] as const) {
    const seqs = lines.map((l) => [bos, ...sp.encode(l)]);
    const rows = evaluateQuantization(ckpt, seqs, ["Q8_0", "Q6_K", "Q5_0", "Q4_1", "Q4_0", "Q4_K", "Q8_ROW"]);
    console.log(`\nperplexity on ${name}, ${seqs.reduce((s, q) => s + q.length - 1, 0)} predicted tokens`);
    console.log("| dtype | perplexity | Δ vs f32 | weight bytes |\n| --- | ---: | ---: | ---: |");
    for (const r of rows)
      console.log(
        `| ${r.dtype} | ${r.perplexity.toFixed(4)} | ${r.dtype === "F32" ? "" : `${((r.perplexity / rows[0]!.perplexity - 1) * 100).toFixed(2)} %`} | ${r.weightBytes} |`,
      );
  }
  gemvBench();
} finally {
  await llamaCpp?.dispose();
  rmSync(dir, { recursive: true, force: true });
}
