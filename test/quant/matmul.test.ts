// The quantized matmul: the js reference against float math on the dequantized operands, and
// the native kernels (every SIMD level this CPU has) against the js reference.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { gaussian } from "./data.js";
import { dequantize, quantizeTensor } from "../../src/quant/quantize.js";
import { quantizeActivations } from "../../src/quant/activations.js";
import { quantizedMatmulJs } from "../../src/quant/matmul.js";
import {
  hasNativeQuantKernels,
  matmulGroupedNative,
  quantizedMatmulNative,
  quantSimdLevels,
  setQuantSimdLevel,
} from "../../src/quant/kernels.js";
import {
  GROUP_ROWS,
  type GroupedDType,
  type GroupedLayout,
  matmulGroupedJs,
  packRowGroups,
  unpackGroupedRow,
} from "../../src/quant/row_groups.js";
import { getNumThreads, setNumThreads } from "../../src/backend/native.js";
import { getBackend, setBackend } from "../../src/backend/index.js";
import { quantEmbedding, quantLinear, type QuantMatrix } from "../../src/generate/quant_linear.js";
import { QUANT_DTYPES, type QuantDType, type QuantizedTensor, BLOCK, rowBytes } from "../../src/quant/types.js";
import { Generator } from "../../src/tensor/random.js";

const m = 3,
  n = 24;
const kOf = (dt: QuantDType) => (dt === "Q4_K" ? 512 : dt === "Q6_K" ? 768 : 96);

function setup(dt: QuantDType) {
  const k = kOf(dt);
  const x = gaussian(m * k, 1, 1.5);
  x[5] = 0; // include an all-zero activation block
  x.fill(0, k, k + 32);
  // A block of exact ties (scale 127 / 127 = 1, values k + 0.5): the codes round to nearest even.
  for (let j = 0; j < 32; j++) x[2 * k + j] = j === 0 ? 127 : j - 16 + 0.5;
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
        const js = new Float32Array(m * n),
          nat = new Float32Array(m * n);
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
    const k = 512,
      rows = 256;
    const x = gaussian(2 * k, 3);
    for (const dt of QUANT_DTYPES) {
      const w = quantizeTensor({ data: gaussian(rows * k, 4, 0.1), shape: [rows, k] }, dt);
      const js = new Float32Array(2 * rows),
        nat = new Float32Array(2 * rows);
      quantizedMatmulJs(x, 2, k, w, js);
      quantizedMatmulNative(x, 2, k, w, nat);
      assertClose(nat, js, 1e-5, `${dt} threaded`);
    }
  });
  // Q5_0, Q6_K and Q4_1 on more shapes, and on random bytes (every code and scale bit pattern,
  // which the quantizer may never produce) with small valid f16 block scales (and minimums).
  for (const dt of ["Q5_0", "Q6_K", "Q4_1"] as const) {
    const shapes: Array<[m: number, n: number, k: number]> = [
      [1, 1, 256],
      [1, 37, 768],
      [2, 15, 512],
      [5, 19, 256],
      [1, 16, 768],
    ];
    test(`${dt}: every SIMD level matches the js reference on odd shapes and random bytes`, () => {
      for (const [mm, nn, k] of shapes) {
        for (const source of ["quantized", "random bytes"]) {
          const x = gaussian(mm * k, 31 + nn, 1.7);
          x.fill(0, 0, 32);
          const w =
            source === "quantized"
              ? quantizeTensor({ data: gaussian(nn * k, 32 + nn, 0.1), shape: [nn, k] }, dt)
              : randomBlocks(dt, nn, k, 33 + nn);
          const js = new Float32Array(mm * nn);
          quantizedMatmulJs(x, mm, k, w, js);
          for (const level of quantSimdLevels()) {
            const nat = new Float32Array(mm * nn).fill(NaN);
            setQuantSimdLevel(level);
            try {
              quantizedMatmulNative(x, mm, k, w, nat);
            } finally {
              setQuantSimdLevel(quantSimdLevels()[0]!);
            }
            assertClose(nat, js, 1e-5, `${dt} ${source} ${level} [${mm}, ${nn}, ${k}]`);
          }
        }
      }
    });
  }
  test("a weight with the wrong byte length is refused before the kernel runs", () => {
    const { k, x, w } = setup("Q8_0");
    assert.throws(() => quantizedMatmulNative(x, m, k, { ...w, data: w.data.subarray(1) }, new Float32Array(m * n)), /needs|bytes/);
  });
});

