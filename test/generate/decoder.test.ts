// The inference forward pass: KV-cache decoding equals a full recompute; left-padded batches
// equal each row alone; GPT-2 matches a plain float64 transcription of the HF model.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { DecoderModel } from "../../src/generate/decoder.js";
import { kvCacheEstimate } from "../../src/generate/kv_cache.js";
import { tinyGPT2, tinyLlama } from "./tiny_models.js";
import type { Checkpoint } from "../../src/formats/types.js";
import { convertFloat } from "../../src/formats/dtypes.js";

const SEQ = [5, 17, 3, 29, 11, 8, 33, 2, 19, 27, 6, 14];

/** Logits at every position, all tokens in one forward call (no reuse of the cache). */
function fullLogits(model: DecoderModel, ids: number[]): Float32Array {
  const cache = model.createCache(1, ids.length);
  return model.forward(cache, Int32Array.from(ids), Int32Array.from(ids.keys()), new Uint8Array(ids.length).fill(1), ids.length, true);
}

function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  assert.ok(worst <= tol, `${what}: max |diff| = ${worst} > ${tol}`);
}

for (const [name, make] of [
  ["llama", () => tinyLlama(3)],
  ["gpt2", () => tinyGPT2(4)],
] as [string, () => Checkpoint][]) {
  describe(`decoder (${name})`, () => {
    const model = DecoderModel.fromCheckpoint(make());
    const V = model.dims.vocabSize;

    test("prefill + one-token KV-cache steps give the logits of a full recompute", () => {
      const full = fullLogits(model, SEQ);
      const cache = model.createCache(1, SEQ.length);
      const prefill = 5;
      const first = model.forward(
        cache,
        Int32Array.from(SEQ.slice(0, prefill)),
        Int32Array.from([0, 1, 2, 3, 4]),
        new Uint8Array(prefill).fill(1),
        prefill,
      );
      assertClose(first, full.subarray((prefill - 1) * V, prefill * V), 1e-5, "after prefill");
      for (let p = prefill; p < SEQ.length; p++) {
        const step = model.forward(cache, Int32Array.of(SEQ[p]!), Int32Array.of(p), Uint8Array.of(1), 1);
        assertClose(step, full.subarray(p * V, (p + 1) * V), 1e-5, `position ${p}`);
      }
      // And a full recompute of the prefix alone agrees with the prefix of the longer run (causality).
      assertClose(fullLogits(model, SEQ.slice(0, 7)), full.subarray(0, 7 * V), 1e-5, "causal prefix");
    });

    test("a left-padded batch gives each row's own logits", () => {
      const rows = [SEQ.slice(0, 3), SEQ.slice(2, 9), SEQ.slice(4, 8)];
      const T = Math.max(...rows.map((r) => r.length));
      const tokens = new Int32Array(rows.length * T),
        pos = new Int32Array(rows.length * T),
        valid = new Uint8Array(rows.length * T);
      rows.forEach((r, b) =>
        r.forEach((tok, i) => {
          const col = T - r.length + i;
          tokens[b * T + col] = tok;
          pos[b * T + col] = i;
          valid[b * T + col] = 1;
        }),
      );
      const cache = model.createCache(rows.length, T + 2);
      const batched = model.forward(cache, tokens, pos, valid, T);
      // One more decode step for every row.
      const next = model.forward(
        cache,
        Int32Array.from([7, 8, 9]),
        Int32Array.from(rows.map((r) => r.length)),
        Uint8Array.from([1, 1, 1]),
        1,
      );
      rows.forEach((r, b) => {
        const alone = fullLogits(model, [...r, 7 + b]);
        assertClose(batched.subarray(b * V, (b + 1) * V), alone.subarray((r.length - 1) * V, r.length * V), 1e-5, `row ${b} prefill`);
        assertClose(next.subarray(b * V, (b + 1) * V), alone.subarray(r.length * V, (r.length + 1) * V), 1e-5, `row ${b} step`);
      });
    });

    test("errors: cache overflow, context, bad lengths", () => {
      const cache = model.createCache(1, 2);
      assert.throws(
        () => model.forward(cache, Int32Array.of(1, 2, 3), Int32Array.of(0, 1, 2), Uint8Array.of(1, 1, 1), 3),
        /do not fit in the KV cache/,
      );
      assert.throws(() => model.forward(cache, Int32Array.of(1), Int32Array.of(0, 1), Uint8Array.of(1), 1), /batch × steps/);
      assert.throws(() => model.createCache(1, model.dims.context + 1), /exceeds the model's context/);
      assert.throws(
        () => model.forward(model.createCache(1, 2), Int32Array.of(1), Int32Array.of(model.dims.context), Uint8Array.of(1), 1),
        /outside the model's context/,
      );
    });
  });
}

test("a long prefill (several query chunks) equals one-token decoding, with grouped-query attention", () => {
  const model = DecoderModel.fromCheckpoint(tinyLlama(8, { heads: 4, kvHeads: 1, context: 320 }));
  const V = model.dims.vocabSize,
    T = 300;
  const ids = Array.from({ length: T }, (_, i) => (i * 13 + 5) % V);
  const full = fullLogits(model, ids);
  const cache = model.createCache(1, T);
  for (let p = 0; p < T; p++) {
    const step = model.forward(cache, Int32Array.of(ids[p]!), Int32Array.of(p), Uint8Array.of(1), 1);
    if (p % 37 === 0 || p >= T - 3) assertClose(step, full.subarray(p * V, (p + 1) * V), 1e-4, `position ${p}`);
  }
});

describe("decoder (gpt2) against a plain float64 transcription", () => {
  test("logits match", () => {
    const ckpt = tinyGPT2(9);
    const model = DecoderModel.fromCheckpoint(ckpt);
    const ids = SEQ.slice(0, 6);
    assertClose(fullLogits(model, ids), referenceGPT2(ckpt, ids), 1e-4, "gpt2 logits");
  });
});

/** The checkpoint with every tensor stored in a 16-bit dtype. */
function as16bit(ckpt: Checkpoint, dtype: "F16" | "BF16"): Checkpoint {
  return { ...ckpt, tensors: new Map([...ckpt.tensors].map(([n, t]) => [n, convertFloat(t, dtype)])) };
}

describe("16-bit weights kept in memory", () => {
  for (const [name, make] of [
    ["llama", () => tinyLlama(5)],
    ["gpt2", () => tinyGPT2(6)],
  ] as [string, () => Checkpoint][]) {
    for (const dtype of ["BF16", "F16"] as const) {
      test(`${name} ${dtype}: logits equal those of the f32-expanded model (prefill and decode)`, () => {
        const ckpt = as16bit(make(), dtype);
        const kept = DecoderModel.fromCheckpoint(ckpt);
        const expanded = DecoderModel.fromCheckpoint(ckpt, { dtype: "float32" });
        // Kept: the linear weights are the checkpoint's own 16-bit arrays, half the bytes.
        assert.ok(kept.weightBytes < 0.6 * expanded.weightBytes, `${kept.weightBytes} vs ${expanded.weightBytes} bytes`);
        const V = kept.dims.vocabSize;
        const run = (model: DecoderModel): Float32Array => {
          const cache = model.createCache(1, SEQ.length);
          const prefill = model.forward(
            cache,
            Int32Array.from(SEQ.slice(0, 6)),
            Int32Array.from([0, 1, 2, 3, 4, 5]),
            new Uint8Array(6).fill(1),
            6,
            true,
          );
          const step = model.forward(cache, Int32Array.of(SEQ[6]!), Int32Array.of(6), Uint8Array.of(1), 1);
          return Float32Array.from([...prefill, ...step]);
        };
        const a = run(kept),
          b = run(expanded);
        assert.equal(a.length, 7 * V);
        assertClose(a, b, 1e-4, `${name} ${dtype} logits`);
      });
    }
  }

  test("the default keeps 16 bits; dtype float32 expands; a bad dtype is an error", () => {
    const ckpt = as16bit(tinyLlama(2), "BF16");
    const f32 = DecoderModel.fromCheckpoint(tinyLlama(2));
    assert.equal(DecoderModel.fromCheckpoint(ckpt, { dtype: "float32" }).weightBytes, f32.weightBytes);
    assert.ok(DecoderModel.fromCheckpoint(ckpt).weightBytes < f32.weightBytes);
    assert.throws(() => DecoderModel.fromCheckpoint(ckpt, { dtype: "f8" as "auto" }), /dtype must be "auto" or "float32"/);
  });
});

test("missing or misshapen tensors are named in the error", () => {
  const ckpt = tinyLlama(1);
  ckpt.tensors.delete("model.layers.1.mlp.up_proj.weight");
  assert.throws(() => DecoderModel.fromCheckpoint(ckpt), /tiny-llama: tensor 'model.layers.1.mlp.up_proj.weight' is missing/);
  const c2 = tinyLlama(1);
  c2.tensors.get("model.norm.weight")!.shape = [3];
  assert.throws(() => DecoderModel.fromCheckpoint(c2), /'model.norm.weight' has shape \[3\], expected \[16\]/);
});

test("KV cache estimate", () => {
  const e = kvCacheEstimate({ layers: 5, batch: 1, capacity: 260, kvDim: 32 });
  assert.equal(e.bytes, 2 * 5 * 260 * 32 * 4);
  assert.equal(e.description, "KV cache: 2 × 5 layers × 260 positions × 32 × 4 bytes = 0.3 MB");
});

/** HF GPT2LMHeadModel's forward, written out naively in float64 (weights (out, in)). */
function referenceGPT2(ckpt: Checkpoint, ids: number[]): Float64Array {
  const cfg = ckpt.config as { n_embd: number; n_head: number; n_layer: number; vocab_size: number; layer_norm_epsilon: number };
  const W = (n: string) => ckpt.tensors.get(n)!.data as Float32Array;
  const C = cfg.n_embd,
    nh = cfg.n_head,
    hd = C / nh;
  const ln = (x: number[], w: Float32Array, b: Float32Array) => {
    const mu = x.reduce((a, v) => a + v, 0) / x.length;
    const va = x.reduce((a, v) => a + (v - mu) ** 2, 0) / x.length;
    return x.map((v, i) => ((v - mu) / Math.sqrt(va + cfg.layer_norm_epsilon)) * w[i]! + b[i]!);
  };
  const lin = (x: number[], w: Float32Array, b: Float32Array | null, out: number) =>
    Array.from({ length: out }, (_, o) => x.reduce((a, v, i) => a + v * w[o * x.length + i]!, b ? b[o]! : 0));
  const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
  let xs = ids.map((id, t) =>
    Array.from({ length: C }, (_, c) => W("transformer.wte.weight")[id * C + c]! + W("transformer.wpe.weight")[t * C + c]!),
  );
  for (let l = 0; l < cfg.n_layer; l++) {
    const p = `transformer.h.${l}`;
    const qkv = xs.map((x) =>
      lin(ln(x, W(`${p}.ln_1.weight`), W(`${p}.ln_1.bias`)), W(`${p}.attn.c_attn.weight`), W(`${p}.attn.c_attn.bias`), 3 * C),
    );
    const att = qkv.map((_, t) => {
      const o = new Array<number>(C).fill(0);
      for (let h = 0; h < nh; h++) {
        const s = Array.from({ length: t + 1 }, (_, j) => {
          let d = 0;
          for (let i = 0; i < hd; i++) d += qkv[t]![h * hd + i]! * qkv[j]![C + h * hd + i]!;
          return d / Math.sqrt(hd);
        });
        const m = Math.max(...s);
        const e = s.map((v) => Math.exp(v - m));
        const z = e.reduce((a, v) => a + v, 0);
        for (let j = 0; j <= t; j++) for (let i = 0; i < hd; i++) o[h * hd + i]! += (e[j]! / z) * qkv[j]![2 * C + h * hd + i]!;
      }
      return o;
    });
    xs = xs.map((x, t) => {
      const a = lin(att[t]!, W(`${p}.attn.c_proj.weight`), W(`${p}.attn.c_proj.bias`), C);
      return x.map((v, i) => v + a[i]!);
    });
    xs = xs.map((x) => {
      const hmid = lin(ln(x, W(`${p}.ln_2.weight`), W(`${p}.ln_2.bias`)), W(`${p}.mlp.c_fc.weight`), W(`${p}.mlp.c_fc.bias`), 4 * C).map(
        gelu,
      );
      const m = lin(hmid, W(`${p}.mlp.c_proj.weight`), W(`${p}.mlp.c_proj.bias`), C);
      return x.map((v, i) => v + m[i]!);
    });
  }
  const out: number[] = [];
  for (const x of xs)
    out.push(...lin(ln(x, W("transformer.ln_f.weight"), W("transformer.ln_f.bias")), W("transformer.wte.weight"), null, cfg.vocab_size));
  return Float64Array.from(out);
}
