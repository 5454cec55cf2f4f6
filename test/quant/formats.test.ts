// Q8_0, Q4_0, Q4_K: bytes identical to ggml's reference quantizers (ported to numpy in
// reference.py.ts), dequantization error within each rule's bound, and clear errors on bad input.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { runPython, skipUnlessNumpy } from "../formats/python.js";
import { REFERENCE_QUANTIZERS } from "./reference.py.js";
import { gaussian, testValues } from "./data.js";
import { dequantize, quantizeTensor } from "../../src/quant/quantize.js";
import { halfToFloat } from "../../src/tensor/half.js";
import { scaleMinK4 } from "../../src/quant/q4_k.js";
import type { QuantDType } from "../../src/quant/types.js";

function reference(kind: string, x: Float32Array): Buffer {
  const header = Buffer.from(`${kind}\n`);
  return runPython(REFERENCE_QUANTIZERS, Buffer.concat([header, Buffer.from(x.buffer, x.byteOffset, x.byteLength)]));
}

function firstDifference(a: Uint8Array, b: Uint8Array): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return `first difference at byte ${i}: ${a[i]} vs ${b[i]}`;
  return "equal";
}

const skip = skipUnlessNumpy();

describe("bytes identical to ggml's reference quantizers", () => {
  for (const [dtype, kind] of [["Q8_0", "q8_0"], ["Q4_0", "q4_0"], ["Q4_K", "q4_k"]] as const) {
    test(`${dtype}`, { skip }, () => {
      const x = testValues(dtype === "Q4_K" ? 64 : 96, 7); // Q4_K: 8 super-blocks
      // Also a few Q4_K super-blocks with large and mixed magnitudes.
      if (dtype === "Q4_K") x.set(gaussian(512, 11, 3).map((v, i) => v + (i % 256 < 128 ? 2 : 0)), 0);
      const q = quantizeTensor({ data: x, shape: [x.length / 256, 256] }, dtype);
      const ref = reference(kind, x);
      assert.equal(q.data.length, ref.length);
      assert.ok(Buffer.from(q.data).equals(ref), firstDifference(q.data, ref));
    });
  }
});

