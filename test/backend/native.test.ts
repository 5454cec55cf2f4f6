// The native backend against the js backend (the oracle): every kernel on random inputs of
// awkward shapes (sizes 1, 3, 17, 33, 65, 127, transposes, broadcast strides, subarray views),
// on every SIMD path this CPU has and on 1 and 2 threads; plus the error paths (bad ids,
// short buffers, wrong types), which must throw instead of touching memory.
//
// Tolerances (|native - js| ≤ atol + rtol·|js|):
//   matmul:           rtol = atol = 1e-5·sqrt(k)   (float32 accumulation in another order)
//   element-wise:     rtol 2e-6, atol 1e-6         (float32 libm vs double Math.*, ≤ a few ulp)
//   row kernels:      rtol 1e-5, atol 1e-6         (float32 intermediates vs double)
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { UNARY_OPS, type Backend, type BinaryOp, type DataArray, type MatmulArgs, type UnaryOp } from "../../src/backend/backend.js";
import { jsBackend } from "../../src/backend/js.js";
import { rng } from "../helpers/random.js";
import {
  availableSimdLevels,
  cpuFeatures,
  getNumThreads,
  loadNativeBackend,
  nativeUnavailableReason,
  setNumThreads,
  setSimdLevel,
} from "../../src/backend/native.js";

const native = loadNativeBackend();
const skip = native ? false : `native addon not built: ${nativeUnavailableReason()}`;

const rand = rng(1234);

function randomF32(n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rand(lo, hi);
  return a;
}

/** A Float32Array view that starts `pad` elements into a larger buffer (byteOffset ≠ 0). */
function padded(data: Float32Array, pad = 3): Float32Array {
  const big = new Float32Array(data.length + pad + 2).fill(Number.NaN);
  big.set(data, pad);
  return big.subarray(pad, pad + data.length);
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i],
      e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue; // also equal infinities
    const ok = Math.abs(a - e) <= atol + rtol * Math.abs(e);
    if (!ok) assert.fail(`${what}: element ${i}: native ${a}, js ${e} (rtol ${rtol}, atol ${atol})`);
  }
}

/** Runs fn on each SIMD path and thread count, restoring the defaults afterwards. */
function eachConfig(fn: (label: string) => void): void {
  const levels = availableSimdLevels();
  const threads0 = getNumThreads();
  try {
    for (const level of levels) {
      setSimdLevel(level);
      for (const threads of [1, 2]) {
        setNumThreads(threads);
        fn(`${level}/${threads}t`);
      }
    }
  } finally {
    setSimdLevel(levels[0]);
    setNumThreads(threads0);
  }
}

