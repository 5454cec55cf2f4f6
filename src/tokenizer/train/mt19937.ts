// The 32-bit Mersenne Twister (std::mt19937) and std::uniform_int_distribution as GCC's
// libstdc++ implements them, so that sentence sampling picks the same lines as spm_train.

export class Mt19937 {
  private readonly mt = new Uint32Array(624);
  private index = 624;

  constructor(seed: number) {
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = this.mt[i - 1]! ^ (this.mt[i - 1]! >>> 30);
      // 1812433253 * prev + i, modulo 2^32, without losing precision.
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  /** The next 32-bit output. */
  next(): number {
    if (this.index >= 624) this.twist();
    let y = this.mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < 624; i++) {
      const y = (mt[i]! & 0x80000000) | (mt[(i + 1) % 624]! & 0x7fffffff);
      let v = mt[(i + 397) % 624]! ^ (y >>> 1);
      if (y & 1) v ^= 0x9908b0df;
      mt[i] = v >>> 0;
    }
    this.index = 0;
  }

  /**
   * A uniform integer in [0, n) for 1 <= n <= 2^32, as libstdc++ (GCC >= 11) draws it with
   * Lemire's multiply-and-reject method when the generator gives 32 bits.
   */
  uniformBelow(n: number): number {
    if (n > 0x100000000) throw new RangeError(`uniformBelow: ${n} is above 2^32`);
    let product = BigInt(this.next()) * BigInt(n);
    let low = Number(product & 0xffffffffn);
    if (low < n) {
      const threshold = (0x100000000 - n) % n;
      while (low < threshold) {
        product = BigInt(this.next()) * BigInt(n);
        low = Number(product & 0xffffffffn);
      }
    }
    return Number(product >> 32n);
  }
}
