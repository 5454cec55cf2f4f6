// The native linearHalf kernel (native/half.cc) against the js backend's linearHalf
// (src/backend/js_half.ts, the oracle: widen W block by block, then the js backend's f32
// matmul), for f16 and bf16 weights, decode (m = 1) and prefill (m > 1) shapes with odd sizes,
// on every SIMD path this CPU has and on 1 and 2 threads; plus exact widening of every 16-bit
// pattern and the error paths (wrong types, short buffers), which must throw.
//
// Tolerance: |native − js| ≤ 1e-5·sqrt(k) · (1 + |js|). Both sides widen exactly and sum k
// float32 products, in different orders (the native kernels use 16 or 8 lanes and several
// accumulators), with x and W in [-1, 1].
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
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
import { halfLinear, type HalfLinearBackend, type HalfMatrix } from "../../src/generate/half_matmul.js";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../../src/tensor/half.js";

const native = loadNativeBackend();
const skip = native ? false : `native addon not built: ${nativeUnavailableReason()}`;

const rand = rng(4321);

function randomF32(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rand();
  return a;
}

type Dtype = "F16" | "BF16";

function randomHalf(dtype: Dtype, rows: number, cols: number): HalfMatrix {
  const f = randomF32(rows * cols);
  return { dtype, rows, cols, bits: dtype === "F16" ? f32ToF16(f) : f32ToBf16(f) };
}

/** A view that starts `pad` elements into a larger buffer (byteOffset ≠ 0), the rest NaN-like. */
function padded<T extends Float32Array | Uint16Array>(data: T, pad = 3): T {
  const big =
    data instanceof Float32Array
      ? new Float32Array(data.length + pad + 5).fill(Number.NaN)
      : new Uint16Array(data.length + pad + 5).fill(0x7e00);
  big.set(data, pad);
  return big.subarray(pad, pad + data.length) as T;
}

/** The js path: the js backend's linearHalf widens in TypeScript. */
function reference(x: Float32Array, m: number, w: HalfMatrix): Float32Array {
  const out = new Float32Array(m * w.rows);
  halfLinear(jsBackend, x, m, w, out);
  return out;
}

function assertClose(actual: Float32Array, expected: Float32Array, k: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const tol = 1e-5 * Math.sqrt(Math.max(1, k));
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!,
      e = expected[i]!;
    if (!(Math.abs(a - e) <= tol * (1 + Math.abs(e)))) {
      assert.fail(`${what}: element ${i}: native ${a}, js ${e} (tolerance ${tol}·(1 + |js|))`);
    }
  }
}

