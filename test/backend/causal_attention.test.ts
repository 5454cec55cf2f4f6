// Backend.causalAttention / causalAttentionBackward (training attention, one kernel):
// - the js reference against the unfused composition built from tensor ops with autograd
//   (Q · Kᵀ · scale, −∞ where masked, softmax, · V), forward and gradients;
// - its gradients against central finite differences of a float64 copy of the forward pass;
// - native against js on packed q|k|v layouts (heads read through strides), separate layouts,
//   grouped-query heads, padding (with rows that see no key), a sliding window, T past one
//   32-query block, every SIMD level, 1 and 2 threads;
// - bad strides throw, naming the buffer.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { CausalAttentionArgs, CausalAttentionBackwardArgs } from "../../src/backend/backend.js";
import { jsBackend } from "../../src/backend/js.js";
import {
  availableSimdLevels,
  cpuFeatures,
  getNumThreads,
  loadNativeBackend,
  nativeUnavailableReason,
  setNumThreads,
  setSimdLevel,
} from "../../src/backend/native.js";
import { Tensor, matmul, setBackend } from "../../src/tensor/index.js";
import { rng } from "../helpers/random.js";

const native = loadNativeBackend();
const skip = native ? false : `native addon not built: ${nativeUnavailableReason()}`;
const rand = rng(2468);

interface Shape {
  batch: number;
  time: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  window?: number;
  /** q, k, v packed per token as one (B, T, (heads + 2·kvHeads)·hd) buffer, as GPT-2's c_attn writes them. */
  packed?: boolean;
  /** Key j of row b is a pad. */
  pad?: (b: number, j: number) => boolean;
}

type Strides = [number, number, number];

/** A case with random q, k, v in the shape's layout (packed: one buffer; else (B, heads, T, hd) for q, (B, T, kvHeads, hd) for k, v). */
function makeCase(sh: Shape): CausalAttentionArgs {
  const { batch: B, time: T, heads: H, kvHeads: G, headDim: D } = sh;
  const fill = (n: number) => Float32Array.from({ length: n }, () => rand(-1.5, 1.5));
  let q: Float32Array, k: Float32Array, v: Float32Array;
  let qOffset = 0,
    kOffset = 0,
    vOffset = 0;
  let qStrides: Strides, kStrides: Strides, vStrides: Strides;
  if (sh.packed) {
    const row = (H + 2 * G) * D;
    q = k = v = fill(B * T * row);
    kOffset = H * D;
    vOffset = (H + G) * D;
    qStrides = [T * row, row, D];
    kStrides = vStrides = [T * row, row, D];
  } else {
    q = fill(B * H * T * D);
    qStrides = [H * T * D, D, T * D]; // (B, H, T, hd), as RoPE returns it
    k = fill(B * T * G * D);
    v = fill(B * T * G * D);
    kStrides = vStrides = [T * G * D, G * D, D]; // (B, T, G, hd)
  }
  let keyValid: Uint8Array | null = null;
  if (sh.pad) {
    keyValid = new Uint8Array(B * T);
    for (let b = 0; b < B; b++) for (let j = 0; j < T; j++) keyValid[b * T + j] = sh.pad(b, j) ? 0 : 1;
  }
  return {
    batch: B,
    time: T,
    heads: H,
    kvHeads: G,
    headDim: D,
    q,
    qOffset,
    qStrides,
    k,
    kOffset,
    kStrides,
    v,
    vOffset,
    vStrides,
    keyValid,
    window: sh.window ?? 0,
    scale: 1 / Math.sqrt(D),
    probs: new Float32Array(B * H * T * T),
  };
}

interface Result {
  out: Float32Array;
  probs: Float32Array;
  gq: Float32Array;
  gk: Float32Array;
  gv: Float32Array;
}

/** Forward, then backward with a fixed random gOut; gradients start from 0 (one shared buffer when packed). */
function run(backend: typeof jsBackend, a: CausalAttentionArgs, gOut: Float32Array): Result {
  const args = { ...a, probs: new Float32Array(a.probs.length) };
  const out = new Float32Array(a.batch * a.time * a.heads * a.headDim);
  backend.causalAttention(args, out);
  const gq = new Float32Array(a.q.length);
  const gk = a.k === a.q ? gq : new Float32Array(a.k.length);
  const gv = a.v === a.q ? gq : new Float32Array(a.v.length);
  const b: CausalAttentionBackwardArgs = { ...args, gOut, gq, gk, gv };
  backend.causalAttentionBackward(b);
  return { out, probs: args.probs, gq, gk, gv };
}

function gOutFor(a: CausalAttentionArgs): Float32Array {
  return Float32Array.from({ length: a.batch * a.time * a.heads * a.headDim }, () => rand());
}

