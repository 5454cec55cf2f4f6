// Backend.quantMatmul: the native kernels against the js reference for every quantized dtype,
// in the plain ("rows") and 16-row grouped ("grouped16") layouts, on every SIMD level and on 1
// and 2 threads, with shapes that leave tails (n not a multiple of 16, several rows of x); the
// SIMD level of the quantized kernels follows the addon's one dispatch (setSimdLevel and
// TSGPT_SIMD); bad arguments throw the same errors on both backends.
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Backend, QuantDType, QuantLayout } from "../../src/backend/backend.js";
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
import { QUANT_DTYPES } from "../../src/backend/quant_blocks.js";
import { GROUP_ROWS, type GroupedDType, groupedLayoutOf, packRowGroups } from "../../src/backend/quant_row_groups.js";
import { quantizeTensor } from "../../src/quant/quantize.js";
import { setQuantSimdLevel } from "../../src/quant/kernels.js";
import { rng } from "../helpers/random.js";

const native = loadNativeBackend();
const skip = native ? false : `native addon not built: ${nativeUnavailableReason()}`;
const rand = rng(2468);

function randomF32(n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rand() * scale;
  return a;
}

/** A quantized [n, k] weight in `layout`. */
function weight(dtype: QuantDType, layout: QuantLayout, n: number, k: number): Uint8Array {
  const q = quantizeTensor({ data: randomF32(n * k, 0.1), shape: [n, k] }, dtype);
  return layout === "rows" ? q.data : packRowGroups(dtype as GroupedDType, q.data, n, k);
}

const layoutsOf = (dtype: QuantDType): QuantLayout[] => (groupedLayoutOf(dtype) ? ["rows", "grouped16"] : ["rows"]);
const kOf = (dtype: QuantDType): number => (dtype === "Q4_K" || dtype === "Q6_K" ? 512 : 96);

function product(
  be: Backend,
  dtype: QuantDType,
  layout: QuantLayout,
  x: Float32Array,
  m: number,
  k: number,
  w: Uint8Array,
  n: number,
): Float32Array {
  const out = new Float32Array(m * n).fill(Number.NaN);
  be.quantMatmul(dtype, layout, x, m, k, w, n, out);
  return out;
}

/** |native − js| ≤ 1e-5 · max |js|: the same integer sums, float additions in another order. */
function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i]! - expected[i]!) <= 1e-5 * scale))
      assert.fail(`${what}: element ${i}: native ${actual[i]}, js ${expected[i]}`);
  }
}