describe("native backend", { skip }, () => {
  const nb = native as Backend;
  after(() => setNumThreads(getNumThreads()));

  test("reports its SIMD path and threads", () => {
    assert.ok(availableSimdLevels().includes(cpuFeatures()));
    assert.ok(availableSimdLevels().includes("generic"));
    assert.ok(getNumThreads() >= 1);
    assert.throws(() => setNumThreads(0), RangeError);
    assert.throws(() => setSimdLevel("sse9"), RangeError);
  });

  describe("matmul", () => {
    interface Case {
      batch: number;
      m: number;
      n: number;
      k: number;
      aBatch?: 0;
      bBatch?: 0;
    }
    const cases: Case[] = [
      { batch: 1, m: 1, n: 1, k: 1 },
      { batch: 1, m: 3, n: 17, k: 33 },
      { batch: 1, m: 65, n: 127, k: 17 },
      { batch: 2, m: 33, n: 65, k: 3 },
      { batch: 1, m: 200, n: 70, k: 300 }, // several MC and KC blocks
      { batch: 1, m: 2, n: 3100, k: 5 }, // more than one NC block
      { batch: 3, m: 17, n: 33, k: 65, aBatch: 0 }, // one A broadcast over the batch
      { batch: 3, m: 17, n: 33, k: 65, bBatch: 0 }, // one B broadcast over the batch
      { batch: 2, m: 1, n: 127, k: 65 }, // matrix-vector (decoding)
      { batch: 2, m: 1, n: 600, k: 300, bBatch: 0 },
      { batch: 2, m: 127, n: 1, k: 65 }, // matrix times a column
      { batch: 1, m: 0, n: 5, k: 3 },
      { batch: 1, m: 4, n: 5, k: 0 },
    ];
    for (const cs of cases) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const name =
            `batch ${cs.batch} ${cs.m}×${cs.k}·${cs.k}×${cs.n} transA=${transA} transB=${transB}` +
            `${cs.aBatch === 0 ? " (A broadcast)" : ""}${cs.bBatch === 0 ? " (B broadcast)" : ""}`;
          test(name, () => {
            const { batch, m, n, k } = cs;
            const aStride = cs.aBatch === 0 ? 0 : m * k;
            const bStride = cs.bBatch === 0 ? 0 : k * n;
            const aOffset = 2,
              bOffset = 1;
            const a = padded(randomF32(aOffset + (aStride === 0 ? m * k : batch * m * k)));
            const b = padded(randomF32(bOffset + (bStride === 0 ? k * n : batch * k * n)));
            const c0 = randomF32(batch * m * n);
            const tol = 1e-5 * Math.sqrt(Math.max(k, 1));
            for (const accumulate of [false, true]) {
              const args = (c: Float32Array): MatmulArgs => ({
                batch,
                m,
                n,
                k,
                a,
                aOffset,
                aBatchStride: aStride,
                transA,
                b,
                bOffset,
                bBatchStride: bStride,
                transB,
                c,
                accumulate,
              });
              const expected = padded(c0.slice());
              jsBackend.matmul(args(expected));
              eachConfig((label) => {
                const got = padded(c0.slice());
                nb.matmul(args(got));
                assertClose(got, expected, tol, tol, `${label} accumulate=${accumulate}`);
              });
            }
          });
        }
      }
    }

    test("rejects short buffers, negative and fractional sizes, wrong types", () => {
      const base = (): MatmulArgs => ({
        batch: 2,
        m: 3,
        n: 4,
        k: 5,
        a: new Float32Array(30),
        aOffset: 0,
        aBatchStride: 15,
        transA: false,
        b: new Float32Array(40),
        bOffset: 0,
        bBatchStride: 20,
        transB: false,
        c: new Float32Array(24),
        accumulate: false,
      });
      assert.doesNotThrow(() => nb.matmul(base()));
      assert.throws(() => nb.matmul({ ...base(), a: new Float32Array(29) }), RangeError);
      assert.throws(() => nb.matmul({ ...base(), aOffset: 1 }), RangeError);
      assert.throws(() => nb.matmul({ ...base(), b: new Float32Array(40).subarray(1) }), RangeError);
      assert.throws(() => nb.matmul({ ...base(), bBatchStride: 21 }), RangeError);
      assert.throws(() => nb.matmul({ ...base(), c: new Float32Array(23) }), RangeError);
      assert.throws(() => nb.matmul({ ...base(), m: -1 }), RangeError);
      assert.throws(() => nb.matmul({ ...base(), k: 2.5 }), RangeError);
      assert.throws(() => nb.matmul({ ...base(), m: Number.NaN }), RangeError);
      assert.throws(() => nb.matmul({ ...base(), a: new Float64Array(30) as unknown as Float32Array }), TypeError);
    });
  });

  describe("element-wise", () => {
    const positiveOnly = new Set<UnaryOp>(["log", "sqrt", "rsqrt"]);
    for (const op of UNARY_OPS) {
      test(`unary ${op} and its backward`, () => {
        for (const n of [1, 17, 127, 70000]) {
          const x = positiveOnly.has(op) ? randomF32(n, 0.05, 4) : randomF32(n, -4, 4);
          if (!positiveOnly.has(op) && n > 1) x[0] = 0;
          const expected = new Float32Array(n);
          jsBackend.unary(op, x, expected);
          const gy = randomF32(n);
          const gxExpected = new Float32Array(n);
          jsBackend.unaryBackward(op, x, expected, gy, gxExpected);
          eachConfig((label) => {
            const got = padded(new Float32Array(n));
            nb.unary(op, padded(x), got);
            assertClose(got, expected, 2e-6, 1e-6, `${op} n=${n} ${label}`);
            const gx = new Float32Array(n);
            nb.unaryBackward(op, x, expected, padded(gy), gx);
            assertClose(gx, gxExpected, 2e-6, 1e-6, `${op}' n=${n} ${label}`);
          });
          // In place (out aliases x).
          const inPlace = x.slice();
          nb.unary(op, inPlace, inPlace);
          assertClose(inPlace, expected, 2e-6, 1e-6, `${op} in place`);
        }
      });
    }

    test("unary rejects a short output", () => {
      assert.throws(() => nb.unary("exp", new Float32Array(5), new Float32Array(4)), RangeError);
      assert.throws(
        () => nb.unaryBackward("exp", new Float32Array(5), new Float32Array(5), new Float32Array(4), new Float32Array(5)),
        RangeError,
      );
      assert.throws(() => nb.unary("nope" as UnaryOp, new Float32Array(5), new Float32Array(5)), TypeError);
    });

    // [shape, aStrides, bStrides, aLength, bLength]: contiguous, row/column broadcast,
    // scalar, transposed view, 0-d, a large contiguous case that runs in parallel.
    const layouts: [number[], number[], number[], number, number][] = [
      [[3, 17], [17, 1], [17, 1], 51, 51],
      [[4, 33], [33, 1], [0, 1], 132, 33],
      [[4, 33], [1, 0], [33, 1], 4, 132],
      [[65, 3], [3, 1], [0, 0], 195, 1],
      [[5, 4], [1, 5], [4, 1], 20, 20],
      [[2, 3, 5], [15, 1, 3], [0, 5, 1], 30, 15],
      [[], [], [], 1, 1],
      [[70001], [1], [1], 70001, 70001],
      [[300, 257], [257, 1], [0, 1], 300 * 257, 257],
    ];
    const floatOps: BinaryOp[] = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge"];
    for (const op of floatOps) {
      test(`binary ${op} on Float32Array`, () => {
        const cmp = ["eq", "ne", "lt", "le", "gt", "ge"].includes(op);
        for (const [shape, as, bs, an, bn] of layouts) {
          const total = shape.reduce((p, s) => p * s, 1);
          // Small integers make equal pairs common, so comparisons see ties.
          const gen = (n: number) => (op === "pow" ? randomF32(n, 0.1, 3) : randomF32(n, -3, 3).map((v) => (cmp ? Math.round(v) : v)));
          const a = gen(an + 1),
            b = gen(bn + 2);
          const make = () => (cmp ? new Uint8Array(total) : new Float32Array(total));
          const expected = make();
          jsBackend.binary(op, a, 1, as, b, 2, bs, expected, shape);
          eachConfig((label) => {
            const got = make();
            nb.binary(op, a, 1, as, b, 2, bs, got, shape);
            if (cmp) assert.deepEqual(got, expected, `${op} ${JSON.stringify(shape)} ${label}`);
            else assertClose(got as Float32Array, expected, 2e-6, 1e-6, `${op} ${JSON.stringify(shape)} ${label}`);
          });
        }
      });
    }

    test("binary on Int32Array wraps like int32 and compares", () => {
      const ops: BinaryOp[] = ["add", "sub", "mul", "div", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge"];
      const a = Int32Array.from({ length: 66 }, (_, i) => (i % 7 === 0 ? 2147483000 : Math.round(rand(-50, 50))));
      const b = Int32Array.from({ length: 33 }, () => Math.round(rand(1, 9)) * (rand() < 0 ? -1 : 1));
      for (const op of ops) {
        const cmp = ["eq", "ne", "lt", "le", "gt", "ge"].includes(op);
        const expected = cmp ? new Uint8Array(66) : new Int32Array(66);
        const got = cmp ? new Uint8Array(66) : new Int32Array(66);
        jsBackend.binary(op, a, 0, [33, 1], b, 0, [0, 1], expected, [2, 33]);
        nb.binary(op, a, 0, [33, 1], b, 0, [0, 1], got, [2, 33]);
        assert.deepEqual(got, expected, op);
      }
      assert.throws(() => nb.binary("div", a, 0, [1], new Int32Array(66), 0, [1], new Int32Array(66), [66]), RangeError);
    });

    test("binary rejects views outside the buffer and mismatched types", () => {
      const a = new Float32Array(10),
        out = new Float32Array(10);
      assert.throws(() => nb.binary("add", a, 1, [1], a, 0, [1], out, [10]), RangeError);
      assert.throws(() => nb.binary("add", a, 0, [2], a, 0, [1], out, [10]), RangeError);
      assert.throws(() => nb.binary("add", a, 0, [-1], a, 0, [1], out, [10]), RangeError);
      assert.throws(() => nb.binary("add", a, 0, [1], a, 0, [1], new Float32Array(9), [10]), RangeError);
      assert.throws(() => nb.binary("add", a, 0, [1], new Int32Array(10), 0, [1], out, [10]), TypeError);
      assert.throws(() => nb.binary("lt", a, 0, [1], a, 0, [1], out, [10]), TypeError);
      assert.throws(() => nb.binary("add", a, 0, [1, 1], a, 0, [1], out, [10]), RangeError);
      // A negative stride that stays inside the buffer is fine: a reversed view.
      const rev = new Float32Array(10);
      nb.binary(
        "add",
        Float32Array.from({ length: 10 }, (_, i) => i),
        9,
        [-1],
        new Float32Array(10),
        0,
        [1],
        rev,
        [10],
      );
      assert.deepEqual(Array.from(rev), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    });

    test("copyStrided gathers views of every element type", () => {
      const cases: [number[], number[], number, number][] = [
        [[3, 17], [1, 3], 0, 51], // a transpose
        [[4, 5, 6], [30, 1, 5], 2, 122],
        [[65], [-2], 130, 131], // reversed, every other element
        [[2, 1, 3], [0, 7, 1], 1, 4], // broadcast
        [[], [], 5, 6],
      ];
      for (const [shape, strides, offset, len] of cases) {
        const total = shape.reduce((p, s) => p * s, 1);
        const sources: DataArray[] = [
          randomF32(len),
          Int32Array.from({ length: len }, () => Math.round(rand(-1e6, 1e6))),
          Uint8Array.from({ length: len }, () => Math.round(rand(0, 255))),
        ];
        for (const src of sources) {
          const Ctor = src.constructor as new (n: number) => DataArray;
          const expected = new Ctor(total),
            got = new Ctor(total);
          jsBackend.copyStrided(src, offset, shape, strides, expected);
          nb.copyStrided(src, offset, shape, strides, got);
          assert.deepEqual(got, expected, `${Ctor.name} ${JSON.stringify(shape)}`);
        }
      }
      assert.throws(() => nb.copyStrided(new Float32Array(10), 0, [11], [1], new Float32Array(11)), RangeError);
      assert.throws(() => nb.copyStrided(new Float32Array(10), 0, [10], [1], new Int32Array(10)), TypeError);
    });

    test("adamw", () => {
      for (const n of [1, 33, 70000]) {
        const p = randomF32(n),
          g = randomF32(n),
          m = randomF32(n, -0.1, 0.1),
          v = randomF32(n, 0, 0.01);
        const ref = [p.slice(), g, m.slice(), v.slice()] as const;
        jsBackend.adamw(ref[0], ref[1], ref[2], ref[3], 1e-3, 0.9, 0.95, 1e-8, 0.1, 7);
        let first: (readonly Float32Array[])[] | null = null;
        eachConfig((label) => {
          const got = [padded(p), g, padded(m), padded(v)] as const;
          nb.adamw(got[0], got[1], got[2], got[3], 1e-3, 0.9, 0.95, 1e-8, 0.1, 7);
          assertClose(got[0], ref[0], 1e-5, 1e-7, `p ${label}`);
          assertClose(got[2], ref[2], 1e-6, 1e-8, `m ${label}`);
          assertClose(got[3], ref[3], 1e-6, 1e-9, `v ${label}`);
          // Every SIMD level does the same float64 operations in the same order: identical bits.
          if (!first) first = [[got[0], got[2], got[3]]];
          else assert.deepEqual([got[0], got[2], got[3]], first[0], `adamw bits ${label} n=${n}`);
        });
      }
      assert.throws(
        () => nb.adamw(new Float32Array(4), new Float32Array(3), new Float32Array(4), new Float32Array(4), 1, 0.9, 0.9, 1e-8, 0, 1),
        RangeError,
      );
    });
  });

  describe("reductions", () => {
    const shapes: [number, number, number][] = [
      [1, 1, 1],
      [3, 17, 1],
      [2, 5, 33],
      [65, 127, 3],
      [1, 70000, 1],
      [4, 300, 257],
      [2, 0, 3],
    ];
    for (const op of ["sum", "max", "min"] as const) {
      test(`reduce ${op}`, () => {
        for (const [outer, size, inner] of shapes) {
          const x = randomF32(outer * size * inner);
          const expected = new Float32Array(outer * inner);
          jsBackend.reduce(op, x, outer, size, inner, expected);
          eachConfig((label) => {
            const got = new Float32Array(outer * inner);
            nb.reduce(op, padded(x), outer, size, inner, got);
            assertClose(got, expected, 1e-5, 1e-5, `${op} (${outer}, ${size}, ${inner}) ${label}`);
          });
        }
      });
    }
    for (const op of ["argmax", "argmin"] as const) {
      test(`${op} (first index on ties, first NaN wins)`, () => {
        for (const [outer, size, inner] of shapes.filter(([, s]) => s > 0)) {
          const x = randomF32(outer * size * inner, -3, 3).map(Math.round);
          if (x.length > 40) x[37] = Number.NaN;
          const expected = new Int32Array(outer * inner);
          jsBackend.argReduce(op, x, outer, size, inner, expected);
          const got = new Int32Array(outer * inner);
          nb.argReduce(op, x, outer, size, inner, got);
          assert.deepEqual(got, expected, `${op} (${outer}, ${size}, ${inner})`);
        }
      });
    }
    test("reductions reject short buffers", () => {
      assert.throws(() => nb.reduce("sum", new Float32Array(5), 2, 3, 1, new Float32Array(2)), RangeError);
      assert.throws(() => nb.reduce("sum", new Float32Array(6), 2, 3, 1, new Float32Array(1)), RangeError);
      assert.throws(() => nb.argReduce("argmax", new Float32Array(6), 2, 3, 1, new Float32Array(2) as unknown as Int32Array), TypeError);
    });
  });

  describe("row-wise kernels", () => {
    const shapes: [number, number][] = [
      [1, 1],
      [3, 17],
      [65, 33],
      [5, 127],
      [64, 1000],
      [2, 70000],
    ];

    test("softmax and log-softmax, forward and backward", () => {
      for (const log of [false, true]) {
        for (const [rows, cols] of shapes) {
          const x = randomF32(rows * cols, -8, 8);
          const y = new Float32Array(rows * cols);
          jsBackend.softmax(x, rows, cols, y, log);
          const gy = randomF32(rows * cols);
          const gx = new Float32Array(rows * cols);
          jsBackend.softmaxBackward(y, gy, rows, cols, gx, log);
          eachConfig((label) => {
            const yn = new Float32Array(rows * cols);
            nb.softmax(padded(x), rows, cols, yn, log);
            assertClose(yn, y, 1e-5, 1e-6, `softmax log=${log} ${rows}×${cols} ${label}`);
            const gxn = new Float32Array(rows * cols);
            nb.softmaxBackward(y, padded(gy), rows, cols, gxn, log);
            assertClose(gxn, gx, 1e-5, 1e-5, `softmaxBackward log=${log} ${rows}×${cols} ${label}`);
          });
        }
      }
      // A fully masked row gives NaN on both backends.
      const masked = new Float32Array(3).fill(-Infinity),
        out = new Float32Array(3);
      nb.softmax(masked, 1, 3, out, false);
      assert.ok(out.every(Number.isNaN));
    });

    test("layerNorm with and without affine weights, and its backward", () => {
      for (const [rows, cols] of shapes) {
        for (const affine of [false, true]) {
          const x = randomF32(rows * cols, -2, 3);
          const w = affine ? randomF32(cols) : null,
            b = affine ? randomF32(cols) : null;
          const ref = { out: new Float32Array(rows * cols), mean: new Float32Array(rows), rstd: new Float32Array(rows) };
          jsBackend.layerNorm(x, w, b, rows, cols, 1e-5, ref.out, ref.mean, ref.rstd);
          const gy = randomF32(rows * cols);
          const gw0 = randomF32(cols),
            gb0 = randomF32(cols);
          const refG = { gx: new Float32Array(rows * cols), gw: gw0.slice(), gb: gb0.slice() };
          jsBackend.layerNormBackward(x, w, ref.mean, ref.rstd, gy, rows, cols, refG.gx, refG.gw, refG.gb);
          eachConfig((label) => {
            const got = { out: new Float32Array(rows * cols), mean: new Float32Array(rows), rstd: new Float32Array(rows) };
            nb.layerNorm(padded(x), w, b, rows, cols, 1e-5, got.out, got.mean, got.rstd);
            assertClose(got.out, ref.out, 1e-5, 1e-5, `layerNorm out ${rows}×${cols} ${label}`);
            assertClose(got.mean, ref.mean, 1e-5, 1e-6, `layerNorm mean ${label}`);
            assertClose(got.rstd, ref.rstd, 1e-5, 1e-6, `layerNorm rstd ${label}`);
            const g = { gx: new Float32Array(rows * cols), gw: gw0.slice(), gb: gb0.slice() };
            nb.layerNormBackward(x, w, ref.mean, ref.rstd, padded(gy), rows, cols, g.gx, g.gw, g.gb);
            assertClose(g.gx, refG.gx, 1e-4, 1e-5, `layerNormBackward gx ${rows}×${cols} ${label}`);
            assertClose(g.gw, refG.gw, 1e-5, 1e-4, `layerNormBackward gw ${label}`);
            assertClose(g.gb, refG.gb, 1e-5, 1e-4, `layerNormBackward gb ${label}`);
          });
        }
      }
      assert.throws(
        () =>
          nb.layerNorm(
            new Float32Array(6),
            new Float32Array(2),
            null,
            2,
            3,
            1e-5,
            new Float32Array(6),
            new Float32Array(2),
            new Float32Array(2),
          ),
        RangeError,
      );
      assert.throws(
        () => nb.layerNorm(new Float32Array(6), null, null, 2, 3, 1e-5, new Float32Array(6), new Float32Array(1), new Float32Array(2)),
        RangeError,
      );
    });

    test("rmsNorm and its backward", () => {
      for (const [rows, cols] of shapes) {
        for (const affine of [false, true]) {
          const x = randomF32(rows * cols, -2, 3);
          const w = affine ? randomF32(cols) : null;
          const ref = { out: new Float32Array(rows * cols), rstd: new Float32Array(rows) };
          jsBackend.rmsNorm(x, w, rows, cols, 1e-6, ref.out, ref.rstd);
          const gy = randomF32(rows * cols);
          const gw0 = randomF32(cols);
          const refG = { gx: new Float32Array(rows * cols), gw: gw0.slice() };
          jsBackend.rmsNormBackward(x, w, ref.rstd, gy, rows, cols, refG.gx, refG.gw);
          eachConfig((label) => {
            const got = { out: new Float32Array(rows * cols), rstd: new Float32Array(rows) };
            nb.rmsNorm(padded(x), w, rows, cols, 1e-6, got.out, got.rstd);
            assertClose(got.out, ref.out, 1e-5, 1e-6, `rmsNorm out ${rows}×${cols} ${label}`);
            assertClose(got.rstd, ref.rstd, 1e-5, 1e-6, `rmsNorm rstd ${label}`);
            const g = { gx: new Float32Array(rows * cols), gw: gw0.slice() };
            nb.rmsNormBackward(x, w, ref.rstd, padded(gy), rows, cols, g.gx, g.gw);
            assertClose(g.gx, refG.gx, 1e-4, 1e-5, `rmsNormBackward gx ${rows}×${cols} ${label}`);
            assertClose(g.gw, refG.gw, 1e-5, 1e-4, `rmsNormBackward gw ${label}`);
          });
        }
      }
    });

    test("crossEntropy with ignored rows, forward and backward", () => {
      for (const [rows, cols] of shapes) {
        const logits = randomF32(rows * cols, -6, 6);
        const targets = Int32Array.from({ length: rows }, (_, r) => (r % 3 === 2 ? -100 : Math.floor(rand(0, cols))));
        const ref = { losses: new Float32Array(rows), lse: new Float32Array(rows) };
        jsBackend.crossEntropy(logits, targets, rows, cols, -100, ref.losses, ref.lse);
        const gLoss = randomF32(rows, 0.1, 1);
        const refG = new Float32Array(rows * cols);
        jsBackend.crossEntropyBackward(logits, targets, ref.lse, gLoss, rows, cols, -100, refG);
        eachConfig((label) => {
          const got = { losses: new Float32Array(rows), lse: new Float32Array(rows) };
          nb.crossEntropy(padded(logits), targets, rows, cols, -100, got.losses, got.lse);
          assertClose(got.losses, ref.losses, 1e-5, 1e-5, `crossEntropy loss ${rows}×${cols} ${label}`);
          assertClose(got.lse, ref.lse, 1e-6, 1e-6, `crossEntropy lse ${label}`);
          const g = new Float32Array(rows * cols);
          nb.crossEntropyBackward(logits, targets, ref.lse, gLoss, rows, cols, -100, g);
          assertClose(g, refG, 1e-5, 1e-7, `crossEntropyBackward ${rows}×${cols} ${label}`);
          // The gradient may overwrite the logits (crossEntropy's overwriteLogits): the same values.
          const inPlace = logits.slice();
          nb.crossEntropyBackward(inPlace, targets, ref.lse, gLoss, rows, cols, -100, inPlace);
          assertClose(inPlace, refG, 1e-5, 1e-7, `crossEntropyBackward in place ${rows}×${cols} ${label}`);
        });
        const jsInPlace = logits.slice();
        jsBackend.crossEntropyBackward(jsInPlace, targets, ref.lse, gLoss, rows, cols, -100, jsInPlace);
        assert.deepEqual(jsInPlace, refG, "js crossEntropyBackward in place");
      }
    });

    test("crossEntropy rejects targets outside [0, cols) and short buffers", () => {
      const logits = randomF32(12);
      const run = (t: number[]) => nb.crossEntropy(logits, Int32Array.from(t), 3, 4, -100, new Float32Array(3), new Float32Array(3));
      assert.doesNotThrow(() => run([0, 3, -100]));
      assert.throws(
        () => run([0, 4, 1]),
        (e: Error) => e instanceof RangeError && /target 4 at row 1/.test(e.message),
      );
      assert.throws(() => run([-1, 0, 1]), RangeError);
      assert.throws(() => run([0, 1]), RangeError); // too few targets
      assert.throws(
        () =>
          nb.crossEntropyBackward(
            logits,
            Int32Array.from([0, 9, 1]),
            new Float32Array(3),
            new Float32Array(3),
            3,
            4,
            -100,
            new Float32Array(12),
          ),
        RangeError,
      );
    });
  });

  describe("embedding", () => {
    test("forward and backward (repeated ids accumulate)", () => {
      for (const [vocab, dim, n] of [
        [1, 1, 1],
        [17, 33, 65],
        [127, 3, 17],
        [50, 1000, 40],
      ]) {
        const weight = randomF32(vocab * dim);
        const ids = Int32Array.from({ length: n }, (_, i) => (i % 5 === 4 ? 0 : Math.floor(rand(0, vocab))));
        const expected = new Float32Array(n * dim);
        jsBackend.embedding(weight, vocab, dim, ids, expected);
        const gy = randomF32(n * dim);
        const gw0 = randomF32(vocab * dim);
        const gwExpected = gw0.slice();
        jsBackend.embeddingBackward(gy, ids, dim, gwExpected);
        eachConfig((label) => {
          const got = new Float32Array(n * dim);
          nb.embedding(padded(weight), vocab, dim, ids, got);
          assert.deepEqual(got, expected, `embedding ${label}`);
          const gw = gw0.slice();
          nb.embeddingBackward(padded(gy), ids, dim, gw);
          assertClose(gw, gwExpected, 1e-6, 1e-6, `embeddingBackward ${label}`);
        });
      }
    });

    test("rejects ids outside [0, vocab) and short buffers", () => {
      const weight = randomF32(10 * 4);
      const out = new Float32Array(3 * 4);
      assert.throws(
        () => nb.embedding(weight, 10, 4, Int32Array.from([1, 10, 2]), out),
        (e: Error) => e instanceof RangeError && /10 at position 1/.test(e.message),
      );
      assert.throws(() => nb.embedding(weight, 10, 4, Int32Array.from([-1, 0, 2]), out), RangeError);
      assert.throws(() => nb.embedding(weight, 11, 4, Int32Array.from([0]), out), RangeError); // weight too short
      assert.throws(() => nb.embedding(weight, 10, 4, Int32Array.from([0, 1, 2, 3]), out), RangeError); // out too short
      assert.throws(() => nb.embeddingBackward(new Float32Array(8), Int32Array.from([0, 10]), 4, new Float32Array(40)), RangeError);
      assert.throws(() => nb.embeddingBackward(new Float32Array(7), Int32Array.from([0, 1]), 4, new Float32Array(40)), RangeError);
    });
  });
});
