// The GPU decoder (WebGPUDecoder) against the CPU decoder (DecoderModel), on whatever WebGPU
// adapter is present (on Linux without a GPU, Mesa's lavapipe gives one):
//   - stories260K greedy ids equal llama2.c run.c's (the shared reference) and the CPU decoder's;
//   - logits within float tolerance of the CPU decoder's with f32 weights (the CPU dequantizes
//     quantized weights with { dtype: "float32" }, the GPU dequantizes in its matvec kernel) for
//     F32, Q8_0, Q4_0 and Q4_K, and for every family: GPT-2, Llama (GQA, llama3 RoPE scaling),
//     Qwen2 (biases), Qwen3 (q/k norms), Mistral (sliding window);
//   - batched, left-padded, chunked-prefill generation equals the CPU's (greedy on the GPU with
//     steps in flight, and sampling through the logits readback);
//   - bad input and a lost device give errors, never a hang.
// Skipped, with the reason, where no WebGPU adapter exists.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Checkpoint, StoredTensor } from "../../src/formats/types.js";
import type { ModelConfig } from "../../src/arch/index.js";
import { tensorSpecs } from "../../src/arch/index.js";
import { openWebGPU } from "../../src/backend/webgpu/open.js";
import { DecoderModel } from "../../src/generate/decoder.js";
import { WebGPUDecoder } from "../../src/generate/webgpu_decoder.js";
import { TextGenerator } from "../../src/generate/text_generator.js";
import { generateBatch, type GenerationTokenizer } from "../../src/generate/generate.js";
import { loadCheckpoint } from "../../src/formats/load.js";
import { canQuantize, quantizeTensor } from "../../src/quant/quantize.js";
import type { QuantDType } from "../../src/quant/types.js";
import { Generator } from "../../src/tensor/random.js";
import { FAMILIES } from "../arch/tiny_families.js";
import { tinyGPT2 } from "./tiny_models.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";

const opened = await openWebGPU();
const skip = opened.ok ? false : `webgpu unavailable: ${opened.ok ? "" : opened.reason}`;
const gpu = opened.ok ? opened.context : undefined;
if (gpu) process.stdout.write(`# webgpu adapter: ${gpu.adapterName}\n`);
after(() => gpu?.destroy());

/** A checkpoint of random weights for `config` (norm weights near 1, matrices ~1/√fan-in), named and shaped as the architecture says. */
function randomCheckpoint(config: ModelConfig, seed: number): Checkpoint {
  const rng = new Generator(seed);
  const tensors = new Map<string, StoredTensor>();
  for (const s of tensorSpecs(config)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const norm = s.role.endsWith("norm") && s.kind === "weight";
    // Matrices scaled by 1/√fan-in, as trained weights roughly are: activations stay O(1).
    const scale = norm ? 0.2 : s.shape.length === 2 ? 2 / Math.sqrt(s.shape[1]!) : 0.1;
    const data = Float32Array.from({ length: n }, () => (norm ? 1 : 0) + (rng.random() * 2 - 1) * scale);
    tensors.set(s.name, { dtype: "F32", shape: s.shape, data });
  }
  return { config: { ...config }, tensors, source: { path: `random ${config.model_type}`, format: "hf" } };
}

/** The checkpoint with every matrix whose rows allow it quantized to `dtype`. */
function quantized(ckpt: Checkpoint, dtype: QuantDType): Checkpoint {
  const tensors = new Map<string, StoredTensor>();
  for (const [name, t] of ckpt.tensors) {
    const q = t.shape.length === 2 && canQuantize(dtype, t.shape[1]!) ? (quantizeTensor(t, dtype, name) as unknown as StoredTensor) : t;
    tensors.set(name, q);
  }
  return { ...ckpt, tensors };
}

