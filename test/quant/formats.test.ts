// Q8_0, Q4_0, Q4_1, Q5_0, Q4_K, Q6_K: bytes identical to ggml's reference quantizers (ported to numpy
// in reference.py.ts), dequantization identical to ggml's and within each rule's error bound, and
// clear errors on bad input.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { runPython, skipUnlessNumpy } from "../formats/python.js";
import { REFERENCE_QUANTIZERS } from "./reference.py.js";
import { gaussian, testValues } from "./data.js";
import { dequantize, quantizeTensor } from "../../src/quant/quantize.js";
import { halfToFloat } from "../../src/tensor/half.js";
import { scaleMinK4 } from "../../src/quant/q4_k.js";
import { q6_KScale, q6_KSubScale } from "../../src/quant/q6_k.js";
import { dequantizeRow } from "../../src/quant/quantize.js";
import type { QuantDType } from "../../src/quant/types.js";

function reference(kind: string, x: Float32Array): Buffer {
  const header = Buffer.from(`${kind}\n`);
  return runPython(REFERENCE_QUANTIZERS, Buffer.concat([header, Buffer.from(x.buffer, x.byteOffset, x.byteLength)]));
}

/** Dequantized by the numpy port of ggml's dequantize_row_q4_1 / _q5_0 / _q6_K. */
function referenceDecode(kind: "dq4_1" | "dq5_0" | "dq6_k", bytes: Uint8Array): Float32Array {
  const out = runPython(REFERENCE_QUANTIZERS, Buffer.concat([Buffer.from(`${kind}\n`), Buffer.from(bytes)]));
  return new Float32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
}

/**
 * Super-blocks of 256 values that hit the edge cases of the k-quant scale search: random, all
 * zero, one huge value (most sub-block scales round to 0), constant, negative-dominated, large,
 * tiny (f16-subnormal scales), and zero sub-blocks between random ones.
 */
function edgeSuperBlocks(seed: number): Float32Array {
  const x = new Float32Array(8 * 256);
  const g = gaussian(8 * 256, seed, 0.05);
  const fill = (sb: number, f: (j: number) => number) => {
    for (let j = 0; j < 256; j++) x[256 * sb + j] = Math.fround(f(j));
  };
  fill(0, (j) => g[j]!);
  fill(1, () => 0);
  fill(2, (j) => (j === 37 ? 1000 : g[512 + j]! * 0.2));
  fill(3, () => 0.5);
  fill(4, (j) => (j === 200 ? -5 : g[1024 + j]! - 0.3));
  fill(5, (j) => g[1280 + j]! * 2000);
  fill(6, (j) => g[1536 + j]! * 1e-5);
  fill(7, (j) => (Math.floor(j / 16) % 2 === 0 ? 0 : g[1792 + j]!));
  return x;
}

/**
 * Blocks of 32 values for Q4_1's min / max rule: constant (zero, positive, negative), one huge
 * value of either sign among small ones, all negative, exact half-step ties on a grid of 15
 * steps, large and tiny magnitudes, and a block whose minimum is the last value. 16 blocks (two
 * rows of 256), the kinds in turn.
 */
function edgeBlocks(seed: number): Float32Array {
  const kinds: Array<(j: number, g: number) => number> = [
    () => 0,
    () => 0.5,
    () => -3,
    (j, g) => (j === 9 ? 1e4 : g * 0.01),
    (j, g) => (j === 20 ? -700 : g * 0.01),
    (j, g) => -0.2 - Math.abs(g),
    (j) => (j % 16) + (j < 16 ? 0.5 : 0), // x − min = k + ½ with d = 1: ties
    (j, g) => g * 1000,
    (j, g) => g * 1e-6,
    (j) => (j === 31 ? -1 : 0.25 * Math.sin(j)),
  ];
  const g = gaussian(16 * 32, seed);
  const x = new Float32Array(16 * 32);
  for (let b = 0; b < 16; b++) {
    const f = kinds[b % kinds.length]!;
    for (let j = 0; j < 32; j++) x[32 * b + j] = Math.fround(f(j, g[32 * b + j]!));
  }
  return x;
}

