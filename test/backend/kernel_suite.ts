// One suite of kernel checks that any Backend must pass against the js reference: every
// kernel of the interface on random inputs of awkward shapes (sizes 1, 3, 17, 33, 300;
// transposes, broadcast strides, offsets, aliasing, accumulation), plus the errors on bad ids
// and targets. kernels_native.test.ts runs it on the native backend, kernels_webgpu.test.ts
// on the webgpu one (tolerances × 2: float32 GPU math and another summation order).
//
// Base tolerances (|got − js| ≤ atol + rtol·|js|), the native test's:
//   matmul-like: rtol = atol = 1e-5·sqrt(k)     element-wise: rtol 2e-6, atol 1e-6
//   row kernels: rtol 1e-5, atol 1e-6
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { UNARY_OPS, type AttentionArgs, type Backend, type BinaryOp, type MatmulArgs, type UnaryOp } from "../../src/backend/backend.js";
import { f32ToBf16, f32ToF16 } from "../../src/backend/half_bits.js";
import { jsBackend } from "../../src/backend/js.js";
import { quantizeTensor } from "../../src/quant/quantize.js";
import { rng } from "../helpers/random.js";

export interface SuiteOptions {
  /** Multiplies every tolerance (1 for native, 2 for webgpu). */
  tolScale: number;
  /** False to run, or the reason the suite is skipped. */
  skip: string | false;
}

const POSITIVE_ONLY = new Set<UnaryOp>(["log", "sqrt", "rsqrt"]);
const BINARY_OPS: BinaryOp[] = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge"];

