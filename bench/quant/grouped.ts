// The native quantized matmul for one decode token (m = 1) on llama-110m's shapes: Q8_0, Q5_0,
// Q4_0, Q4_1, Q4_K and Q6_K weights in the plain layout against the row-grouped one (src/quant/row_groups.ts),
// at every SIMD level this CPU has. Reports microseconds per product and the weight bytes
// streamed per second. Then the output head alone (32000 × 768, which llama.cpp keeps in Q6_K
// in its 4-bit files): GB/s of each dtype in the layout quant_linear.ts uses, best SIMD level.
//
//   npx tsx bench/quant/grouped.ts [--threads 2] [--head] [--dtypes Q8_0,Q5_0]
//   (--head: only the output head table; --dtypes: only these grouped dtypes in the first table)
import { parseArgs } from "node:util";
import { setNumThreads } from "../../src/backend/native.js";
import { matmulGroupedNative, quantizedMatmulNative, quantSimdLevels, setQuantSimdLevel } from "../../src/quant/kernels.js";
import { quantizeTensor } from "../../src/quant/quantize.js";
import { type GroupedDType, groupedLayoutOf, packRowGroups } from "../../src/quant/row_groups.js";
import type { QuantDType } from "../../src/quant/types.js";
import { Generator } from "../../src/tensor/random.js";

const { values } = parseArgs({
  options: {
    threads: { type: "string", default: process.env.TSGPT_NUM_THREADS ?? "2" },
    head: { type: "boolean", default: false },
    dtypes: { type: "string", default: "Q8_0,Q5_0,Q4_0,Q4_1,Q4_K,Q6_K" },
  },
});
setNumThreads(Number(values.threads));
const SHAPES: Array<[n: number, k: number, what: string]> = [
  [768, 768, "q/k/v/o"],
  [2048, 768, "gate/up"],
  [768, 2048, "down"],
  [32000, 768, "lm head"],
];

function random(n: number, seed: number): Float32Array {
  const g = new Generator(seed);
  return Float32Array.from({ length: n }, () => g.normal() * 0.05);
}

/** Best mean time of a few rounds, in microseconds. */
function time(f: () => void): number {
  for (let i = 0; i < 5; i++) f();
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) f();
    best = Math.min(best, ((performance.now() - t0) / 20) * 1000);
  }
  return best;
}

const gbps = (bytes: number, us: number) => (bytes / us / 1000).toFixed(1);

if (!values.head) {
  console.log(`m = 1, ${values.threads} threads`);
  console.log("| dtype | shape | level | plain µs | grouped µs | speed-up | plain GB/s | grouped GB/s |");
  console.log("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |");
  for (const name of values.dtypes.split(",").map((d) => d.trim().toUpperCase())) {
    const dt = name as GroupedDType;
    if (!groupedLayoutOf(dt)) throw new Error(`--dtypes: ${name} has no grouped layout (Q8_0, Q5_0, Q4_0, Q4_1, Q4_K, Q6_K have)`);
    for (const [n, k, what] of SHAPES) {
      const w = quantizeTensor({ data: random(n * k, n + k), shape: [n, k] }, dt);
      const packed = packRowGroups(dt, w.data, n, k);
      const x = random(k, 7),
        out = new Float32Array(n);
      for (const level of quantSimdLevels()) {
        setQuantSimdLevel(level);
        const plain = time(() => quantizedMatmulNative(x, 1, k, w, out));
        const grouped = time(() => matmulGroupedNative(groupedLayoutOf(dt)!, x, 1, k, packed, n, out));
        console.log(
          `| ${dt} | ${n}×${k} (${what}) | ${level} | ${plain.toFixed(0)} | ${grouped.toFixed(0)} | ${(plain / grouped).toFixed(2)}× | ${gbps(w.data.length, plain)} | ${gbps(w.data.length, grouped)} |`,
        );
      }
    }
  }
  setQuantSimdLevel(quantSimdLevels()[0]!);
  console.log();
}

// The output head: each dtype as quant_linear.ts multiplies it (grouped where it has a layout).
const [n, k] = [32000, 768];
const x = random(k, 7),
  out = new Float32Array(n);
console.log(`output head ${n}×${k}, m = 1, ${values.threads} threads, ${quantSimdLevels()[0]}`);
console.log("| dtype | layout | MB | µs | GB/s |");
console.log("| --- | --- | ---: | ---: | ---: |");
for (const dt of ["Q8_0", "Q6_K", "Q4_K"] as QuantDType[]) {
  const w = quantizeTensor({ data: random(n * k, 3), shape: [n, k] }, dt);
  const layout = groupedLayoutOf(dt);
  const runs: Array<[string, () => void]> = [["plain", () => quantizedMatmulNative(x, 1, k, w, out)]];
  if (layout) {
    const packed = packRowGroups(dt as GroupedDType, w.data, n, k);
    runs.push([layout, () => matmulGroupedNative(layout, x, 1, k, packed, n, out)]);
  }
  for (const [name, f] of runs) {
    const us = time(f);
    console.log(`| ${dt} | ${name} | ${(w.data.length / 1e6).toFixed(1)} | ${us.toFixed(0)} | ${gbps(w.data.length, us)} |`);
  }
}
