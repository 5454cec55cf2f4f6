// A small seeded random source for sampling segmentations (subword regularisation,
// BPE-dropout). The tokenizer layer imports nothing from src/tensor, so it has its own.

export type RandomSource = () => number;

/** mulberry32: a fast 32-bit generator; returns floats in [0, 1). */
export function seededRandom(seed: number): RandomSource {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