/** A [rows, cols] matrix of random bytes whose f16 scale (and Q4_1 minimum) fields hold small normal numbers. */
function randomBlocks(dt: "Q8_0" | "Q5_0" | "Q6_K" | "Q4_1", rows: number, cols: number, seed: number): QuantizedTensor {
  const g = new Generator(seed);
  const { values, bytes } = BLOCK[dt];
  const data = Uint8Array.from({ length: rows * (cols / values) * bytes }, () => g.randint(0, 256));
  const halves = dt === "Q5_0" || dt === "Q8_0" ? [0] : dt === "Q4_1" ? [0, 2] : [208]; // where the f16 d (and m) of a block lie
  for (let o = 0; o < data.length; o += bytes) {
    for (const at of halves) {
      data[o + at] = g.randint(0, 256); // mantissa bits
      data[o + at + 1] = 0x20 + g.randint(0, 8) + (g.randint(0, 2) === 1 ? 0x80 : 0); // exponent 8..9 (≈ 2⁻⁷), either sign
    }
  }
  return { dtype: dt, shape: [rows, cols], data };
}

// The row-grouped layouts (q8_0x16, q5_0x16, q4_0x16, q4_1x16, q4_kx16, q6_kx16): rows interleaved 16 at a
// time, the rows % 16 last rows plain. Row counts below, at and above the group size and with
// tails, and row lengths of an odd number of blocks; the plain js matmul is the reference.
const GROUPED: Array<{ dt: GroupedDType; layout: GroupedLayout; shapes: Array<[m: number, n: number, k: number]> }> = [
  {
    dt: "Q8_0",
    layout: "q8_0x16",
    shapes: [
      [1, 5, 64],
      [3, 16, 96],
      [1, 37, 64],
      [2, 50, 160],
      [1, 16 * 9 + 7, 256],
      [4, 33, 32],
    ],
  },
  {
    dt: "Q5_0",
    layout: "q5_0x16",
    shapes: [
      [1, 5, 64],
      [3, 16, 96],
      [1, 37, 64],
      [2, 50, 160],
      [1, 16 * 9 + 7, 256],
      [4, 33, 32],
    ],
  },
  {
    dt: "Q4_0",
    layout: "q4_0x16",
    shapes: [
      [1, 5, 64],
      [3, 16, 96],
      [1, 37, 64],
      [2, 50, 160],
      [1, 16 * 9 + 7, 256],
    ],
  },
  {
    dt: "Q4_1",
    layout: "q4_1x16",
    shapes: [
      [1, 5, 64],
      [3, 16, 96],
      [1, 37, 64],
      [2, 50, 160],
      [1, 16 * 9 + 7, 256],
      [4, 33, 32],
    ],
  },
  {
    dt: "Q4_K",
    layout: "q4_kx16",
    shapes: [
      [1, 5, 256],
      [2, 16, 512],
      [1, 37, 256],
      [3, 33, 768],
    ],
  },
  {
    dt: "Q6_K",
    layout: "q6_kx16",
    shapes: [
      [1, 5, 256],
      [2, 16, 512],
      [1, 37, 256],
      [3, 33, 768],
      [1, 16 * 3 + 7, 768],
    ],
  },
];