/** Registers the suite for `name`; `backend()` is called inside the tests (after the skip check). */
export function kernelSuite(name: string, backend: () => Backend, opts: SuiteOptions): void {
  const rand = rng(97531);
  const randomF32 = (n: number, lo = -1, hi = 1): Float32Array => Float32Array.from({ length: n }, () => rand(lo, hi));
  const s = opts.tolScale;
  const close = (got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number, what: string): void => {
    assert.equal(got.length, want.length, `${what}: length`);
    for (let i = 0; i < want.length; i++) {
      const g = got[i]!,
        w = want[i]!;
      if (g === w || (Number.isNaN(g) && Number.isNaN(w))) continue;
      if (!(Math.abs(g - w) <= s * (atol + rtol * Math.abs(w)))) assert.fail(`${what}: element ${i}: ${name} gives ${g}, js ${w}`);
    }
  };
  const elementwise = (got: Float32Array, want: Float32Array, what: string) => close(got, want, 2e-6, 1e-6, what);
  const rowwise = (got: Float32Array, want: Float32Array, what: string) => close(got, want, 1e-5, 1e-6, what);

  describe(`${name} backend kernels against the js backend`, { skip: opts.skip }, () => {
    const matmulCases: [string, Partial<MatmulArgs>][] = [
      ["plain 37×53·53×29", { m: 37, n: 29, k: 53 }],
      ["transA", { m: 20, n: 17, k: 33, transA: true }],
      ["transB", { m: 1, n: 48, k: 64, transB: true }],
      ["both, batched, offsets", { batch: 3, m: 9, n: 11, k: 19, transA: true, transB: true, aOffset: 5, bOffset: 7 }],
      ["B broadcast over the batch, accumulate", { batch: 4, m: 13, n: 21, k: 40, bBatchStride: 0, accumulate: true }],
      ["64×64 tiles: 70×45·45×66", { m: 70, n: 66, k: 45 }],
      [
        "64×64 tiles: transposed, batched, offsets, accumulate",
        { batch: 2, m: 65, n: 40, k: 33, transA: true, transB: true, aOffset: 3, bOffset: 1, accumulate: true },
      ],
    ];
    for (const [label, c] of matmulCases) {
      test(`matmul: ${label}`, () => {
        const { batch = 1, m = 1, n = 1, k = 1 } = c;
        const aOffset = c.aOffset ?? 0,
          bOffset = c.bOffset ?? 0;
        const args = {
          batch,
          m,
          n,
          k,
          transA: c.transA ?? false,
          transB: c.transB ?? false,
          accumulate: c.accumulate ?? false,
          a: randomF32(aOffset + batch * m * k),
          aOffset,
          aBatchStride: c.aBatchStride ?? m * k,
          b: randomF32(bOffset + batch * k * n),
          bOffset,
          bBatchStride: c.bBatchStride ?? k * n,
        };
        const init = randomF32(batch * m * n);
        const want = Float32Array.from(init),
          got = Float32Array.from(init);
        jsBackend.matmul({ ...args, c: want });
        backend().matmul({ ...args, c: got });
        const tol = 1e-5 * Math.sqrt(k);
        close(got, want, tol, tol, "matmul");
      });
    }

    test("unary ops and their gradients, out aliasing x", () => {
      const be = backend();
      for (const op of UNARY_OPS) {
        const x = POSITIVE_ONLY.has(op) ? randomF32(300, 0.05, 4) : randomF32(300, -4, 4);
        const want = new Float32Array(300),
          got = new Float32Array(300);
        jsBackend.unary(op, x, want);
        be.unary(op, x, got);
        elementwise(got, want, `unary ${op}`);
        const inPlace = Float32Array.from(x);
        be.unary(op, inPlace, inPlace);
        elementwise(inPlace, want, `unary ${op} in place`);
        const gy = randomF32(300);
        const gWant = new Float32Array(300),
          gGot = new Float32Array(300);
        jsBackend.unaryBackward(op, x, want, gy, gWant);
        be.unaryBackward(op, x, want, gy, gGot);
        close(gGot, gWant, 1e-5, 1e-5, `unaryBackward ${op}`);
      }
    });

    test("binary ops with broadcasting, offsets and comparisons into bytes", () => {
      const be = backend();
      const shape = [3, 4, 17];
      const a = randomF32(2 + 3 * 17, -2, 2); // (3, 1, 17) broadcast over dim 1, offset 2
      const b = randomF32(4 * 17, 0.5, 2); // (1, 4, 17): positive, so pow has real results
      b[5] = a[2 + 5]!; // some equal pairs for eq / le / ge
      for (const op of BINARY_OPS) {
        const cmp = ["eq", "ne", "lt", "le", "gt", "ge"].includes(op);
        const want = cmp ? new Uint8Array(3 * 4 * 17) : new Float32Array(3 * 4 * 17);
        const got = cmp ? new Uint8Array(want.length) : new Float32Array(want.length);
        jsBackend.binary(op, a, 2, [17, 0, 1], b, 0, [0, 17, 1], want, shape);
        be.binary(op, a, 2, [17, 0, 1], b, 0, [0, 17, 1], got, shape);
        if (cmp) assert.deepEqual(got, want, `binary ${op}`);
        else close(got, want as Float32Array, 1e-5, 1e-6, `binary ${op}`);
      }
      const ia = Int32Array.from([1, -2, 3]),
        ib = Int32Array.from([4]);
      const iout = new Int32Array(3);
      be.binary("add", ia, 0, [1], ib, 0, [0], iout, [3]);
      assert.deepEqual(Array.from(iout), [5, 2, 7], "int32 add");
    });

    test("reduce (sum / max / min) and argmax / argmin over the middle axis", () => {
      const be = backend();
      for (const [outer, size, inner] of [
        [2, 17, 3],
        [1, 300, 1],
        [5, 1, 33],
      ] as const) {
        const x = randomF32(outer * size * inner, -3, 3);
        for (const op of ["sum", "max", "min"] as const) {
          const want = new Float32Array(outer * inner),
            got = new Float32Array(outer * inner);
          jsBackend.reduce(op, x, outer, size, inner, want);
          be.reduce(op, x, outer, size, inner, got);
          close(got, want, 1e-5, 1e-5, `reduce ${op} (${outer}, ${size}, ${inner})`);
        }
        for (const op of ["argmax", "argmin"] as const) {
          const want = new Int32Array(outer * inner),
            got = new Int32Array(outer * inner);
          jsBackend.argReduce(op, x, outer, size, inner, want);
          be.argReduce(op, x, outer, size, inner, got);
          assert.deepEqual(got, want, `${op} (${outer}, ${size}, ${inner})`);
        }
      }
    });

    test("softmax and log-softmax with their gradients, rows wider than a workgroup", () => {
      const be = backend();
      for (const [rows, cols] of [
        [3, 17],
        [2, 300],
      ] as const) {
        const x = randomF32(rows * cols, -5, 5);
        x[1] = -Infinity; // a masked entry, as attention feeds it
        const gy = randomF32(rows * cols);
        for (const log of [false, true]) {
          const want = new Float32Array(rows * cols),
            got = new Float32Array(rows * cols);
          jsBackend.softmax(x, rows, cols, want, log);
          be.softmax(x, rows, cols, got, log);
          rowwise(got, want, `softmax log=${log}`);
          const gWant = new Float32Array(rows * cols),
            gGot = new Float32Array(rows * cols);
          const y = log ? want.map((v) => (Number.isFinite(v) ? v : -80)) : want;
          jsBackend.softmaxBackward(y, gy, rows, cols, gWant, log);
          be.softmaxBackward(y, gy, rows, cols, gGot, log);
          rowwise(gGot, gWant, `softmaxBackward log=${log}`);
        }
      }
    });

    test("layerNorm and its gradients (gw, gb accumulate), with and without weight and bias", () => {
      const be = backend();
      const rows = 5,
        cols = 300;
      const x = randomF32(rows * cols, -2, 2);
      const gy = randomF32(rows * cols);
      for (const affine of [true, false]) {
        const w = affine ? randomF32(cols, 0.5, 1.5) : null,
          b = affine ? randomF32(cols) : null;
        const run = (k: Backend) => {
          const out = new Float32Array(rows * cols),
            mean = new Float32Array(rows),
            rstd = new Float32Array(rows);
          k.layerNorm(x, w, b, rows, cols, 1e-5, out, mean, rstd);
          const gx = new Float32Array(rows * cols);
          const gw = affine ? Float32Array.from({ length: cols }, (_, i) => i / cols) : null;
          const gb = affine ? Float32Array.from({ length: cols }, (_, i) => -i / cols) : null;
          k.layerNormBackward(x, w, mean, rstd, gy, rows, cols, gx, gw, gb);
          return { out, mean, rstd, gx, gw, gb };
        };
        const want = run(jsBackend),
          got = run(be);
        for (const key of ["out", "mean", "rstd", "gx", "gw", "gb"] as const) {
          if (want[key]) close(got[key]!, want[key]!, 1e-5, 1e-5, `layerNorm ${key} (affine ${affine})`);
        }
      }
    });

    test("rmsNorm and its gradients (gw accumulates)", () => {
      const be = backend();
      const rows = 4,
        cols = 33;
      const x = randomF32(rows * cols, -2, 2);
      const gy = randomF32(rows * cols);
      for (const weighted of [true, false]) {
        const w = weighted ? randomF32(cols, 0.5, 1.5) : null;
        const run = (k: Backend) => {
          const out = new Float32Array(rows * cols),
            rstd = new Float32Array(rows);
          k.rmsNorm(x, w, rows, cols, 1e-6, out, rstd);
          const gx = new Float32Array(rows * cols);
          const gw = weighted ? Float32Array.from({ length: cols }, (_, i) => i) : null;
          k.rmsNormBackward(x, w, rstd, gy, rows, cols, gx, gw);
          return { out, rstd, gx, gw };
        };
        const want = run(jsBackend),
          got = run(be);
        for (const key of ["out", "rstd", "gx", "gw"] as const) {
          if (want[key]) close(got[key]!, want[key]!, 1e-5, 1e-5, `rmsNorm ${key} (weighted ${weighted})`);
        }
      }
    });

    test("embedding and its gradient with repeated ids; an id out of range is a RangeError", () => {
      const be = backend();
      const vocab = 17,
        dim = 33;
      const weight = randomF32(vocab * dim);
      const ids = Int32Array.from([3, 0, 16, 3, 3, 7]);
      const want = new Float32Array(ids.length * dim),
        got = new Float32Array(ids.length * dim);
      jsBackend.embedding(weight, vocab, dim, ids, want);
      be.embedding(weight, vocab, dim, ids, got);
      assert.deepEqual(got, want, "embedding");
      const gy = randomF32(ids.length * dim);
      const gWant = randomF32(vocab * dim),
        gGot = Float32Array.from(gWant);
      jsBackend.embeddingBackward(gy, ids, dim, gWant);
      be.embeddingBackward(gy, ids, dim, gGot);
      close(gGot, gWant, 1e-6, 1e-6, "embeddingBackward");
      assert.throws(() => be.embedding(weight, vocab, dim, Int32Array.from([1, vocab]), got), RangeError);
      assert.throws(() => be.embedding(weight, vocab, dim, Int32Array.from([-1]), got), RangeError);
    });

    test("cross-entropy and its gradient with ignored rows; a target out of range is a RangeError", () => {
      const be = backend();
      const rows = 6,
        cols = 300;
      const logits = randomF32(rows * cols, -4, 4);
      const targets = Int32Array.from([0, 299, -100, 17, 5, -100]);
      const gLoss = Float32Array.from([0.2, 0.2, 0, 0.2, 0.2, 0]);
      const run = (k: Backend) => {
        const losses = new Float32Array(rows),
          lse = new Float32Array(rows),
          g = new Float32Array(rows * cols);
        k.crossEntropy(logits, targets, rows, cols, -100, losses, lse);
        k.crossEntropyBackward(logits, targets, lse, gLoss, rows, cols, -100, g);
        return { losses, lse, g };
      };
      const want = run(jsBackend),
        got = run(be);
      rowwise(got.losses, want.losses, "crossEntropy losses");
      rowwise(got.lse, want.lse, "crossEntropy lse");
      rowwise(got.g, want.g, "crossEntropyBackward");
      const bad = Int32Array.from([0, 0, cols, 0, 0, 0]);
      assert.throws(() => be.crossEntropy(logits, bad, rows, cols, -100, new Float32Array(rows), new Float32Array(rows)), RangeError);
    });

    test("copyStrided: a transposed float view with an offset, int32 and byte arrays", () => {
      const be = backend();
      const src = randomF32(1 + 17 * 3);
      const shape = [3, 17],
        strides = [1, 3];
      const want = new Float32Array(51),
        got = new Float32Array(51);
      jsBackend.copyStrided(src, 1, shape, strides, want);
      be.copyStrided(src, 1, shape, strides, got);
      assert.deepEqual(got, want, "float32");
      const isrc = Int32Array.from({ length: 52 }, (_, i) => i * 7 - 100);
      const iwant = new Int32Array(51),
        igot = new Int32Array(51);
      jsBackend.copyStrided(isrc, 1, shape, strides, iwant);
      be.copyStrided(isrc, 1, shape, strides, igot);
      assert.deepEqual(igot, iwant, "int32");
      const bsrc = Uint8Array.from({ length: 52 }, (_, i) => i % 2);
      const bwant = new Uint8Array(51),
        bgot = new Uint8Array(51);
      jsBackend.copyStrided(bsrc, 1, shape, strides, bwant);
      be.copyStrided(bsrc, 1, shape, strides, bgot);
      assert.deepEqual(bgot, bwant, "uint8");
    });

    test("adamw: three steps with and without weight decay", () => {
      const be = backend();
      const n = 300;
      for (const wd of [0, 0.1]) {
        const p0 = randomF32(n);
        const state = () => ({ p: Float32Array.from(p0), m: new Float32Array(n), v: new Float32Array(n) });
        const want = state(),
          got = state();
        for (let step = 1; step <= 3; step++) {
          const g = randomF32(n);
          jsBackend.adamw(want.p, g, want.m, want.v, 1e-2, 0.9, 0.95, 1e-8, wd, step);
          be.adamw(got.p, g, got.m, got.v, 1e-2, 0.9, 0.95, 1e-8, wd, step);
        }
        close(got.p, want.p, 1e-5, 1e-6, `adamw p (wd ${wd})`);
        close(got.m, want.m, 1e-5, 1e-7, `adamw m (wd ${wd})`);
        close(got.v, want.v, 1e-5, 1e-8, `adamw v (wd ${wd})`);
      }
    });

    test("linearHalf: f16 and bf16 weights", () => {
      const be = backend();
      const m = 3,
        k = 33,
        n = 17;
      const x = randomF32(m * k);
      const w = randomF32(n * k);
      for (const [dtype, bits] of [
        ["F16", f32ToF16(w)],
        ["BF16", f32ToBf16(w)],
      ] as const) {
        const want = new Float32Array(m * n),
          got = new Float32Array(m * n);
        jsBackend.linearHalf(dtype, x, m, k, bits, n, want);
        be.linearHalf(dtype, x, m, k, bits, n, got);
        const tol = 1e-5 * Math.sqrt(k);
        close(got, want, tol, tol, `linearHalf ${dtype}`);
      }
    });

    test("attention: causal, padding-masked, grouped-query, with and without a sliding window", () => {
      const be = backend();
      const [batch, steps, heads, kvHeads, headDim, capacity, start] = [2, 3, 4, 2, 8, 9, 4];
      const valid = new Uint8Array(batch * capacity).fill(1);
      valid[0] = 0; // row 0 starts with a pad
      valid[capacity + 5] = 0; // row 1 has a hole
      for (const window of [0, 3]) {
        const args = {
          batch,
          steps,
          heads,
          kvHeads,
          headDim,
          capacity,
          start,
          valid,
          window,
          scale: 1 / Math.sqrt(headDim),
          q: randomF32(batch * steps * heads * headDim),
          keys: randomF32(batch * kvHeads * capacity * headDim),
          values: randomF32(batch * kvHeads * capacity * headDim),
        };
        const want = new Float32Array(batch * steps * heads * headDim),
          got = new Float32Array(want.length);
        jsBackend.attention({ ...args, out: want } as AttentionArgs);
        be.attention({ ...args, out: got } as AttentionArgs);
        rowwise(got, want, `attention (window ${window})`);
      }
    });

    test("causalAttention and its backward: packed q|k|v, grouped-query, padding, sliding window", () => {
      const be = backend();
      const [B, T, H, KV, D] = [2, 9, 4, 2, 8];
      const C = (H + 2 * KV) * D; // one token's packed q|k|v
      const qkv = randomF32(B * T * C);
      const keyValid = new Uint8Array(B * T).fill(1);
      keyValid[0] = 0; // row 0 starts with a pad: its first query sees nothing
      keyValid[T + 4] = 0; // row 1 has a hole
      const strides = [T * C, C, D] as const;
      for (const [window, valid, packedGrads] of [
        [0, keyValid, true],
        [4, null, false],
      ] as const) {
        const args = {
          batch: B,
          time: T,
          heads: H,
          kvHeads: KV,
          headDim: D,
          q: qkv,
          qOffset: 0,
          qStrides: strides,
          k: qkv,
          kOffset: H * D,
          kStrides: strides,
          v: qkv,
          vOffset: (H + KV) * D,
          vStrides: strides,
          keyValid: valid,
          window,
          scale: 1 / Math.sqrt(D),
        };
        const gOut = randomF32(B * T * H * D);
        const g0 = randomF32(B * T * C, -0.1, 0.1); // gradients accumulate onto this
        const run = (k: Backend) => {
          const probs = new Float32Array(B * H * T * T),
            out = new Float32Array(B * T * H * D);
          k.causalAttention({ ...args, probs }, out);
          const grads = packedGrads ? [Float32Array.from(g0)] : [0, 1, 2].map(() => Float32Array.from(g0));
          const [gq, gk, gv] = packedGrads ? [grads[0]!, grads[0]!, grads[0]!] : (grads as [Float32Array, Float32Array, Float32Array]);
          k.causalAttentionBackward({ ...args, probs, gOut, gq, gk, gv });
          return { out, probs, grads };
        };
        const want = run(jsBackend),
          got = run(be);
        const what = `window ${window}, ${packedGrads ? "one packed gradient" : "three gradients"}`;
        rowwise(got.out, want.out, `causalAttention out (${what})`);
        rowwise(got.probs, want.probs, `causalAttention probs (${what})`);
        want.grads.forEach((w, i) => close(got.grads[i]!, w, 1e-5, 1e-5, `causalAttentionBackward gradient ${i} (${what})`));
      }
    });

    test("quantMatmul: Q8_0 and Q4_0 in the rows layout", () => {
      const be = backend();
      const m = 3,
        k = 64,
        n = 17;
      const x = randomF32(m * k);
      for (const dtype of ["Q8_0", "Q4_0"] as const) {
        const q = quantizeTensor({ data: randomF32(n * k, -0.1, 0.1), shape: [n, k] }, dtype);
        const want = new Float32Array(m * n),
          got = new Float32Array(m * n);
        jsBackend.quantMatmul(dtype, "rows", x, m, k, q.data, n, want);
        be.quantMatmul(dtype, "rows", x, m, k, q.data, n, got);
        close(got, want, 1e-5, 1e-5, `quantMatmul ${dtype}`);
      }
    });
  });
}