describe("Backend.quantMatmul", () => {
  test("js: the grouped16 layout gives exactly the rows layout's numbers", () => {
    for (const dtype of QUANT_DTYPES.filter((d) => groupedLayoutOf(d))) {
      const k = kOf(dtype),
        n = 2 * GROUP_ROWS + 5,
        m = 2;
      const q = quantizeTensor({ data: randomF32(n * k, 0.1), shape: [n, k] }, dtype);
      const x = randomF32(m * k);
      const rows = product(jsBackend, dtype, "rows", x, m, k, q.data, n);
      const grouped = product(jsBackend, dtype, "grouped16", x, m, k, packRowGroups(dtype as GroupedDType, q.data, n, k), n);
      assert.deepEqual(grouped, rows, dtype);
    }
  });

  describe("native against js", { skip }, () => {
    const threads0 = native ? getNumThreads() : 1;
    const level0 = native ? cpuFeatures() : "";
    after(() => {
      if (!native) return;
      setSimdLevel(level0);
      setNumThreads(threads0);
    });
    for (const dtype of QUANT_DTYPES) {
      for (const layout of layoutsOf(dtype)) {
        test(`${dtype} ${layout}: every SIMD level, 1 and 2 threads, tails`, () => {
          const k = kOf(dtype);
          // n: below one group, one group and a tail, many groups (split over threads).
          for (const [m, n] of [
            [1, 7],
            [3, GROUP_ROWS + 3],
            [2, 8 * GROUP_ROWS + 1],
          ] as const) {
            const w = weight(dtype, layout, n, k),
              x = randomF32(m * k);
            const expected = product(jsBackend, dtype, layout, x, m, k, w, n);
            for (const level of availableSimdLevels()) {
              setSimdLevel(level);
              for (const threads of [1, 2]) {
                setNumThreads(threads);
                assertClose(
                  product(native!, dtype, layout, x, m, k, w, n),
                  expected,
                  `${dtype} ${layout} ${level}/${threads}t m=${m} n=${n}`,
                );
              }
            }
          }
        });
      }
    }

    test("the quantized kernels follow setSimdLevel: avx512 → VNNI (when the CPU has it), avx2 → AVX2, generic → scalar", () => {
      const names: Record<string, RegExp> = {
        avx512: /^native\/(avx512vnni|avx2)$/,
        avx2: /^native\/(avx2|scalar)$/,
        generic: /^native\/scalar$/,
      };
      for (const level of availableSimdLevels()) {
        setSimdLevel(level);
        assert.match(native!.quantKernelName(), names[level]!, level);
      }
      setSimdLevel(level0);
    });

    test("the deprecated setQuantSimdLevel still takes the quantized kernels' old level names", () => {
      setQuantSimdLevel("scalar");
      assert.equal(cpuFeatures(), "generic");
      assert.equal(native!.quantKernelName(), "native/scalar");
      assert.throws(() => setQuantSimdLevel("sse9"), RangeError);
      setSimdLevel(level0);
    });

    test("TSGPT_SIMD=generic selects the scalar quantized kernels in a new process", () => {
      const here = fileURLToPath(new URL(".", import.meta.url));
      const script = `import(${JSON.stringify(new URL("../../src/backend/native.js", import.meta.url).href)}).then((m) => console.log(m.loadNativeBackend().quantKernelName()))`;
      const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
        cwd: here,
        env: { ...process.env, TSGPT_SIMD: "generic" },
        encoding: "utf8",
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), "native/scalar");
    });
  });

  for (const [name, be] of [
    ["js", jsBackend],
    ["native", native],
  ] as const) {
    test(`${name}: bad arguments throw, naming the argument`, { skip: be ? false : skip }, () => {
      const k = 64,
        n = 2,
        m = 2;
      const x = new Float32Array(m * k),
        w = new Uint8Array(n * 68),
        out = new Float32Array(m * n);
      const call =
        (dtype: string, layout: string, xx: Float32Array, mm: number, kk: number, ww: Uint8Array, nn: number, oo: Float32Array) => () =>
          be!.quantMatmul(dtype as QuantDType, layout as QuantLayout, xx, mm, kk, ww, nn, oo);
      call("Q8_0", "rows", x, m, k, w, n, out)(); // valid: zero weights
      assert.deepEqual([...out], [0, 0, 0, 0]);
      const range = (re: RegExp) => (e: Error) => e instanceof RangeError && re.test(e.message);
      assert.throws(call("Q8_0", "rows", x, m, k, w.subarray(1), n, out), range(/w has 135 bytes, expected 136/));
      assert.throws(call("Q8_0", "grouped16", x, m, k, w.subarray(1), n, out), range(/w has 135 bytes, expected 136/));
      assert.throws(call("Q8_0", "rows", x.subarray(1), m, k, w, n, out), range(/\bx has 127 elements, needs at least 128/));
      assert.throws(call("Q8_0", "rows", x, m, k, w, n, out.subarray(1)), range(/\bout has 3 elements, needs at least 4/));
      assert.throws(call("Q4_K", "rows", x, m, k, new Uint8Array(0), n, out), range(/k = 64 is not a positive multiple of 256/));
      assert.throws(call("Q8_0", "rows", x, -1, k, w, n, out), range(/\bm\b/));
      assert.throws(call("Q8_0", "rows", x, m, k, w, 1.5, out), range(/\bn\b/));
      assert.throws(call("Q8_0", "rows", x, m, 0, w, n, out), range(/k = 0/));
      assert.throws(call("Q8_ROW", "grouped16", x, m, k, new Uint8Array(n * k + 4 * n), n, out), /Q8_ROW has no grouped16 layout/);
      assert.throws(call("Q3_K", "rows", x, m, k, w, n, out), /Q3_K/);
      assert.throws(call("Q8_0", "columns", x, m, k, w, n, out), /layout/);
    });
  }
});