/** Largest |gpu − cpu| over the logits of a 6-token prompt (two rows, one left-padded, in chunks) and 3 single steps. */
async function maxLogitDiff(ckpt: Checkpoint): Promise<{ diff: number; scale: number }> {
  const cpu = DecoderModel.fromCheckpoint(ckpt, { dtype: "float32" });
  const dev = await WebGPUDecoder.load(ckpt, { gpu });
  const V = cpu.dims.vocabSize;
  const ids = (k: number) => Int32Array.from({ length: k }, (_, i) => (i * 7 + 3) % V);
  const cc = cpu.createCache(2, 12),
    gc = dev.createCache(2, 12);
  let diff = 0,
    scale = 0;
  const compare = (a: Float32Array, b: Float32Array) => {
    assert.equal(b.length, a.length);
    for (let i = 0; i < a.length; i++) {
      diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
      scale = Math.max(scale, Math.abs(a[i]!));
    }
  };
  // Row 1 is left-padded by two slots; prefill in chunks of 4 and 2, logits of every step.
  const tokens = ids(12),
    positions = Int32Array.from([0, 1, 2, 3, 4, 5, 0, 0, 0, 1, 2, 3]),
    valid = Uint8Array.from([1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1]);
  const part = (t: number, k: number) => {
    const rows = [0, 1].map((b) => [b * 6 + t, b * 6 + t + k] as const);
    const pick = <T extends Int32Array | Uint8Array>(a: T): T => {
      const out = new (a.constructor as new (n: number) => T)(2 * k);
      rows.forEach(([s, e], b) => out.set(a.subarray(s, e), b * k));
      return out;
    };
    return [pick(tokens), pick(positions), pick(valid)] as const;
  };
  for (const [t, k] of [
    [0, 4],
    [4, 2],
  ] as const) {
    const [tk, ps, vd] = part(t, k);
    compare(cpu.forward(cc, tk, ps, vd, k, true), await dev.forward(gc, tk, ps, vd, k, true));
  }
  for (let s = 0; s < 3; s++) {
    const tk = Int32Array.from([(s * 5 + 1) % V, (s * 3 + 2) % V]),
      ps = Int32Array.from([6 + s, 4 + s]),
      vd = Uint8Array.from([1, 1]);
    compare(cpu.forward(cc, tk, ps, vd, 1), await dev.forward(gc, tk, ps, vd, 1));
  }
  gc.destroy();
  return { diff, scale };
}

/** A tokenizer over plain ids (the loop needs only these), for generation from id prompts. */
const idTokenizer = (vocab: number): GenerationTokenizer => ({
  encodeAsIds: () => [],
  decode: (ids) => ids.join(" "),
  bosId: -1,
  eosId: 2,
  vocabSize: vocab,
  createStreamDecoder: () => ({ push: (id: number) => ` ${id}`, flush: () => "" }),
});