function firstDifference(a: Uint8Array, b: Uint8Array): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return `first difference at byte ${i}: ${a[i]} vs ${b[i]}`;
  return "equal";
}

const skip = skipUnlessNumpy();

describe("bytes identical to ggml's reference quantizers", () => {
  for (const [dtype, kind] of [
    ["Q8_0", "q8_0"],
    ["Q4_0", "q4_0"],
    ["Q4_1", "q4_1"],
    ["Q5_0", "q5_0"],
    ["Q4_K", "q4_k"],
    ["Q6_K", "q6_k"],
  ] as const) {
    test(`${dtype}`, { skip }, () => {
      const superBlocks = dtype === "Q4_K" || dtype === "Q6_K";
      let x = testValues(superBlocks ? 64 : 96, 7); // Q4_K / Q6_K: 8 super-blocks
      // Also a few Q4_K super-blocks with large and mixed magnitudes.
      if (dtype === "Q4_K")
        x.set(
          gaussian(512, 11, 3).map((v, i) => v + (i % 256 < 128 ? 2 : 0)),
          0,
        );
      // The new formats also get the edge-case super-blocks.
      if (dtype === "Q5_0" || dtype === "Q6_K" || dtype === "Q4_1") x = Float32Array.from([...x, ...edgeSuperBlocks(13)]);
      if (dtype === "Q4_1") x = Float32Array.from([...x, ...edgeBlocks(19), ...edgeBlocks(23)]);
      const q = quantizeTensor({ data: x, shape: [x.length / 256, 256] }, dtype);
      const ref = reference(kind, x);
      assert.equal(q.data.length, ref.length);
      assert.ok(Buffer.from(q.data).equals(ref), firstDifference(q.data, ref));
    });
  }
});