describe("dequantization error bounds", () => {
  const x = testValues(64, 3);
  test("Q8_0: |x − x̂| ≤ d/2 per block (d = the stored f16 scale)", () => {
    const q = quantizeTensor({ data: x, shape: [8, 256] }, "Q8_0");
    const y = dequantize(q).data as Float32Array;
    for (let b = 0; b < x.length / 32; b++) {
      const d = halfToFloat(q.data[34 * b]! | (q.data[34 * b + 1]! << 8));
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * b + j]!));
      // d/2 for rounding, plus 127·|d − amax/127| from storing d in f16.
      const bound = d / 2 + 127 * Math.abs(d - amax / 127) + 1e-12;
      for (let j = 0; j < 32; j++) assert.ok(Math.abs(x[32 * b + j]! - y[32 * b + j]!) <= bound, `block ${b} value ${j}`);
    }
  });

  test("Q4_0: |x − x̂| ≤ |d|/2 inside the code range, ≤ |d| at the clamped code 15", () => {
    const q = quantizeTensor({ data: x, shape: [8, 256] }, "Q4_0");
    const y = dequantize(q).data as Float32Array;
    for (let b = 0; b < x.length / 32; b++) {
      const d = Math.abs(halfToFloat(q.data[18 * b]! | (q.data[18 * b + 1]! << 8)));
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * b + j]!));
      const f16Slack = 8 * Math.abs(d - amax / 8) + 1e-12;
      for (let j = 0; j < 32; j++) assert.ok(Math.abs(x[32 * b + j]! - y[32 * b + j]!) <= d + f16Slack, `block ${b} value ${j}`);
    }
    // The value of largest magnitude is exact up to the f16 rounding of d (it maps to code 0).
    const y0 = y.subarray(0, 32), x0 = x.subarray(0, 32);
    const i = x0.reduce((best, v, j) => (Math.abs(v) > Math.abs(x0[best]!) ? j : best), 0);
    assert.ok(Math.abs(x0[i]! - y0[i]!) <= Math.abs(x0[i]!) * 2 ** -10);
  });

  test("Q4_K: |x − x̂| ≤ (d·sc)/2 + rounding slack within each sub-block's range", () => {
    const xk = gaussian(8 * 256, 5, 0.1);
    const q = quantizeTensor({ data: xk, shape: [8, 256] }, "Q4_K");
    const y = dequantize(q).data as Float32Array;
    let se = 0, sx = 0;
    for (let sb = 0; sb < 8; sb++) {
      const o = 144 * sb;
      const d = halfToFloat(q.data[o]! | (q.data[o + 1]! << 8)), dmin = halfToFloat(q.data[o + 2]! | (q.data[o + 3]! << 8));
      for (let j = 0; j < 8; j++) {
        const [sc, m] = scaleMinK4(j, q.data, o + 4);
        const step = d * sc, lo = -dmin * m, hi = lo + 15 * step;
        for (let l = 0; l < 32; l++) {
          const i = 256 * sb + 32 * j + l, v = xk[i]!;
          // Inside [lo, hi] the nearest code is at most half a step away; outside, the end code.
          const outside = Math.max(0, lo - v, v - hi);
          assert.ok(Math.abs(v - y[i]!) <= step / 2 + outside + 1e-6, `super-block ${sb} sub-block ${j} value ${l}`);
          se += (v - y[i]!) ** 2;
          sx += v * v;
        }
      }
    }
    assert.ok(se / sx < 0.01, `relative squared error ${se / sx}`); // 4 bits with a min: ~0.3 %
  });

  test("Q4_K is more accurate than Q4_0 on skewed weights (the reason to have a min)", () => {
    const xs = gaussian(16 * 256, 9, 0.1).map((v) => v + 0.15);
    const err = (dt: QuantDType) => {
      const y = dequantize(quantizeTensor({ data: xs, shape: [16, 256] }, dt)).data as Float32Array;
      return xs.reduce((s, v, i) => s + (v - y[i]!) ** 2, 0);
    };
    assert.ok(err("Q4_K") < 0.5 * err("Q4_0"), `Q4_K ${err("Q4_K")} vs Q4_0 ${err("Q4_0")}`);
  });

  test("Q8_ROW: |x − x̂| ≤ scale/2 per row", () => {
    const q = quantizeTensor({ data: x, shape: [16, 128] }, "Q8_ROW");
    const y = dequantize(q).data as Float32Array;
    const scales = new DataView(q.data.buffer, 16 * 128);
    for (let r = 0; r < 16; r++) {
      const s = scales.getFloat32(4 * r, true);
      for (let c = 0; c < 128; c++) assert.ok(Math.abs(x[r * 128 + c]! - y[r * 128 + c]!) <= s * (0.5 + 1e-5), `row ${r} col ${c}`);
    }
  });
});

describe("bad input", () => {
  test("a row length that is not a multiple of the block is refused with the tensor's name", () => {
    assert.throws(() => quantizeTensor({ data: new Float32Array(3 * 172), shape: [3, 172] }, "Q8_0", "w_down"), /w_down: rows of 172 values cannot be stored as Q8_0/);
    assert.throws(() => quantizeTensor({ data: new Float32Array(64), shape: [1, 64] }, "Q4_K", "w"), /multiple of 256/);
  });
  test("non-finite values are refused", () => {
    const x = new Float32Array(32);
    x[5] = NaN;
    assert.throws(() => quantizeTensor({ data: x, shape: [1, 32] }, "Q4_0", "w"), /w: value NaN at index 5/);
  });
  test("dequantize checks the byte length against the shape", () => {
    assert.throws(() => dequantize({ dtype: "Q8_0", shape: [2, 32], data: new Uint8Array(34) }), /needs 68 bytes/);
  });
  test("F16 and BF16 stored tensors are accepted as input", () => {
    const x = gaussian(64, 1);
    const a = quantizeTensor({ dtype: "F32", shape: [2, 32], data: x }, "Q8_0");
    assert.equal(a.data.length, 68);
  });
});
