// Seeded random numbers: the Mersenne Twister MT19937 (Matsumoto & Nishimura, 1998).
//
// Random numbers are generated here, in TypeScript, never inside kernels, so a seed gives
// the same numbers on every backend. MT19937 is the generator behind numpy's RandomState
// and PyTorch's CPU generator; seeded with an integer below 2^32 it produces exactly
// numpy's `RandomState(seed)` stream (`random()` equals `random_sample()`).
//
// - `Generator` is one independent stream (for sampling, data order, dropout, ...).
// - `manualSeed(seed)` reseeds the global stream used by rand/randn/randint/dropout.
// - `getState()` / `setState()` (and getRngState / setRngState for the global stream)
//   save and restore the exact position, for bit-exact training resume. The state is a
//   plain JSON-serialisable object.

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
const DEFAULT_SEED = 5489; // the reference implementation's default

/** A saved generator position: the 624-word MT19937 state and the read position. */
export interface RngState {
  algorithm: "mt19937";
  key: number[];
  pos: number;
}

export class Generator {
  private readonly mt = new Uint32Array(N);
  private mti = N;
  private seedValue = DEFAULT_SEED;

  constructor(seed: number = DEFAULT_SEED) {
    this.manualSeed(seed);
  }

  /**
   * Reseeds. Seeds below 2^32 use the reference `init_genrand` (numpy's RandomState(seed));
   * larger safe integers are split into two 32-bit words for `init_by_array`.
   */
  manualSeed(seed: number): this {
    if (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`manualSeed: seed must be a non-negative safe integer, got ${String(seed)}`);
    }
    this.seedValue = seed;
    if (seed < 2 ** 32) this.initGenrand(seed);
    else this.initByArray([seed % 2 ** 32, Math.floor(seed / 2 ** 32)]);
    return this;
  }

  /** The seed last given to manualSeed (or the constructor). */
  initialSeed(): number {
    return this.seedValue;
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      // 1812433253 * prev + i, modulo 2^32, without losing bits to float rounding.
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.mti = N;
  }

  private initByArray(key: number[]): void {
    this.initGenrand(19650218);
    const mt = this.mt;
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1664525)) + key[j] + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
    }
    mt[0] = 0x80000000;
    this.mti = N;
  }

  /** Regenerates the 624 words of state (the "twist"). */
  private twist(): void {
    const mt = this.mt;
    for (let k = 0; k < N; k++) {
      const y = (mt[k] & UPPER_MASK) | (mt[(k + 1) % N] & LOWER_MASK);
      mt[k] = mt[(k + M) % N] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.mti = 0;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    if (this.mti >= N) this.twist();
    let y = this.mt[this.mti++];
    // Tempering.
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A uniform double in [0, 1) with 53 random bits (numpy's random_sample). */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** A uniform float32 value in [0, 1): 24 random bits, so it never rounds up to 1. */
  randomFloat32(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /** A uniform integer in [low, high) (rejection sampling: no modulo bias). */
  randint(low: number, high: number): number {
    const range = high - low;
    if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high) || range <= 0 || range > 2 ** 32) {
      throw new RangeError(`randint: need integers low < high with high - low ≤ 2^32, got low=${low}, high=${high}`);
    }
    // Accept only values below the largest multiple of `range` that fits in 2^32.
    const limit = 2 ** 32 - (2 ** 32 % range);
    for (;;) {
      const v = this.nextUint32();
      if (v < limit) return low + (v % range);
    }
  }

  /** A standard normal sample (Box–Muller; uses one pair of uniforms). */
  normal(): number {
    const out = new Float64Array(1);
    this.fillNormal(out);
    return out[0];
  }

  /** Fills `out` with uniform [0, 1) floats (24-bit resolution, exact in float32). */
  fillUniform(out: Float32Array | Float64Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.randomFloat32();
  }

  /**
   * Fills `out` with standard normal samples by Box–Muller: each pair of uniforms (u1, u2)
   * gives r·cos(2πu2) and r·sin(2πu2) with r = sqrt(-2 ln u1). An odd last element uses
   * a whole pair and drops the sine.
   */
  fillNormal(out: Float32Array | Float64Array, mean = 0, std = 1): void {
    for (let i = 0; i < out.length; i += 2) {
      const u1 = 1 - this.random(); // (0, 1]: log never sees 0
      const u2 = this.random();
      const r = Math.sqrt(-2 * Math.log(u1));
      const theta = 2 * Math.PI * u2;
      out[i] = mean + std * r * Math.cos(theta);
      if (i + 1 < out.length) out[i + 1] = mean + std * r * Math.sin(theta);
    }
  }

  /** The exact position of the stream (JSON-serialisable). */
  getState(): RngState {
    return { algorithm: "mt19937", key: Array.from(this.mt), pos: this.mti };
  }

  /** Restores a position saved by getState(). */
  setState(state: RngState): this {
    if (!state || state.algorithm !== "mt19937" || !Array.isArray(state.key) || state.key.length !== N) {
      throw new TypeError(`Generator.setState: expected { algorithm: "mt19937", key: ${N} numbers, pos }`);
    }
    if (!Number.isInteger(state.pos) || state.pos < 0 || state.pos > N) {
      throw new RangeError(`Generator.setState: pos must be an integer in [0, ${N}], got ${state.pos}`);
    }
    for (let i = 0; i < N; i++) {
      const v = state.key[i];
      if (!Number.isInteger(v) || v < 0 || v >= 2 ** 32) throw new RangeError(`Generator.setState: key[${i}] = ${v} is not a uint32`);
      this.mt[i] = v;
    }
    this.mti = state.pos;
    return this;
  }

  /** An independent copy at the same position. */
  clone(): Generator {
    const g = new Generator(this.seedValue);
    g.setState(this.getState());
    return g;
  }
}

/** The global stream used when no generator is passed. */
export const defaultGenerator = new Generator();

/** Seeds the global stream (like torch.manual_seed). Returns the default generator. */
export function manualSeed(seed: number): Generator {
  return defaultGenerator.manualSeed(seed);
}

/** The global stream's exact position, for checkpoints. */
export function getRngState(): RngState {
  return defaultGenerator.getState();
}

/** Restores the global stream's position saved by getRngState(). */
export function setRngState(state: RngState): void {
  defaultGenerator.setState(state);
}
