// The native quantized matmul for one decode token (m = 1) on llama-110m's shapes: Q4_0 and
// Q4_K weights in the plain layout against the row-grouped one (src/quant/row_groups.ts), at
// every SIMD level this CPU has. Reports microseconds per product and the weight bytes streamed
// per second.
//
//   npx tsx bench/quant/grouped.ts [--threads 2]
import { parseArgs } from "node:util";
import { setNumThreads } from "../../src/backend/native.js";
import { matmulGroupedNative, quantizedMatmulNative, quantSimdLevels, setQuantSimdLevel } from "../../src/quant/kernels.js";
import { quantizeTensor } from "../../src/quant/quantize.js";
import { type GroupedDType, groupedLayoutOf, packRowGroups } from "../../src/quant/row_groups.js";
import { Generator } from "../../src/tensor/random.js";

const { values } = parseArgs({ options: { threads: { type: "string", default: "2" } } });
setNumThreads(Number(values.threads));
const SHAPES: Array<[n: number, k: number, what: string]> = [[768, 768, "q/k/v/o"], [2048, 768, "gate/up"], [768, 2048, "down"], [32000, 768, "lm head"]];

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

console.log(`m = 1, ${values.threads} threads`);
console.log("| dtype | shape | level | plain µs | grouped µs | speed-up | grouped GB/s |");
console.log("| --- | --- | --- | ---: | ---: | ---: | ---: |");
for (const dt of ["Q4_0", "Q4_K"] as GroupedDType[]) {
  for (const [n, k, what] of SHAPES) {
    const w = quantizeTensor({ data: random(n * k, n + k), shape: [n, k] }, dt);
    const packed = packRowGroups(dt, w.data, n, k);
    const x = random(k, 7), out = new Float32Array(n);
    for (const level of quantSimdLevels()) {
      setQuantSimdLevel(level);
      const plain = time(() => quantizedMatmulNative(x, 1, k, w, out));
      const grouped = time(() => matmulGroupedNative(groupedLayoutOf(dt)!, x, 1, k, packed, n, out));
      console.log(`| ${dt} | ${n}×${k} (${what}) | ${level} | ${plain.toFixed(0)} | ${grouped.toFixed(0)} | ${(plain / grouped).toFixed(2)}× | ${(w.data.length / grouped / 1000).toFixed(1)} |`);
    }
  }
}
setQuantSimdLevel(quantSimdLevels()[0]!);
