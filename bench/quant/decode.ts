// Decode speed of quantized weights: a random Llama with llama2.c's 110M shape (768 dims, 12
// layers, 12 heads, vocabulary 32000, FFN 2048) in F32, Q8_0, Q4_0 and Q4_K GGUF files, decoded
// greedily by tsgpt (weights kept quantized, native integer kernels) and, when node-llama-cpp is
// installed, by llama.cpp on the very same files with the same number of threads, in one run.
//
//   npx tsx bench/quant/decode.ts [--threads 2] [--tokens 48]
//   TSGPT_LLAMACPP_DIR=/path/with/node_modules/node-llama-cpp npx tsx bench/quant/decode.ts
//
// The timing code is shared with table.ts: greedy_decode.ts (tsgpt), llamacpp_runner.ts (llama.cpp).
//
// Decode is bound by how many weight bytes stream from memory per token, so the smaller dtypes
// should be faster. Timings cover the generated tokens only (the prompt is fed before the clock
// starts); random weights do not change the time per token. The vocabulary is Llama 2's (from
// ../shared), so llama.cpp loads the files as ordinary Llama models.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Checkpoint, StoredTensor } from "../../src/formats/types.js";
import { readGGUFCheckpoint, writeGGUFCheckpoint } from "../../src/formats/gguf_llama.js";
import { readSentencePieceVocab } from "../../src/formats/vocab.js";
import { DecoderModel } from "../../src/generate/decoder.js";
import { getBackend } from "../../src/backend/index.js";
import { setNumThreads } from "../../src/backend/native.js";
import { quantizeCheckpoint } from "../../src/quant/checkpoint.js";
import { quantKernelInfo } from "../../src/quant/kernels.js";
import type { QuantDType } from "../../src/quant/types.js";
import { llamaCppSpecifier, openLlamaCpp } from "./llamacpp_runner.js";
import { tsgptDecode } from "./greedy_decode.js";

const { values } = parseArgs({ options: { threads: { type: "string", default: "2" }, tokens: { type: "string", default: "48" } } });
const threads = Number(values.threads),
  tokens = Number(values.tokens);
const here = fileURLToPath(new URL(".", import.meta.url));
const shared = process.env.TSGPT_SHARED_DIR ?? resolve(here, "..", "..", "..", "shared");
const PROMPT = [1, 9038, 2501, 263, 931]; // <s> Once upon a time (Llama 2 ids)

/** A random llama-110m: uniform weights of the scale a trained model has (values do not matter). */
function randomLlama110m(): Checkpoint {
  const H = 768,
    L = 12,
    I = 2048,
    V = 32000;
  let s = 0x9e3779b9;
  const next = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  const w = (shape: number[], scale: number): StoredTensor => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = (next() * 2 - 1) * scale;
    return { dtype: "F32", shape, data };
  };
  const ones = (n: number): StoredTensor => ({ dtype: "F32", shape: [n], data: new Float32Array(n).fill(1) });
  const t = new Map<string, StoredTensor>([["model.embed_tokens.weight", w([V, H], 0.05)]]);
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}`;
    t.set(`${p}.input_layernorm.weight`, ones(H));
    for (const n of ["q", "k", "v", "o"]) t.set(`${p}.self_attn.${n}_proj.weight`, w([H, H], 0.05));
    t.set(`${p}.post_attention_layernorm.weight`, ones(H));
    t.set(`${p}.mlp.gate_proj.weight`, w([I, H], 0.05));
    t.set(`${p}.mlp.up_proj.weight`, w([I, H], 0.05));
    t.set(`${p}.mlp.down_proj.weight`, w([H, I], 0.03));
  }
  t.set("model.norm.weight", ones(H));
  return {
    config: {
      model_type: "llama",
      vocab_size: V,
      hidden_size: H,
      intermediate_size: I,
      num_hidden_layers: L,
      num_attention_heads: 12,
      num_key_value_heads: 12,
      max_position_embeddings: 1024,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: true,
      bos_token_id: 1,
      eos_token_id: 2,
    },
    tensors: t,
    vocab: readSentencePieceVocab(join(shared, "testdata", "tokenizer", "llama2.model")),
    source: { path: "random-llama-110m", format: "hf" },
  };
}

type Decoder = () => Promise<number>;

const ROUNDS = 3;
const dir = mkdtempSync(join(tmpdir(), "tsgpt-decode-bench-"));
const specifier = llamaCppSpecifier();
const llamaCpp = specifier ? await openLlamaCpp(specifier, { threads, contextSize: 256 }) : null;
try {
  if (getBackend().name !== "native") throw new Error("this benchmark needs the native backend (npm install builds it)");
  setNumThreads(threads);
  console.log(
    `random llama-110m, ${tokens} decode tokens after a ${PROMPT.length}-token prompt, ${threads} threads, best of ${ROUNDS} interleaved rounds; tsgpt quantized kernels: ${quantKernelInfo().kernel}`,
  );
  if (!llamaCpp) console.log("TSGPT_LLAMACPP_DIR not set: llama.cpp comparison skipped");
  const f32 = randomLlama110m();
  const rows: Array<{ dtype: string; bytes: number; ours: Decoder; ref?: Decoder; oursBest: number; refBest: number }> = [];
  for (const dtype of ["F32", "Q8_0", "Q4_0", "Q4_K"] as const) {
    const path = join(dir, `llama110m-${dtype.toLowerCase()}.gguf`);
    writeGGUFCheckpoint(path, dtype === "F32" ? f32 : quantizeCheckpoint(f32, dtype as QuantDType));
    const model = DecoderModel.fromCheckpoint(readGGUFCheckpoint(path)); // weights as stored: f32 or quantized
    const ref = await llamaCpp?.load(path);
    rows.push({
      dtype,
      bytes: statSync(path).size,
      oursBest: 0,
      refBest: 0,
      ours: async () => tsgptDecode(model, PROMPT, tokens).tokPerS,
      ref: ref && (async () => (await ref.decode(PROMPT, tokens)).tokPerS),
    });
  }
  // Rounds interleave the dtypes and the two engines, so a busy moment on the machine does not
  // favour one of them; each figure is the best of its rounds.
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of rows) {
      r.oursBest = Math.max(r.oursBest, await r.ours());
      if (r.ref) r.refBest = Math.max(r.refBest, await r.ref());
    }
  }
  const base = rows[0]!;
  console.log("\n| dtype | file MiB | size vs F32 | tsgpt tok/s | vs tsgpt F32 | llama.cpp tok/s | tsgpt / llama.cpp |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of rows) {
    const ref = r.ref ? r.refBest.toFixed(1) : "–";
    const ratio = r.ref ? `${(r.oursBest / r.refBest).toFixed(2)}×` : "–";
    console.log(
      `| ${r.dtype} | ${(r.bytes / 2 ** 20).toFixed(1)} | ${(r.bytes / base.bytes).toFixed(3)} | ${r.oursBest.toFixed(1)} | ${(r.oursBest / base.oursBest).toFixed(2)}× | ${ref} | ${ratio} |`,
    );
  }
} finally {
  await llamaCpp?.dispose();
  rmSync(dir, { recursive: true, force: true });
}
