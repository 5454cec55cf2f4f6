// Decode tok/s of the GPU decoder (WebGPUDecoder) beside the CPU decoder on the native backend,
// same model, same prompt, same run, for F32, Q8_0 and Q4_0 weights, and the memory bandwidth
// the GPU reached (weight bytes one token streams × tok/s).
//
//   npx tsx bench/webgpu/decode.ts            options: --tokens N (default 32)  --rounds N (default 3)
//     --model PATH      a checkpoint (default: ../shared/models/llama-110m if present, else a
//                       generated Llama of --hidden 512, --layers 4, --vocab 4096)
//     --formats F32,Q8_0,Q4_0
//
// Greedy decoding: the GPU keeps the argmax on the device with 3 steps in flight (the path
// `tsgpt generate --device webgpu --temperature 0` takes); "gpu logits" times the sampling path
// (the logits read back every token). Decode only: the clock starts at the first generated
// token, after the prompt. Medians of rounds; prints the adapter, the CPU and the load average.
// Not a test: nothing is asserted.
import { cpus, loadavg } from "node:os";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { setBackend, availableBackends } from "../../src/backend/index.js";
import { openWebGPU } from "../../src/backend/webgpu/open.js";
import type { ModelConfig } from "../../src/arch/index.js";
import { tensorSpecs } from "../../src/arch/index.js";
import type { Checkpoint, StoredTensor } from "../../src/formats/types.js";
import { loadCheckpoint } from "../../src/formats/load.js";
import { DecoderModel } from "../../src/generate/decoder.js";
import { WebGPUDecoder } from "../../src/generate/webgpu_decoder.js";
import { generationLoop, type GenerationModel, type GenerationTokenizer } from "../../src/generate/generate.js";
import { canQuantize, quantizeTensor } from "../../src/quant/quantize.js";
import type { QuantDType } from "../../src/quant/types.js";
import { Generator } from "../../src/tensor/random.js";

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A generated Llama (random weights scaled by 1/√fan-in): the shapes, not the text, set the speed. */
function generatedModel(hidden: number, layers: number, vocab: number): Checkpoint {
  const config = {
    model_type: "llama",
    vocab_size: vocab,
    hidden_size: hidden,
    intermediate_size: Math.round((hidden * 8) / 3 / 32) * 32,
    num_hidden_layers: layers,
    num_attention_heads: hidden / 64,
    num_key_value_heads: hidden / 64,
    max_position_embeddings: 512,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: false,
  } as ModelConfig;
  const rng = new Generator(1);
  const tensors = new Map<string, StoredTensor>();
  for (const s of tensorSpecs(config)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const norm = s.shape.length === 1;
    const scale = norm ? 0.1 : 1 / Math.sqrt(s.shape[1]!);
    tensors.set(s.name, {
      dtype: "F32",
      shape: s.shape,
      data: Float32Array.from({ length: n }, () => (norm ? 1 : 0) + (rng.random() * 2 - 1) * scale),
    });
  }
  return { config, tensors, source: { path: `generated llama ${layers}L/${hidden}d/vocab ${vocab}`, format: "hf" } };
}

function quantized(ckpt: Checkpoint, dtype: QuantDType | "F32"): Checkpoint {
  if (dtype === "F32") return ckpt;
  const tensors = new Map<string, StoredTensor>();
  for (const [name, t] of ckpt.tensors) {
    const ok = t.shape.length === 2 && canQuantize(dtype, t.shape[1]!);
    tensors.set(name, ok ? (quantizeTensor(t, dtype, name) as unknown as StoredTensor) : t);
  }
  return { ...ckpt, tensors };
}

/** Ids in, ids out: every token releases text, so each step is one event of the loop. */
const idTokenizer = (vocab: number): GenerationTokenizer => ({
  encodeAsIds: () => [],
  decode: (ids) => ids.join(" "),
  bosId: -1,
  eosId: -1,
  vocabSize: vocab,
  createStreamDecoder: () => ({ push: (id: number) => ` ${id}`, flush: () => "" }),
});