describe("native linearHalf", { skip }, () => {
  const levels = native ? availableSimdLevels() : [];
  const originalLevel = native ? cpuFeatures() : "";
  const originalThreads = native ? getNumThreads() : 1;
  after(() => {
    if (!native) return;
    setSimdLevel(originalLevel);
    setNumThreads(originalThreads);
  });

  test("the backend object carries linearHalf (and the deprecated HalfLinearBackend type still fits it)", () => {
    assert.equal(typeof native!.linearHalf, "function");
    const hook: HalfLinearBackend = { linearHalf: native!.linearHalf! };
    assert.equal(typeof hook.linearHalf, "function");
  });

  for (const level of levels) {
    describe(`SIMD level ${level}`, () => {
      for (const dtype of ["F16", "BF16"] as const) {
        test(`${dtype}: m ∈ {1, 3, 37} × k, n ∈ {1, 7, 33, 100} match the js path`, () => {
          setSimdLevel(level);
          setNumThreads(2);
          for (const m of [1, 3, 37]) {
            for (const k of [1, 7, 33, 100]) {
              for (const n of [1, 7, 33, 100]) {
                const w = randomHalf(dtype, n, k);
                const x = randomF32(m * k);
                const expected = reference(x, m, w);
                const out = new Float32Array(m * n).fill(Number.NaN);
                native!.linearHalf!(dtype, x, m, k, w.bits, n, out);
                assertClose(out, expected, k, `${level} ${dtype} m=${m} k=${k} n=${n}`);
              }
            }
          }
        });

        test(`${dtype}: several blocks and tasks, 1 and 2 threads, offset views, through halfLinear`, () => {
          setSimdLevel(level);
          for (const threads of [1, 2]) {
            setNumThreads(threads);
            // k past the gemm's 256-column panels; n spans several widened blocks and tasks.
            for (const [m, k, n] of [
              [1, 1000, 203],
              [5, 1000, 203],
              [2, 2100, 45],
            ] as const) {
              const w = randomHalf(dtype, n, k);
              const x = randomF32(m * k);
              const expected = reference(x, m, w);
              const viewW: HalfMatrix = { ...w, bits: padded(w.bits) };
              const out = padded(new Float32Array(m * n));
              halfLinear(native!, padded(x), m, viewW, out); // dispatches to native linearHalf
              assertClose(out, expected, k, `${level} ${threads} threads ${dtype} m=${m} k=${k} n=${n}`);
            }
          }
        });

        test(`${dtype}: every 16-bit pattern widens exactly (decode and prefill paths)`, () => {
          setSimdLevel(level);
          setNumThreads(2);
          const n = 65536;
          const bits = new Uint16Array(n);
          for (let i = 0; i < n; i++) bits[i] = i;
          const widened = dtype === "F16" ? f16ToF32(bits) : bf16ToF32(bits);
          // k = 1: out[i, j] = x[i] · W[j]; multiplying by 1 and -1 is exact (and cannot overflow).
          const out = new Float32Array(2 * n);
          native!.linearHalf!(dtype, Float32Array.of(1, -1), 2, 1, bits, n, out);
          const decoded = new Float32Array(n);
          native!.linearHalf!(dtype, Float32Array.of(1), 1, 1, bits, n, decoded);
          for (let j = 0; j < n; j++) {
            const want = widened[j]!;
            const got = [decoded[j]!, out[j]!, -out[n + j]!];
            for (const g of got) {
              if (Number.isNaN(want) ? !Number.isNaN(g) : g !== want) {
                assert.fail(`${level} ${dtype} bits 0x${j.toString(16)}: got ${got.join(", ")}, want ${want}`);
              }
            }
          }
        });
      }
    });
  }

  test("empty sizes: k = 0 gives zeros, m = 0 or n = 0 writes nothing", () => {
    const out = new Float32Array(6).fill(7);
    native!.linearHalf!("BF16", new Float32Array(0), 2, 0, new Uint16Array(0), 3, out);
    assert.deepEqual(Array.from(out), [0, 0, 0, 0, 0, 0]);
    const untouched = new Float32Array(2).fill(7);
    native!.linearHalf!("F16", new Float32Array(4), 0, 4, new Uint16Array(8), 2, untouched);
    native!.linearHalf!("F16", new Float32Array(4), 1, 4, new Uint16Array(0), 0, untouched);
    assert.deepEqual(Array.from(untouched), [7, 7]);
  });

  test("bad arguments throw TypeError / RangeError instead of reading past a buffer", () => {
    const lh = native!.linearHalf! as (...args: unknown[]) => void;
    const x = new Float32Array(6),
      bits = new Uint16Array(12),
      out = new Float32Array(8);
    // Valid: m = 2, k = 3, n = 4.
    lh("F16", x, 2, 3, bits, 4, out);
    assert.throws(
      () => lh("F32", x, 2, 3, bits, 4, out),
      (e: Error) => e instanceof RangeError && /dtype/.test(e.message),
    );
    assert.throws(() => lh(16, x, 2, 3, bits, 4, out), TypeError);
    assert.throws(() => lh("F16", new Float64Array(6), 2, 3, bits, 4, out), TypeError);
    assert.throws(
      () => lh("F16", x, 2, 3, new Int16Array(12), 4, out),
      (e: Error) => e instanceof TypeError && /Uint16Array/.test(e.message),
    );
    assert.throws(() => lh("F16", x, 2, 3, bits, 4, new Uint16Array(8)), TypeError);
    assert.throws(() => lh("F16", x, 2, 3, bits, 4), TypeError); // missing argument
    assert.throws(
      () => lh("F16", x.subarray(1), 2, 3, bits, 4, out),
      (e: Error) => e instanceof RangeError && /\bx\b/.test(e.message),
    );
    assert.throws(
      () => lh("F16", x, 2, 3, bits.subarray(1), 4, out),
      (e: Error) => e instanceof RangeError && /bits/.test(e.message),
    );
    assert.throws(
      () => lh("F16", x, 2, 3, bits, 4, out.subarray(1)),
      (e: Error) => e instanceof RangeError && /out/.test(e.message),
    );
    assert.throws(() => lh("F16", x, -1, 3, bits, 4, out), RangeError);
    assert.throws(() => lh("F16", x, 2, 1.5, bits, 4, out), RangeError);
    assert.throws(() => lh("F16", x, 2, 3, bits, 2 ** 60, out), RangeError);
  });
});
