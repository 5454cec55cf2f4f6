// The js reference matmul for Q5_0, Q6_K and Q4_1: its integer block sums (codes with an offset
// of 16 or 32, Q6_K's two 16-value sub-blocks per 32-value activation block, Q4_1's minimum
// through the activation code sum) must equal the product of the dequantized weights with the
// dequantized 8-bit activations, and stay close to the f32 product.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { gaussian } from "./data.js";
import { dequantize, quantizeTensor } from "../../src/quant/quantize.js";
import { quantizeActivations } from "../../src/quant/activations.js";
import { quantizedMatmulJs } from "../../src/quant/matmul.js";

/** out[i, r] = Σ_c x[i, c] · w[r, c] in double precision. */
function matmulF64(x: Float32Array, m: number, k: number, w: Float32Array, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += x[i * k + c]! * w[r * k + c]!;
      out[i * n + r] = s;
    }
  }
  return out;
}

describe("quantizedMatmulJs for Q5_0, Q6_K and Q4_1", () => {
  const m = 3,
    k = 512,
    n = 24;
  // Weights with a few outliers and a skewed row, activations with one large channel.
  const wf = gaussian(n * k, 31, 0.05).map((v, i) => (i % 997 === 5 ? v * 40 : i < k ? v + 0.03 : v));
  const x = gaussian(m * k, 32, 1).map((v, i) => (i % k === 77 ? v * 20 : v));

  for (const dtype of ["Q5_0", "Q6_K", "Q4_1"] as const) {
    test(`${dtype}: equals dequantized weights · dequantized activations`, () => {
      const w = quantizeTensor({ data: wf, shape: [n, k] }, dtype);
      const out = new Float32Array(m * n);
      quantizedMatmulJs(x, m, k, w, out);

      const a = quantizeActivations(x, m, k);
      const xq = Float32Array.from(a.q, (q, i) => a.d[Math.floor(i / 32)]! * q);
      const wq = dequantize(w).data as Float32Array;
      const ref = matmulF64(xq, m, k, wq, n);
      for (let i = 0; i < m * n; i++) {
        // Both sides are exact sums up to float rounding: allow 1e-5 of the sum of |terms|.
        const row = Math.floor(i / n),
          col = i % n;
        let mag = 0;
        for (let c = 0; c < k; c++) mag += Math.abs(xq[row * k + c]! * wq[col * k + c]!);
        assert.ok(Math.abs(out[i]! - ref[i]!) <= 1e-5 * mag + 1e-9, `${dtype} [${row}, ${col}]: ${out[i]} vs ${ref[i]}`);
      }
    });
  }

  test("the only extra error over the dequantized weights is the 8-bit activations'; Q6_K < Q5_0 < Q4_0", () => {
    const exact = matmulF64(x, m, k, wf, n);
    const rel = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
      let e = 0,
        s = 0;
      for (let i = 0; i < a.length; i++) {
        e += (a[i]! - b[i]!) ** 2;
        s += b[i]! ** 2;
      }
      return Math.sqrt(e / s);
    };
    const errors = (["Q6_K", "Q5_0", "Q4_0"] as const).map((dtype) => {
      const w = quantizeTensor({ data: wf, shape: [n, k] }, dtype);
      const out = new Float32Array(m * n);
      quantizedMatmulJs(x, m, k, w, out);
      // Against the dequantized weights times the f32 x: 8-bit activation rounding only (~0.3 %
      // of a block's largest value per value, relative rms well under 1 %).
      const fromActivations = rel(out, matmulF64(x, m, k, dequantize(w).data as Float32Array, n));
      assert.ok(fromActivations < 0.01, `${dtype}: ${fromActivations} from the activations alone`);
      return rel(out, exact);
    });
    assert.ok(errors[0]! < errors[1]! && errors[1]! < errors[2]!, `relative errors Q6_K, Q5_0, Q4_0: ${errors.join(", ")}`);
  });

  test("a Q6_K weight whose rows are several super-blocks, one output row at a time, matches the whole product", () => {
    const w = quantizeTensor({ data: wf, shape: [n, k] }, "Q6_K");
    const all = new Float32Array(m * n);
    quantizedMatmulJs(x, m, k, w, all);
    const rowBytes = (k / 256) * 210;
    for (const r of [0, 7, n - 1]) {
      const one = new Float32Array(m);
      quantizedMatmulJs(x, m, k, { dtype: "Q6_K", shape: [1, k], data: w.data.subarray(r * rowBytes, (r + 1) * rowBytes) }, one);
      for (let i = 0; i < m; i++) assert.equal(one[i], all[i * n + r], `row ${r}, input ${i}`);
    }
  });
});
