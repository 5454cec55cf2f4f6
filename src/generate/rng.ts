// A small seeded random number generator for sampling: xoshiro128** seeded by splitmix32.
//
// Why our own: sampling must be reproducible (same seed, same text) on every platform and
// independent of Math.random. xoshiro128** (Blackman & Vigna) is a fast 32-bit generator with
// a 2^128 - 1 period that passes the usual statistical batteries; splitmix32 spreads a small
// integer seed over its 128-bit state so that seeds 1, 2, 3 give unrelated streams.

/** Anything that yields uniform floats in [0, 1). The sampler needs nothing more. */
export interface UniformSource {
  /** A uniform float in [0, 1). */
  random(): number;
}

/** splitmix32: turns one 32-bit value into a well-mixed next value (used only for seeding). */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Seeded xoshiro128** generator. `new SamplingRng(seed).random()` gives floats in [0, 1). */
export class SamplingRng implements UniformSource {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    // Fold seeds beyond 32 bits (e.g. Date.now()) into the first mixing word.
    const lo = seed >>> 0;
    const hi = Math.floor(Math.abs(seed) / 4294967296) >>> 0;
    const st = { s: lo ^ Math.imul(hi, 0x27d4eb2d) };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.d = 1; // the all-zero state is a fixed point
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 53 random bits (two 32-bit draws). */
  random(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