describe("dequantization identical to ggml's", () => {
  for (const [dtype, kind] of [
    ["Q4_1", "dq4_1"],
    ["Q5_0", "dq5_0"],
    ["Q6_K", "dq6_k"],
  ] as const) {
    test(`${dtype}`, { skip }, () => {
      const x = Float32Array.from([...testValues(64, 21), ...edgeSuperBlocks(17)]);
      const q = quantizeTensor({ data: x, shape: [x.length / 256, 256] }, dtype);
      const ours = dequantize(q).data as Float32Array;
      const ref = referenceDecode(kind, q.data);
      assert.equal(ref.length, ours.length);
      for (let i = 0; i < ours.length; i++)
        assert.ok(Object.is(ours[i], ref[i]) || ours[i] === ref[i], `value ${i}: ${ours[i]} vs ${ref[i]}`);
    });
  }

  test("dequantizeRow decodes one row like dequantize (an embedding lookup)", () => {
    const x = gaussian(6 * 512, 4, 0.1);
    for (const dtype of ["Q4_1", "Q5_0", "Q6_K"] as const) {
      const q = quantizeTensor({ data: x, shape: [6, 512] }, dtype);
      const all = dequantize(q).data as Float32Array;
      const row = new Float32Array(512);
      for (const r of [0, 3, 5]) {
        dequantizeRow(q, 6, 512, r, row);
        assert.deepEqual(row, all.subarray(512 * r, 512 * (r + 1)), `${dtype} row ${r}`);
      }
    }
  });

  test("Q5_0: quantizing the dequantized values gives the same bytes (its grid is a fixed point)", () => {
    const q = quantizeTensor({ data: testValues(64, 8), shape: [8, 256] }, "Q5_0");
    const again = quantizeTensor({ data: dequantize(q).data as Float32Array, shape: [8, 256] }, "Q5_0");
    assert.ok(Buffer.from(again.data).equals(Buffer.from(q.data)), firstDifference(again.data, q.data));
  });
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
    const y0 = y.subarray(0, 32),
      x0 = x.subarray(0, 32);
    const i = x0.reduce((best, v, j) => (Math.abs(v) > Math.abs(x0[best]!) ? j : best), 0);
    assert.ok(Math.abs(x0[i]! - y0[i]!) <= Math.abs(x0[i]!) * 2 ** -10);
  });

  test("Q5_0: |x − x̂| ≤ |d|/2 inside the code range, ≤ |d| at the clamped code 31; half Q4_0's error", () => {
    const q = quantizeTensor({ data: x, shape: [8, 256] }, "Q5_0");
    const y = dequantize(q).data as Float32Array;
    for (let b = 0; b < x.length / 32; b++) {
      const dSigned = halfToFloat(q.data[22 * b]! | (q.data[22 * b + 1]! << 8)),
        d = Math.abs(dSigned);
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * b + j]!));
      const f16Slack = 16 * Math.abs(d - amax / 16) + 1e-12;
      for (let j = 0; j < 32; j++) {
        const v = x[32 * b + j]!,
          err = Math.abs(v - y[32 * b + j]!);
        // Code 31 is the top one: values at 15.5 steps or more (on the side opposite the largest) clamp to it.
        const clamped = dSigned !== 0 && v / dSigned >= 15.5;
        assert.ok(err <= (clamped ? d : d / 2) + f16Slack, `block ${b} value ${j}: error ${err}, d ${d}`);
      }
    }
    const xs = gaussian(16 * 256, 9, 0.1);
    const err = (dt: QuantDType) => {
      const yy = dequantize(quantizeTensor({ data: xs, shape: [16, 256] }, dt)).data as Float32Array;
      return xs.reduce((s, v, i) => s + (v - yy[i]!) ** 2, 0);
    };
    assert.ok(err("Q5_0") < 0.35 * err("Q4_0"), `Q5_0 ${err("Q5_0")} vs Q4_0 ${err("Q4_0")}`); // half the step: ~1/4 the squared error
  });

  test("Q4_1: |x − x̂| ≤ d/2 + the f16 rounding of d and m, per block, edge blocks included", () => {
    const xs = Float32Array.from([...x, ...edgeBlocks(29)]);
    const q = quantizeTensor({ data: xs, shape: [xs.length / 256, 256] }, "Q4_1");
    const y = dequantize(q).data as Float32Array;
    for (let b = 0; b < xs.length / 32; b++) {
      const block = xs.subarray(32 * b, 32 * b + 32);
      const min = Math.min(...block),
        max = Math.max(...block);
      const d = Math.fround((max - min) / 15); // the unrounded step
      const dh = halfToFloat(q.data[20 * b]! | (q.data[20 * b + 1]! << 8));
      const mh = halfToFloat(q.data[20 * b + 2]! | (q.data[20 * b + 3]! << 8));
      // Half a step from rounding, up to 15 times the f16 error of d, the f16 error of m, and float slack.
      const bound = d / 2 + 15 * Math.abs(d - dh) + Math.abs(min - mh) + 1e-5 * d + 1e-6 * Math.max(Math.abs(min), Math.abs(max)) + 1e-12;
      for (let j = 0; j < 32; j++) {
        const err = Math.abs(block[j]! - y[32 * b + j]!);
        assert.ok(err <= bound, `block ${b} value ${j}: ${block[j]} → ${y[32 * b + j]}, error ${err} > ${bound}`);
      }
      if (max === min) for (let j = 0; j < 32; j++) assert.equal(y[32 * b + j], mh, `constant block ${b} decodes to its f16 minimum`);
    }
  });

  test("Q4_1 beats Q4_0 where a block's values are skewed or one-signed (the reason for the minimum)", () => {
    const xs = gaussian(16 * 256, 9, 0.1).map((v, i) => (Math.floor(i / 32) % 2 === 0 ? v + 0.15 : Math.abs(v)));
    const err = (dt: QuantDType) => {
      const yy = dequantize(quantizeTensor({ data: xs, shape: [16, 256] }, dt)).data as Float32Array;
      return xs.reduce((s, v, i) => s + (v - yy[i]!) ** 2, 0);
    };
    assert.ok(err("Q4_1") < 0.5 * err("Q4_0"), `Q4_1 ${err("Q4_1")} vs Q4_0 ${err("Q4_0")}`);
  });

  test("Q6_K: |x − x̂| ≤ |d·sc|/2 inside each sub-block's code range; 6 bits beat Q4_K", () => {
    const xk = Float32Array.from([...gaussian(8 * 256, 5, 0.1), ...edgeSuperBlocks(3)]);
    const q = quantizeTensor({ data: xk, shape: [16, 256] }, "Q6_K");
    const y = dequantize(q).data as Float32Array;
    for (let sb = 0; sb < 16; sb++) {
      const o = 210 * sb,
        d = q6_KScale(q.data, o);
      for (let i = 0; i < 16; i++) {
        const step = Math.abs(d * q6_KSubScale(q.data, o, i));
        // Codes −32 … 31 times d·sc: the range is one step shorter on one side.
        const lo = Math.min(-32 * d * q6_KSubScale(q.data, o, i), 31 * d * q6_KSubScale(q.data, o, i));
        const hi = Math.max(-32 * d * q6_KSubScale(q.data, o, i), 31 * d * q6_KSubScale(q.data, o, i));
        for (let j = 0; j < 16; j++) {
          const k = 256 * sb + 16 * i + j,
            v = xk[k]!;
          if (step === 0) {
            // A scale that rounds to 0 against the super-block's largest (|scale| < |d|/2, values
            // within ~33 scales), or a d below f16's range (|d| < 2^-25, stored as 0): tiny values.
            assert.ok(y[k] === 0, `decoded ${y[k]}`);
            const bound = 20 * Math.abs(d) + 33 * 128 * 2 ** -25;
            assert.ok(Math.abs(v) <= bound, `super-block ${sb} sub-block ${i}: ${v} with a zero scale (d ${d})`);
            continue;
          }
          const outside = Math.max(0, lo - v, v - hi);
          assert.ok(Math.abs(v - y[k]!) <= step / 2 + outside + step * 1e-6, `super-block ${sb} sub-block ${i} value ${j}`);
        }
      }
    }
    const xs = gaussian(16 * 256, 9, 0.1);
    const err = (dt: QuantDType) => {
      const yy = dequantize(quantizeTensor({ data: xs, shape: [16, 256] }, dt)).data as Float32Array;
      return xs.reduce((s, v, i) => s + (v - yy[i]!) ** 2, 0);
    };
    const sx = xs.reduce((s, v) => s + v * v, 0);
    assert.ok(err("Q6_K") < 0.25 * err("Q4_K"), `Q6_K ${err("Q6_K")} vs Q4_K ${err("Q4_K")}`);
    assert.ok(err("Q6_K") / sx < 1e-3, `relative squared error ${err("Q6_K") / sx}`);
  });

  test("Q4_K: |x − x̂| ≤ (d·sc)/2 + rounding slack within each sub-block's range", () => {
    const xk = gaussian(8 * 256, 5, 0.1);
    const q = quantizeTensor({ data: xk, shape: [8, 256] }, "Q4_K");
    const y = dequantize(q).data as Float32Array;
    let se = 0,
      sx = 0;
    for (let sb = 0; sb < 8; sb++) {
      const o = 144 * sb;
      const d = halfToFloat(q.data[o]! | (q.data[o + 1]! << 8)),
        dmin = halfToFloat(q.data[o + 2]! | (q.data[o + 3]! << 8));
      for (let j = 0; j < 8; j++) {
        const [sc, m] = scaleMinK4(j, q.data, o + 4);
        const step = d * sc,
          lo = -dmin * m,
          hi = lo + 15 * step;
        for (let l = 0; l < 32; l++) {
          const i = 256 * sb + 32 * j + l,
            v = xk[i]!;
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
    assert.throws(
      () => quantizeTensor({ data: new Float32Array(3 * 172), shape: [3, 172] }, "Q8_0", "w_down"),
      /w_down: rows of 172 values cannot be stored as Q8_0/,
    );
    assert.throws(() => quantizeTensor({ data: new Float32Array(64), shape: [1, 64] }, "Q4_K", "w"), /multiple of 256/);
    assert.throws(() => quantizeTensor({ data: new Float32Array(64), shape: [1, 64] }, "Q6_K", "w"), /multiple of 256/);
    assert.throws(() => quantizeTensor({ data: new Float32Array(48), shape: [1, 48] }, "Q5_0", "w"), /multiple of 32/);
    assert.throws(
      () => quantizeTensor({ data: new Float32Array(48), shape: [1, 48] }, "Q4_1", "w"),
      /w: rows of 48 values cannot be stored as Q4_1 \(the row length must be a multiple of 32\)/,
    );
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
