// 16-bit floats: IEEE 754 half precision (f16) and bfloat16 (bf16), stored as raw bits in Uint16Array.
//
// Weights may stay 16-bit in memory (half the bytes); these functions widen them to f32 when
// needed and narrow f32 back when saving. Rounding is round-to-nearest, ties-to-even, the same as
// numpy's `astype(np.float16)` and PyTorch's `.to(torch.bfloat16)`:
//
//   f16:  sign(1) exponent(5, bias 15)  mantissa(10)   subnormals below 2^-14, max 65504
//   bf16: sign(1) exponent(8, bias 127) mantissa(7)    the top 16 bits of an f32
//
// NaN payloads: narrowing keeps the top payload bits and sets the quiet bit (like the x86 F16C
// instructions); bf16 NaN becomes the canonical 0x7FC0 (like PyTorch). Widening is exact.

// Scratch views for moving between a float and its bits without allocating.
const f32Scratch = new Float32Array(1);
const u32OfF32 = new Uint32Array(f32Scratch.buffer);
const f64View = new DataView(new ArrayBuffer(8)); // explicit endianness for the two words of a double

/** f32 bits of one f16 bit pattern (exact: every f16 value is an f32 value). */
function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // inf / NaN (payload kept)
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0; // normal: rebias 15 -> 127
  if (mant === 0) return sign >>> 0; // ±0
  // Subnormal f16 (mant * 2^-24) is a normal f32: shift the mantissa up until its leading 1
  // reaches the implicit-bit position, lowering the exponent once per shift.
  let e = 113; // exponent of 2^-14, the f16 subnormal scale, in f32 bias (127 - 14)
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

let f16Table: Uint32Array | null = null;

/** All 65536 f16 → f32 bit conversions, built once on first use (256 KiB). */
function table(): Uint32Array {
  if (f16Table === null) {
    f16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32Bits(h);
  }
  return f16Table;
}

/** f16 bits of the f32 with bits `u`, rounded to nearest even. */
function f32BitsToF16Bits(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00; // ±inf
    return sign | 0x7e00 | (mant >>> 13); // NaN: quiet, keep the top payload bits
  }
  const e = exp - 127 + 15; // exponent in f16 bias
  if (e >= 31) return sign | 0x7c00; // |x| >= 2^16: overflow to inf
  if (e >= 1) {
    // Normal: keep 10 mantissa bits, round on the 13 dropped ones. A carry out of the mantissa
    // correctly bumps the exponent (and 65520 and above become inf).
    let h = (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
    return sign | h;
  }
  // Subnormal result (or zero): value = m * 2^(exp-150); in units of 2^-24 that is m / 2^shift.
  const m = mant | 0x800000; // f32 subnormals (exp 0) are far below 2^-25 and land in `shift > 24`
  const shift = 126 - exp;
  if (shift > 24) return sign; // below half the smallest subnormal: rounds to ±0
  let q = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (q & 1) === 1)) q++; // may carry into the smallest normal
  return sign | q;
}

/** bf16 bits of the f32 with bits `u`: round to nearest even (PyTorch's round_to_nearest_even). */
function f32BitsToBf16Bits(u: number): number {
  if ((u & 0x7fffffff) > 0x7f800000) return 0x7fc0; // NaN
  const bias = 0x7fff + ((u >>> 16) & 1);
  return ((u + bias) >>> 16) & 0xffff; // a carry may round up to inf, as it should
}

function checkOut<T extends { length: number }>(out: T | undefined, n: number, make: (n: number) => T, name: string): T {
  if (out === undefined) return make(n);
  if (out.length !== n) throw new RangeError(`${name}: out has length ${out.length}, expected ${n}`);
  return out;
}

/** Widens f16 bits to f32 values (exact). */
export function f16ToF32(bits: Uint16Array, out?: Float32Array): Float32Array {
  const res = checkOut(out, bits.length, (n) => new Float32Array(n), "f16ToF32");
  const t = table();
  const o = new Uint32Array(res.buffer, res.byteOffset, res.length);
  for (let i = 0; i < bits.length; i++) o[i] = t[bits[i]!]!;
  return res;
}

/** Widens bf16 bits to f32 values (exact: bf16 is the high half of an f32). */
export function bf16ToF32(bits: Uint16Array, out?: Float32Array): Float32Array {
  const res = checkOut(out, bits.length, (n) => new Float32Array(n), "bf16ToF32");
  const o = new Uint32Array(res.buffer, res.byteOffset, res.length);
  for (let i = 0; i < bits.length; i++) o[i] = bits[i]! << 16;
  return res;
}

/** Narrows f32 values to f16 bits, rounding to nearest even (overflow → ±inf). */
export function f32ToF16(x: Float32Array, out?: Uint16Array): Uint16Array {
  const res = checkOut(out, x.length, (n) => new Uint16Array(n), "f32ToF16");
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  for (let i = 0; i < u.length; i++) res[i] = f32BitsToF16Bits(u[i]!);
  return res;
}

/** Narrows f32 values to bf16 bits, rounding to nearest even. */
export function f32ToBf16(x: Float32Array, out?: Uint16Array): Uint16Array {
  const res = checkOut(out, x.length, (n) => new Uint16Array(n), "f32ToBf16");
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  for (let i = 0; i < u.length; i++) res[i] = f32BitsToBf16Bits(u[i]!);
  return res;
}

/** The value of one f16 bit pattern. */
export function halfToFloat(bits: number): number {
  u32OfF32[0] = table()[bits & 0xffff]!;
  return f32Scratch[0]!;
}

/** The value of one bf16 bit pattern. */
export function bf16ToFloat(bits: number): number {
  u32OfF32[0] = (bits & 0xffff) << 16;
  return f32Scratch[0]!;
}

/**
 * f16 bits of a JS number, rounded to nearest even directly from the double (like
 * `np.float16(x)`; rounding through f32 first could round twice).
 */
export function floatToHalf(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  f64View.setFloat64(0, x);
  const hi = f64View.getUint32(0);
  const lo = f64View.getUint32(4);
  const sign = (hi >>> 16) & 0x8000;
  const exp = (hi >>> 20) & 0x7ff;
  if (exp === 0x7ff) return sign | 0x7c00; // ±inf
  const e = exp - 1023 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e >= 1) {
    // Normal: the 10 kept mantissa bits are bits 19..10 of the high word; the rest decides rounding.
    let h = (e << 10) | ((hi >>> 10) & 0x3ff);
    const restHi = hi & 0x3ff; // 10 dropped bits from the high word, then all 32 of the low word
    const above = restHi > 0x200 || (restHi === 0x200 && lo !== 0);
    const tie = restHi === 0x200 && lo === 0;
    if (above || (tie && (h & 1) === 1)) h++;
    return sign | h;
  }
  // Subnormal range: count units of 2^-24 (scaling by a power of two is exact), round half to even.
  const q = Math.abs(x) * 16777216;
  let r = Math.floor(q);
  const d = q - r;
  if (d > 0.5 || (d === 0.5 && (r & 1) === 1)) r++;
  return sign | r;
}

/** bf16 bits of a JS number (rounded to f32 first, as PyTorch converts from float). */
export function floatToBf16(x: number): number {
  f32Scratch[0] = x;
  return f32BitsToBf16Bits(u32OfF32[0]!);
}