function assertClose(actual: Float32Array, expected: Float32Array, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= tol * (1 + Math.abs(expected[i]!)))) assert.fail(`${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

/** Gathers the strided (B, T, heads, hd) view into a contiguous (B, heads, T, hd) array. */
function gather(buf: Float32Array, offset: number, s: readonly number[], B: number, T: number, H: number, D: number): Float32Array {
  const out = new Float32Array(B * H * T * D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let t = 0; t < T; t++)
        for (let d = 0; d < D; d++) out[((b * H + h) * T + t) * D + d] = buf[offset + b * s[0]! + t * s[1]! + h * s[2]! + d]!;
  return out;
}

const SHAPES: [string, Shape][] = [
  ["packed q|k|v (GPT-2)", { batch: 2, time: 7, heads: 3, kvHeads: 3, headDim: 4, packed: true }],
  ["separate, grouped-query", { batch: 2, time: 9, heads: 4, kvHeads: 2, headDim: 8 }],
  ["padded: left pads see nothing", { batch: 3, time: 6, heads: 2, kvHeads: 1, headDim: 5, pad: (b, j) => j < b }],
  ["padded right, packed", { batch: 2, time: 8, heads: 2, kvHeads: 2, headDim: 3, packed: true, pad: (b, j) => b === 1 && j >= 5 }],
  ["sliding window", { batch: 1, time: 10, heads: 2, kvHeads: 1, headDim: 4, window: 3 }],
  ["past one block (T = 75), packed", { batch: 2, time: 75, heads: 2, kvHeads: 2, headDim: 16, packed: true }],
  [
    "T = 70, grouped, padded, window 40",
    { batch: 2, time: 70, heads: 4, kvHeads: 2, headDim: 12, window: 40, pad: (b, j) => b === 0 && j % 7 === 3 },
  ],
];

describe("causalAttention: js reference", () => {
  test("equals the unfused composition of tensor ops (forward and autograd gradients)", () => {
    for (const [name, sh] of SHAPES.filter(([, s]) => !s.window && !(s.pad && s.pad(1, 0)) && s.time < 20)) {
      const a = makeCase(sh);
      const gOut = gOutFor(a);
      const r = run(jsBackend, a, gOut);
      const { batch: B, time: T, heads: H, kvHeads: G, headDim: D } = sh;
      setBackend("js");
      const qt = new Tensor(gather(a.q, a.qOffset, a.qStrides, B, T, H, D), [B, H, T, D]).requiresGrad_();
      const kt = new Tensor(gather(a.k, a.kOffset, a.kStrides, B, T, G, D), [B, G, T, D]).requiresGrad_();
      const vt = new Tensor(gather(a.v, a.vOffset, a.vStrides, B, T, G, D), [B, G, T, D]).requiresGrad_();
      const rep = (t: Tensor) =>
        G === H
          ? t
          : t
              .unsqueeze(2)
              .expand(B, G, H / G, T, D)
              .reshape(B, H, T, D); // (B, H, T, hd)
      const mask = new Float32Array(B * H * T * T);
      for (let b = 0; b < B; b++)
        for (let h = 0; h < H; h++)
          for (let t = 0; t < T; t++)
            for (let j = 0; j < T; j++) {
              const visible = j <= t && (!a.keyValid || a.keyValid[b * T + j] === 1);
              mask[((b * H + h) * T + t) * T + j] = visible ? 0 : -Infinity;
            }
      const att = matmul(qt, rep(kt).mT)
        .mul(a.scale)
        .add(new Tensor(mask, [B, H, T, T]))
        .softmax(-1);
      const y = matmul(att, rep(vt))
        .transpose(1, 2)
        .reshape(B, T, H * D);
      assertClose(r.out, y.data() as Float32Array, 1e-5, `${name}: out`);
      assertClose(r.probs, att.data() as Float32Array, 1e-5, `${name}: probs`);
      y.mul(new Tensor(gOut, [B, T, H * D]))
        .sum()
        .backward();
      assertClose(gather(r.gq, a.qOffset, a.qStrides, B, T, H, D), qt.grad!.data() as Float32Array, 1e-4, `${name}: dq`);
      assertClose(gather(r.gk, a.kOffset, a.kStrides, B, T, G, D), kt.grad!.data() as Float32Array, 1e-4, `${name}: dk`);
      assertClose(gather(r.gv, a.vOffset, a.vStrides, B, T, G, D), vt.grad!.data() as Float32Array, 1e-4, `${name}: dv`);
    }
  });

  test("gradients match central finite differences (float64 forward)", () => {
    for (const [name, sh] of SHAPES.filter(([, s]) => s.time < 20)) {
      const a = makeCase(sh);
      const gOut = gOutFor(a);
      const r = run(jsBackend, a, gOut);
      // L = Σ out ⊙ gOut, in float64 from the same kernel run on a Float64 copy of the inputs.
      const loss = (q: Float64Array, k: Float64Array, v: Float64Array) => {
        const out = new Float64Array(gOut.length);
        jsBackend.causalAttention(
          {
            ...a,
            q: q as unknown as Float32Array,
            k: k as unknown as Float32Array,
            v: v as unknown as Float32Array,
            probs: new Float64Array(a.probs.length) as unknown as Float32Array,
          },
          out as unknown as Float32Array,
        );
        let s = 0;
        for (let i = 0; i < out.length; i++) s += out[i]! * gOut[i]!;
        return s;
      };
      const q64 = Float64Array.from(a.q);
      const k64 = a.k === a.q ? q64 : Float64Array.from(a.k);
      const v64 = a.v === a.q ? q64 : Float64Array.from(a.v);
      const eps = 1e-5;
      for (const [which, buf, grad] of [
        ["q", q64, r.gq],
        ["k", k64, r.gk],
        ["v", v64, r.gv],
      ] as const) {
        for (let n = 0; n < 6; n++) {
          const i = Math.floor(rand(0, 1) * buf.length);
          const x = buf[i]!;
          buf[i] = x + eps;
          const up = loss(q64, k64, v64);
          buf[i] = x - eps;
          const down = loss(q64, k64, v64);
          buf[i] = x;
          const fd = (up - down) / (2 * eps);
          assert.ok(Math.abs(fd - grad[i]!) <= 1e-4 * (1 + Math.abs(fd)), `${name}: d${which}[${i}] ${grad[i]} vs finite difference ${fd}`);
        }
      }
    }
  });

  test("rows that see no key get zero weights and zero output", () => {
    const a = makeCase({ batch: 2, time: 5, heads: 1, kvHeads: 1, headDim: 3, pad: (b, j) => b === 1 && j < 2 });
    const r = run(jsBackend, a, gOutFor(a));
    for (const t of [0, 1]) {
      assert.deepEqual([...r.probs.subarray((5 + t) * 5, (5 + t + 1) * 5)], [0, 0, 0, 0, 0]);
      assert.deepEqual([...r.out.subarray((5 + t) * 3, (5 + t + 1) * 3)], [0, 0, 0]);
    }
  });
});

describe("causalAttention: native against js", { skip }, () => {
  const threads0 = native ? getNumThreads() : 1;
  const level0 = native ? cpuFeatures() : "";
  after(() => {
    if (!native) return;
    setSimdLevel(level0);
    setNumThreads(threads0);
  });
  for (const [name, sh] of SHAPES) {
    test(`${name}: every SIMD level, 1 and 2 threads`, () => {
      const a = makeCase(sh);
      const gOut = gOutFor(a);
      const expected = run(jsBackend, a, gOut);
      for (const level of availableSimdLevels()) {
        setSimdLevel(level);
        for (const threads of [1, 2]) {
          setNumThreads(threads);
          const got = run(native!, a, gOut);
          const what = `${name} ${level}/${threads}t`;
          assertClose(got.out, expected.out, 2e-5, `${what}: out`);
          assertClose(got.probs, expected.probs, 2e-5, `${what}: probs`);
          assertClose(got.gq, expected.gq, 1e-4, `${what}: gq`);
          assertClose(got.gk, expected.gk, 1e-4, `${what}: gk`);
          assertClose(got.gv, expected.gv, 1e-4, `${what}: gv`);
          // Masked weights are exactly 0, as in js.
          for (let i = 0; i < got.probs.length; i++) if (expected.probs[i] === 0) assert.equal(got.probs[i], 0, `${what}: probs[${i}]`);
        }
      }
    });
  }

  test("a view past the end of its buffer is refused, naming it", () => {
    const a = makeCase({ batch: 1, time: 4, heads: 2, kvHeads: 2, headDim: 4 });
    const out = new Float32Array(32);
    assert.throws(() => native!.causalAttention({ ...a, kOffset: 1 }, out), /causalAttention: k: the strided view reaches element 32/);
    assert.throws(() => native!.causalAttention({ ...a, heads: 3, kvHeads: 2 }, out), /heads \(3\) must be a positive multiple of kvHeads/);
    assert.throws(() => native!.causalAttention(a, new Float32Array(31)), /out has 31 elements/);
    const g = new Float32Array(31);
    assert.throws(
      () =>
        native!.causalAttentionBackward({ ...a, gOut: new Float32Array(32), gq: new Float32Array(32), gk: g, gv: new Float32Array(32) }),
      /causalAttentionBackward: gk: the strided view reaches element 31/,
    );
  });
});