describe("webgpu decoder", { skip }, () => {
  const stories = skipUnlessShared("models", "stories260K", "stories260K.bin");

  test("stories260K: greedy 256 steps equal llama2.c run.c's ids and the CPU decoder's", { skip: stories }, async () => {
    const ref = JSON.parse(readFileSync(sharedPath("models", "stories260K", "greedy_once_upon_a_time.json"), "utf8")) as {
      prompt: string;
      steps: number;
      ids_after_bos: number[];
    };
    const load = { tokenizerPath: sharedPath("models", "stories260K", "tok512.model") };
    const path = sharedPath("models", "stories260K", "stories260K.bin");
    const [g, c] = [await TextGenerator.loadWebGPU(path, { ...load, gpu }), await TextGenerator.load(path, load)];
    const promptIds = g.tokenizer.encodeAsIds(ref.prompt);
    const maxNewTokens = ref.steps - (promptIds.length + 1) + 1;
    const opts = { temperature: 0, maxNewTokens, eosTokenId: 1 };
    const onGpu = await g.generate(ref.prompt, opts);
    assert.deepEqual([...promptIds, ...onGpu.tokens], ref.ids_after_bos, "webgpu vs run.c");
    const onCpu = await c.generate(ref.prompt, opts);
    assert.deepEqual(onGpu.tokens, onCpu.tokens, "webgpu vs cpu");
    assert.equal(onGpu.text, onCpu.text);
    // The greedy choice's log-probability comes from the GPU: it matches the CPU's.
    onGpu.logprobs.forEach((lp, i) => assert.ok(Math.abs(lp.logprob - onCpu.logprobs[i]!.logprob) < 1e-4, `logprob ${i}`));
  });

  test("stories260K: logits within 1e-4 of the CPU decoder's (F32)", { skip: stories }, async () => {
    const ckpt = await loadCheckpoint(sharedPath("models", "stories260K", "stories260K.bin"));
    const { diff } = await maxLogitDiff(ckpt);
    process.stdout.write(`# stories260K F32: max |Δlogit| = ${diff.toExponential(2)}\n`);
    assert.ok(diff < 1e-4, `max |Δlogit| ${diff}`);
  });

  // Rows of 256 values: every block format (Q4_K's super-blocks are 256 wide) can quantize them.
  const wide: ModelConfig = {
    model_type: "llama",
    vocab_size: 96,
    hidden_size: 256,
    intermediate_size: 512,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: false,
  } as ModelConfig;
  for (const dtype of ["F32", "Q8_0", "Q4_0", "Q4_K"] as const) {
    test(`${dtype} weights: logits within 1e-4 of the CPU decoder on the dequantized weights`, async () => {
      const base = randomCheckpoint(wide, 11);
      const ckpt = dtype === "F32" ? base : quantized(base, dtype);
      const dev = await WebGPUDecoder.load(ckpt, { gpu });
      assert.equal(dev.weightFormats, dtype.toLowerCase(), "the weights stay in their format on the GPU");
      const { diff, scale } = await maxLogitDiff(ckpt);
      process.stdout.write(`# ${dtype}: max |Δlogit| = ${diff.toExponential(2)} (logits up to ${scale.toFixed(1)})\n`);
      assert.ok(diff < 1e-4 * Math.max(1, scale), `max |Δlogit| ${diff}`);
    });
  }

  test("GPT-2 (learned positions, LayerNorm with bias, GELU, fused qkv): logits equal the CPU's", async () => {
    const { diff } = await maxLogitDiff(tinyGPT2(5));
    assert.ok(diff < 1e-4, `max |Δlogit| ${diff}`);
  });

  for (const f of FAMILIES) {
    test(`${f.name}: logits equal the CPU's`, async () => {
      const { diff } = await maxLogitDiff(randomCheckpoint(f.config, 3));
      assert.ok(diff < 1e-4, `max |Δlogit| ${diff}`);
    });
  }

  test("batched, left-padded, chunked generation equals the CPU's: greedy on the GPU and sampled", async () => {
    const ckpt = randomCheckpoint(FAMILIES[0]!.config, 9);
    const cpu = DecoderModel.fromCheckpoint(ckpt, { dtype: "float32" });
    const dev = await WebGPUDecoder.load(ckpt, { gpu });
    const tok = idTokenizer(cpu.dims.vocabSize);
    const prompts = [[5, 6, 7, 8, 9, 10, 11], [3], [12, 13, 14]];
    for (const o of [
      { temperature: 0, maxNewTokens: 12, prefillChunkSize: 3 },
      { temperature: 0, maxNewTokens: 9, stop: "7" }, // rows end at different steps, others still in flight
      { temperature: 0.9, topK: 8, seed: 4, maxNewTokens: 10, prefillChunkSize: 2 },
      { temperature: 0, maxNewTokens: 6, topLogprobs: 2 }, // the logits path, greedy
    ]) {
      const want = await generateBatch(cpu, tok, prompts, o);
      const got = await generateBatch(dev, tok, prompts, o);
      assert.deepEqual(
        got.map((r) => [r.tokens, r.finishReason, r.text]),
        want.map((r) => [r.tokens, r.finishReason, r.text]),
        JSON.stringify(o),
      );
    }
  });

  test("bad input: a clear error for ids, positions and sizes out of range, and for a destroyed cache", async () => {
    const dev = await WebGPUDecoder.load(randomCheckpoint(FAMILIES[0]!.config, 1), { gpu });
    const c = dev.createCache(1, 4);
    const one = (tok: number, pos: number) => dev.forward(c, Int32Array.of(tok), Int32Array.of(pos), Uint8Array.of(1), 1);
    await assert.rejects(one(999, 0), /token id 999 is outside the vocabulary \[0, 23\)/);
    await assert.rejects(one(1, 32), /position 32 is outside the model's context \[0, 32\)/);
    assert.throws(() => dev.createCache(1, 33), /exceeds the model's context of 32/);
    await assert.rejects(dev.forward(c, new Int32Array(5), new Int32Array(5), new Uint8Array(5).fill(1), 5), /do not fit in the KV cache/);
    c.destroy();
    await assert.rejects(one(1, 0), /KV cache was destroyed/);
  });

  test("a lost device: later steps reject with an error naming it, never hang", async () => {
    const own = await openWebGPU();
    assert.ok(own.ok);
    const dev = await WebGPUDecoder.load(randomCheckpoint(FAMILIES[0]!.config, 1), { gpu: own.context });
    const c = dev.createCache(1, 4);
    await dev.forward(c, Int32Array.of(1), Int32Array.of(0), Uint8Array.of(1), 1);
    own.context.destroy();
    await new Promise((r) => setTimeout(r, 50)); // let device.lost settle
    await assert.rejects(dev.forward(c, Int32Array.of(1), Int32Array.of(1), Uint8Array.of(1), 1), /GPU device was lost/);
  });
});
