// Seeded test inputs for the quantization tests: gaussian rows plus blocks chosen to hit the
// edge cases of each rule (zeros, one sign only, a single outlier, exact ties, tiny values).
import { Generator } from "../../src/tensor/random.js";

export function gaussian(n: number, seed: number, scale = 1): Float32Array {
  const g = new Generator(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = g.normal() * scale;
  return out;
}

/** `blocks` blocks of 32 values: random, then one special block of each kind repeated in turn. */
export function testValues(blocks: number, seed: number): Float32Array {
  const x = gaussian(blocks * 32, seed, 0.05);
  const special: Array<(j: number) => number> = [
    () => 0, // all zero
    (j) => 0.01 * (j + 1), // all positive
    (j) => -0.02 * (j + 1), // all negative
    (j) => (j === 7 ? 5 : 0.001 * (j - 16)), // one positive outlier
    (j) => (j === 30 ? -3 : 0.002 * j), // one negative outlier
    (j) => (j - 15.5) / 127, // many near-ties
    (j) => (j % 2 === 0 ? 1e-6 : -2e-6), // tiny values (f16 subnormal scales)
    (j) => (j === 0 ? 127 : j - 64), // integers: exact ties for Q8_0 (x/d = k + 0.5)
  ];
  for (let b = 0; b < blocks; b++) {
    if (b % 3 !== 1) continue; // every third block is special
    const f = special[Math.floor(b / 3) % special.length]!;
    for (let j = 0; j < 32; j++) x[b * 32 + j] = Math.fround(f(j));
  }
  return x;
}
