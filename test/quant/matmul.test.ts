// The quantized matmul: the js reference against float math on the dequantized operands, and
// the native kernels (every SIMD level this CPU has) against the js reference.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { gaussian } from "./data.js";
import { dequantize, quantizeTensor } from "../../src/quant/quantize.js";
import { quantizeActivations } from "../../src/quant/activations.js";
import { quantizedMatmulJs } from "../../src/quant/matmul.js";
import { hasNativeQuantKernels, quantizedMatmulNative, quantSimdLevels, setQuantSimdLevel } from "../../src/quant/kernels.js";
import { QUANT_DTYPES, type QuantDType } from "../../src/quant/types.js";

const m = 3, n = 24;
const kOf = (dt: QuantDType) => (dt === "Q4_K" ? 512 : 96);

function setup(dt: QuantDType) {
  const k = kOf(dt);
  const x = gaussian(m * k, 1, 1.5);
  x[5] = 0; // include an all-zero activation block
  x.fill(0, k, k + 32);
  const w = quantizeTensor({ data: gaussian(n * k, 2, 0.1).map((v, i) => (i % 7 === 0 ? v + 0.05 : v)), shape: [n, k] }, dt);
  return { k, x, w };
}

/** Float64 product of the dequantized activations and weights: what the integer kernel must equal. */
function oracle(x: Float32Array, k: number, w: ReturnType<typeof quantizeTensor>): Float64Array {
  const a = quantizeActivations(x, m, k);
  const wd = dequantize(w).data as Float32Array;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += a.q[i * k + c]! * a.d[(i * k + c) >> 5]! * wd[r * k + c]!;
      out[i * n + r] = s;
    }
  }
  return out;
}

function assertClose(actual: Float32Array, expected: ArrayLike<number>, tol: number, what: string) {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol * scale, `${what}: element ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

describe("quantized matmul (js reference)", () => {
  for (const dt of QUANT_DTYPES) {
    test(`${dt}: equals x̂ · Ŵᵀ computed in float64`, () => {
      const { k, x, w } = setup(dt);
      const out = new Float32Array(m * n);
      quantizedMatmulJs(x, m, k, w, out);
      assertClose(out, oracle(x, k, w), 1e-5, dt);
    });
  }
  test("close to the float matmul (activation quantization error is small)", () => {
    const { k, x, w } = setup("Q8_0");
    const out = new Float32Array(m * n);
    quantizedMatmulJs(x, m, k, w, out);
    const wd = dequantize(w).data as Float32Array;
    const ref = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) ref[i * n + r] += x[i * k + c]! * wd[r * k + c]!;
    assertClose(out, ref, 2e-2, "Q8_0 vs float");
  });
  test("size mismatches are refused", () => {
    const { k, x, w } = setup("Q4_0");
    assert.throws(() => quantizedMatmulJs(x, m, k + 32, w, new Float32Array(m * n)), /rows of 96 values, x has k = 128/);
    assert.throws(() => quantizedMatmulJs(x, m, k, w, new Float32Array(m * n - 1)), /out has/);
  });
});

describe("native quantized kernels", { skip: hasNativeQuantKernels() ? false : "native quantized kernels not built" }, () => {
  for (const level of hasNativeQuantKernels() ? quantSimdLevels() : []) {
    for (const dt of QUANT_DTYPES) {
      test(`${dt} on ${level} matches the js reference`, () => {
        const { k, x, w } = setup(dt);
        const js = new Float32Array(m * n), nat = new Float32Array(m * n);
        quantizedMatmulJs(x, m, k, w, js);
        setQuantSimdLevel(level);
        try {
          quantizedMatmulNative(x, m, k, w, nat);
        } finally {
          setQuantSimdLevel(quantSimdLevels()[0]!);
        }
        assertClose(nat, js, 1e-5, `${dt} ${level}`);
      });
    }
  }
  test("large enough to split over threads: matches the js reference", () => {
    const k = 512, rows = 256;
    const x = gaussian(2 * k, 3);
    for (const dt of QUANT_DTYPES) {
      const w = quantizeTensor({ data: gaussian(rows * k, 4, 0.1), shape: [rows, k] }, dt);
      const js = new Float32Array(2 * rows), nat = new Float32Array(2 * rows);
      quantizedMatmulJs(x, 2, k, w, js);
      quantizedMatmulNative(x, 2, k, w, nat);
      assertClose(nat, js, 1e-5, `${dt} threaded`);
    }
  });
  test("a weight with the wrong byte length is refused before the kernel runs", () => {
    const { k, x, w } = setup("Q8_0");
    assert.throws(() => quantizedMatmulNative(x, m, k, { ...w, data: w.data.subarray(1) }, new Float32Array(m * n)), /needs|bytes/);
  });
});