function groupedCase(dt: GroupedDType, m: number, n: number, k: number) {
  const x = gaussian(m * k, 11 + n, 1.3);
  x.fill(0, 0, 32); // an all-zero activation block
  const w = quantizeTensor({ data: gaussian(n * k, 12 + n, 0.1).map((v, i) => (i % 5 === 0 ? v + 0.03 : v)), shape: [n, k] }, dt);
  const ref = new Float32Array(m * n);
  quantizedMatmulJs(x, m, k, w, ref);
  return { x, w, ref, packed: packRowGroups(dt, w.data, n, k) };
}

describe("row-grouped layouts (js)", () => {
  for (const { dt, layout, shapes } of GROUPED) {
    test(`${layout}: packing keeps the byte count and every row unpacks to the plain row`, () => {
      for (const [, n, k] of shapes) {
        const { w, packed } = groupedCase(dt, 1, n, k);
        assert.equal(packed.length, w.data.length);
        const rb = rowBytes(dt, k),
          row = new Uint8Array(rb);
        for (let r = 0; r < n; r++) {
          unpackGroupedRow(dt, packed, n, k, r, row);
          assert.deepEqual(row, w.data.subarray(r * rb, (r + 1) * rb), `row ${r} of [${n}, ${k}]`);
        }
        if (n >= GROUP_ROWS) assert.notDeepEqual(packed, w.data);
      }
    });
    test(`${layout}: the js fallback equals the plain js matmul`, () => {
      for (const [m, n, k] of shapes) {
        const { x, ref, packed } = groupedCase(dt, m, n, k);
        const out = new Float32Array(m * n);
        matmulGroupedJs(dt, x, m, k, packed, n, out);
        assert.deepEqual(out, ref, `[${m}, ${n}, ${k}]`);
      }
    });
    test(`${layout}: an embedding lookup in a packed table decodes the plain rows`, () => {
      const [, n, k] = shapes[2]!;
      const { w, packed } = groupedCase(dt, 1, n, k);
      const ids = Int32Array.from([0, 15, 16, 31, n - 1]);
      const plain: QuantMatrix = { dtype: dt, data: w.data, shape: [n, k], rows: n, cols: k };
      const a = new Float32Array(ids.length * k),
        b = new Float32Array(ids.length * k);
      quantEmbedding(plain, ids, a);
      quantEmbedding({ ...plain, data: packed, layout }, ids, b);
      assert.deepEqual(b, a);
    });
  }
  test("a packed buffer of the wrong size is refused", () => {
    assert.throws(() => packRowGroups("Q4_0", new Uint8Array(35), 2, 32), /bytes/);
    assert.throws(() => matmulGroupedJs("Q4_K", new Float32Array(256), 1, 256, new Uint8Array(144), 2, new Float32Array(2)), /bytes/);
  });
});