/** Decode tok/s: tokens after the first over the time since the first (prefill excluded). */
async function tokensPerSecond(model: GenerationModel, tokens: number, sampled: boolean): Promise<number> {
  const prompt = Array.from({ length: 8 }, (_, i) => (i * 13 + 5) % model.dims.vocabSize);
  const options = sampled
    ? { temperature: 1, topK: 1, seed: 1, maxNewTokens: tokens } // top-k 1: greedy text through the sampling path
    : { temperature: 0, maxNewTokens: tokens };
  const loop = generationLoop(model, idTokenizer(model.dims.vocabSize), [prompt], { ...options, eosTokenId: [] });
  let first = 0,
    count = 0;
  for (;;) {
    const step = await loop.next();
    if (step.done) break;
    if (count++ === 0) first = performance.now();
  }
  return (count - 1) / ((performance.now() - first) / 1000);
}

async function main(): Promise<void> {
  const tokens = Number(option("--tokens") ?? 32);
  const rounds = Number(option("--rounds") ?? 3);
  const formats = (option("--formats") ?? "F32,Q8_0,Q4_0").split(",") as (QuantDType | "F32")[];
  const opened = await openWebGPU();
  if (!opened.ok) console.log(`webgpu: unavailable (${opened.reason}); native figures only`);
  const gpu = opened.ok ? opened.context : undefined;
  const hasNative = availableBackends().includes("native");
  setBackend(hasNative ? "native" : "js");
  const shared110m = join(import.meta.dirname ?? ".", "..", "..", "..", "shared", "models", "llama-110m");
  const path = option("--model") ?? (existsSync(shared110m) ? shared110m : undefined);
  const base = path
    ? await loadCheckpoint(path)
    : generatedModel(Number(option("--hidden") ?? 512), Number(option("--layers") ?? 4), Number(option("--vocab") ?? 4096));
  console.log(`model: ${base.source.path}`);
  console.log(`webgpu adapter: ${gpu?.adapterName ?? "none"}`);
  console.log(`cpu: ${cpus()[0]?.model ?? "?"} × ${cpus().length}; CPU decoder on the ${hasNative ? "native" : "js"} backend`);
  console.log(
    `load average at start: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
  console.log(
    `${"weights".padEnd(8)} ${"MB/token".padStart(9)} ${"gpu greedy".padStart(11)} ${"gpu logits".padStart(11)} ${"native".padStart(8)} ${"gpu/native".padStart(11)} ${"gpu GB/s".padStart(9)}`,
  );
  for (const f of formats) {
    const ckpt = quantized(base, f);
    const cpu = DecoderModel.fromCheckpoint(ckpt);
    const dev = gpu ? await WebGPUDecoder.load(ckpt, { gpu }) : null;
    const g: number[] = [],
      gl: number[] = [],
      n: number[] = [];
    await tokensPerSecond(cpu, 4, false); // warm-up (and shader compilation on the GPU)
    if (dev) await tokensPerSecond(dev, 4, false);
    if (dev) await tokensPerSecond(dev, 4, true);
    for (let r = 0; r < rounds; r++) {
      if (dev) g.push(await tokensPerSecond(dev, tokens, false));
      if (dev) gl.push(await tokensPerSecond(dev, tokens, true));
      n.push(await tokensPerSecond(cpu, tokens, false));
    }
    const bytes = dev?.weightBytesPerToken ?? cpu.weightBytes;
    const [gm, glm, nm] = [g.length ? median(g) : Number.NaN, gl.length ? median(gl) : Number.NaN, median(n)];
    console.log(
      `${f.padEnd(8)} ${(bytes / 1e6).toFixed(1).padStart(9)} ${gm.toFixed(1).padStart(11)} ${glm.toFixed(1).padStart(11)} ${nm.toFixed(1).padStart(8)} ${(gm / nm).toFixed(2).padStart(11)} ${((bytes * gm) / 1e9).toFixed(2).padStart(9)}`,
    );
  }
  console.log(
    `load average at end: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
  gpu?.destroy();
}

await main();