describe("native row-grouped kernels", { skip: hasNativeQuantKernels() ? false : "native quantized kernels not built" }, () => {
  for (const level of hasNativeQuantKernels() ? quantSimdLevels() : []) {
    for (const threads of [1, 2]) {
      test(`${level}, ${threads} thread(s): every grouped layout matches the plain js reference on odd shapes`, () => {
        const before = getNumThreads();
        setQuantSimdLevel(level);
        setNumThreads(threads);
        try {
          for (const { dt, layout, shapes } of GROUPED) {
            for (const [m, n, k] of shapes) {
              const { x, ref, packed } = groupedCase(dt, m, n, k);
              const out = new Float32Array(m * n).fill(NaN);
              matmulGroupedNative(layout, x, m, k, packed, n, out);
              assertClose(out, ref, 1e-5, `${layout} ${level} [${m}, ${n}, ${k}]`);
            }
          }
        } finally {
          setQuantSimdLevel(quantSimdLevels()[0]!);
          setNumThreads(before);
        }
      });
    }
  }
  // Every code and fifth-bit pattern (Q8_0's -128 included, which the quantizer never writes).
  test("q8_0x16 and q5_0x16 on random bytes: every SIMD level matches the plain js reference", () => {
    for (const dt of ["Q8_0", "Q5_0"] as const) {
      for (const [mm, nn, k] of [
        [1, 37, 96],
        [2, 16, 160],
        [3, 50, 256],
      ] as Array<[number, number, number]>) {
        const x = gaussian(mm * k, 41 + nn, 1.7);
        const w = randomBlocks(dt, nn, k, 42 + nn);
        const ref = new Float32Array(mm * nn);
        quantizedMatmulJs(x, mm, k, w, ref);
        const packed = packRowGroups(dt, w.data, nn, k);
        const layout = dt === "Q8_0" ? "q8_0x16" : "q5_0x16";
        const js = new Float32Array(mm * nn);
        matmulGroupedJs(dt, x, mm, k, packed, nn, js);
        assert.deepEqual(js, ref, `${layout} js fallback [${mm}, ${nn}, ${k}]`);
        for (const level of quantSimdLevels()) {
          const out = new Float32Array(mm * nn).fill(NaN);
          setQuantSimdLevel(level);
          try {
            matmulGroupedNative(layout, x, mm, k, packed, nn, out);
          } finally {
            setQuantSimdLevel(quantSimdLevels()[0]!);
          }
          assertClose(out, ref, 1e-5, `${layout} random bytes ${level} [${mm}, ${nn}, ${k}]`);
        }
      }
    }
  });
  test("quantLinear packs a matrix with a grouped layout on first use; the packed matrix still works on the js backend", () => {
    const previous = getBackend().name;
    try {
      for (const { dt, layout, shapes } of GROUPED) {
        const [m, n, k] = shapes[2]!;
        const { x, w, ref } = groupedCase(dt, m, n, k);
        const matrix: QuantMatrix = { dtype: dt, data: w.data, shape: [n, k], rows: n, cols: k };
        const out = new Float32Array(m * n);
        setBackend("native");
        quantLinear(x, m, matrix, out);
        assert.equal(matrix.layout, layout);
        assert.notEqual(matrix.data, w.data);
        assertClose(out, ref, 1e-5, `${layout} native`);
        setBackend("js");
        quantLinear(x, m, matrix, out.fill(NaN));
        assert.deepEqual(out, ref, `${layout} js fallback`);
      }
    } finally {
      setBackend(previous);
    }
  });
  test("a packed weight with the wrong byte length is refused", () => {
    const { x, packed } = groupedCase("Q4_0", 1, 37, 64);
    assert.throws(() => matmulGroupedNative("q4_0x16", x, 1, 64, packed.subarray(1), 37, new Float32Array(37)), /bytes/);
  });
});

test("native kernels check their arguments and name what is wrong", {
  skip: hasNativeQuantKernels() ? false : "native quantized kernels not built",
}, () => {
  const x = new Float32Array(64),
    out = new Float32Array(2);
  assert.throws(
    () => matmulGroupedNative("q8_0x16", x, 1, 64, new Uint8Array(2 * 68 - 1), 2, out),
    /quantMatmul\(Q8_0, grouped16\).*w has 135 bytes, expected 136/,
  );
  assert.throws(() => matmulGroupedNative("q4_kx16", x, 1, 64, new Uint8Array(0), 2, out), /k = 64 is not a positive multiple of 256/);
  assert.throws(() => matmulGroupedNative("q8_0x16", x, 2, 64, new Uint8Array(2 * 68), 2, out), /x has 64 elements/);
  assert.throws(() => matmulGroupedNative("q8_0x16", x, 1, 64, new Uint8Array(2 * 68), 2, new Float32Array(1)), /out has 1 elements/);
  matmulGroupedNative("q8_0x16", x, 1, 64, new Uint8Array(2 * 68), 2, out); // valid: zero weights
  assert.deepEqual([...out], [0, 0]);
});
