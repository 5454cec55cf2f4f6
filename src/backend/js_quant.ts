// The readable reference of the quantized matmul: out (m × n) = x (m × k) · Wᵀ, with W (n × k)
// kept quantized. Like llama.cpp, x is quantized to 8-bit blocks first (activations.ts), so each
// block's dot product is a sum of integer products; floats enter once per block:
//
//   Q8_0:   Σ_b  dW_b · dx_b · Σ_j qW_j·qx_j
//   Q4_0:   Σ_b  dW_b · dx_b · (Σ_j c_j·qx_j − 8·Σ_j qx_j)          (codes c = q + 8 ∈ [0, 15])
//   Q5_0:   Σ_b  dW_b · dx_b · (Σ_j c_j·qx_j − 16·Σ_j qx_j)         (codes c ∈ [0, 31])
//   Q4_1:   Σ_b  dx_b · (dW_b · Σ_j c_j·qx_j + mW_b · Σ_j qx_j)       (codes c ∈ [0, 15], minimum m;
//           llama.cpp's q8_1 activations carry the same Σ qx, pre-multiplied by dx)
//   Q4_K:   Σ_sub (d·sc)·dx · Σ_j c_j·qx_j − (dmin·m)·dx · Σ_j qx_j
//   Q6_K:   Σ_sub (d·sc)·dx · (Σ_j c_j·qx_j − 32·Σ_j qx_j)          (16-value sub-blocks, c ∈ [0, 63];
//           each 32-value activation block covers two of them, so Σ qx is taken per 16 values)
//   Q8_ROW: scale_row · Σ_b dx_b · Σ_j qW_j·qx_j
//
// The native kernels (native/quant.cc) compute the same integer sums with SIMD; this file is the
// js backend's quantMatmul for the plain ("rows") layout.
import { halfToFloat } from "./half_bits.js";
import { type QuantDType, quantizedBytes, rowBytes, rowMultiple } from "./quant_blocks.js";
import { type QuantizedActivations, ACT_BLOCK, quantizeActivations } from "./quant_activations.js";
import { q5_0HighBits, q6_KCodes, q6_KScale, q6_KSubScale, q8RowScale, scaleMinK4 } from "./quant_blocks.js";

type RowDot = (w: Uint8Array, wo: number, a: QuantizedActivations, ao: number, nb: number) => number;

const f16 = (w: Uint8Array, o: number): number => halfToFloat(w[o]! | (w[o + 1]! << 8));

function dotQ8_0(w: Uint8Array, wo: number, a: QuantizedActivations, ao: number, nb: number): number {
  let acc = 0;
  for (let b = 0; b < nb; b++) {
    const o = wo + 34 * b,
      x0 = (ao + b) * ACT_BLOCK;
    let s = 0;
    for (let j = 0; j < 32; j++) s += ((w[o + 2 + j]! << 24) >> 24) * a.q[x0 + j]!; // byte → int8
    acc += f16(w, o) * a.d[ao + b]! * s;
  }
  return acc;
}

function dotQ4_0(w: Uint8Array, wo: number, a: QuantizedActivations, ao: number, nb: number): number {
  let acc = 0;
  for (let b = 0; b < nb; b++) {
    const o = wo + 18 * b,
      x0 = (ao + b) * ACT_BLOCK;
    let s = 0;
    for (let j = 0; j < 16; j++) {
      const byte = w[o + 2 + j]!;
      s += (byte & 0x0f) * a.q[x0 + j]! + (byte >> 4) * a.q[x0 + 16 + j]!;
    }
    acc += f16(w, o) * a.d[ao + b]! * (s - 8 * a.sum[ao + b]!);
  }
  return acc;
}

function dotQ4_1(w: Uint8Array, wo: number, a: QuantizedActivations, ao: number, nb: number): number {
  let acc = 0;
  for (let b = 0; b < nb; b++) {
    const o = wo + 20 * b,
      x0 = (ao + b) * ACT_BLOCK;
    let s = 0;
    for (let j = 0; j < 16; j++) {
      const byte = w[o + 4 + j]!;
      s += (byte & 0x0f) * a.q[x0 + j]! + (byte >> 4) * a.q[x0 + 16 + j]!;
    }
    acc += a.d[ao + b]! * (f16(w, o) * s + f16(w, o + 2) * a.sum[ao + b]!);
  }
  return acc;
}

function dotQ5_0(w: Uint8Array, wo: number, a: QuantizedActivations, ao: number, nb: number): number {
  let acc = 0;
  for (let b = 0; b < nb; b++) {
    const o = wo + 22 * b,
      x0 = (ao + b) * ACT_BLOCK;
    const qh = q5_0HighBits(w, o);
    let s = 0;
    for (let j = 0; j < 16; j++) {
      const byte = w[o + 6 + j]!;
      const lo = (byte & 0x0f) | (((qh >>> j) & 1) << 4),
        hi = (byte >> 4) | (((qh >>> (j + 16)) & 1) << 4);
      s += lo * a.q[x0 + j]! + hi * a.q[x0 + 16 + j]!;
    }
    acc += f16(w, o) * a.d[ao + b]! * (s - 16 * a.sum[ao + b]!);
  }
  return acc;
}

function dotQ6_K(w: Uint8Array, wo: number, a: QuantizedActivations, ao: number, nb: number): number {
  const codes = new Uint8Array(256);
  let acc = 0;
  for (let sb = 0; sb < nb / 8; sb++) {
    const o = wo + 210 * sb;
    const d = q6_KScale(w, o);
    q6_KCodes(w, o, codes);
    for (let i = 0; i < 16; i++) {
      const blk = ao + 8 * sb + (i >> 1),
        x0 = blk * ACT_BLOCK + 16 * (i & 1);
      let s = 0,
        sumq = 0;
      for (let j = 0; j < 16; j++) {
        const qx = a.q[x0 + j]!;
        s += codes[16 * i + j]! * qx;
        sumq += qx;
      }
      acc += d * q6_KSubScale(w, o, i) * a.d[blk]! * (s - 32 * sumq);
    }
  }
  return acc;
}

function dotQ4_K(w: Uint8Array, wo: number, a: QuantizedActivations, ao: number, nb: number): number {
  let acc = 0;
  for (let sb = 0; sb < nb / 8; sb++) {
    const o = wo + 144 * sb;
    const d = f16(w, o),
      dmin = f16(w, o + 2);
    for (let j = 0; j < 8; j++) {
      const [sc, m] = scaleMinK4(j, w, o + 4);
      const blk = ao + 8 * sb + j,
        x0 = blk * ACT_BLOCK;
      const codes = o + 16 + 32 * (j >> 1),
        shift = (j & 1) * 4;
      let s = 0;
      for (let l = 0; l < 32; l++) s += ((w[codes + l]! >> shift) & 0x0f) * a.q[x0 + l]!;
      acc += d * sc * a.d[blk]! * s - dmin * m * a.d[blk]! * a.sum[blk]!;
    }
  }
  return acc;
}

function dotQ8Row(w: Uint8Array, wo: number, a: QuantizedActivations, ao: number, nb: number): number {
  let acc = 0;
  for (let b = 0; b < nb; b++) {
    const o = wo + 32 * b,
      x0 = (ao + b) * ACT_BLOCK;
    let s = 0;
    for (let j = 0; j < 32; j++) s += ((w[o + j]! << 24) >> 24) * a.q[x0 + j]!;
    acc += a.d[ao + b]! * s;
  }
  return acc;
}

const DOTS: Record<QuantDType, RowDot> = {
  Q8_0: dotQ8_0,
  Q6_K: dotQ6_K,
  Q5_0: dotQ5_0,
  Q4_1: dotQ4_1,
  Q4_0: dotQ4_0,
  Q4_K: dotQ4_K,
  Q8_ROW: dotQ8Row,
};

const isSize = (v: number): boolean => Number.isSafeInteger(v) && v >= 0;

/**
 * Checks the arguments of a quantized matmul as the native addon does (the same messages, so
 * both backends fail alike): w holds exactly n rows of k values of `dtype` (plus n f32 scales
 * for Q8_ROW), x holds m × k values and out m × n.
 */
export function checkQuantMatmulArgs(
  dtype: QuantDType,
  layout: string,
  x: Float32Array,
  m: number,
  k: number,
  w: Uint8Array,
  n: number,
  out: Float32Array,
): void {
  if (!(DOTS as Record<string, RowDot | undefined>)[dtype]) {
    throw new RangeError(`quantMatmul: dtype must be one of ${Object.keys(DOTS).join(", ")}, got "${dtype}"`);
  }
  const fn = `quantMatmul(${dtype}, ${layout})`; // the label native/quant.cc's errors carry
  if (!(x instanceof Float32Array)) throw new TypeError(`${fn}: x must be a Float32Array`);
  if (!(w instanceof Uint8Array)) throw new TypeError(`${fn}: w must be a Uint8Array`);
  if (!(out instanceof Float32Array)) throw new TypeError(`${fn}: out must be a Float32Array`);
  for (const [name, v] of [
    ["m", m],
    ["k", k],
    ["n", n],
  ] as const) {
    if (!isSize(v)) throw new RangeError(`${fn}: ${name} must be an integer ≥ 0, got ${v}`);
  }
  const multiple = Math.max(ACT_BLOCK, rowMultiple(dtype));
  if (k === 0 || k % multiple !== 0) throw new RangeError(`${fn}: k = ${k} is not a positive multiple of ${multiple}`);
  const bytes = quantizedBytes(dtype, n, k);
  if (w.length !== bytes) throw new RangeError(`${fn}: w has ${w.length} bytes, expected ${bytes}`);
  if (x.length < m * k) throw new RangeError(`${fn}: x has ${x.length} elements, needs at least ${m * k}`);
  if (out.length < m * n) throw new RangeError(`${fn}: out has ${out.length} elements, needs at least ${m * n}`);
}

/** out[i, r] = Σ_c x[i, c] · W[r, c] with W (n × k) quantized in the plain layout (js reference). */
export function quantMatmulRowsJs(
  dtype: QuantDType,
  x: Float32Array,
  m: number,
  k: number,
  w: Uint8Array,
  n: number,
  out: Float32Array,
): void {
  checkQuantMatmulArgs(dtype, "rows", x, m, k, w, n, out);
  const a = quantizeActivations(x.subarray(0, m * k), m, k);
  const nb = k / ACT_BLOCK;
  const dot = DOTS[dtype];
  const stride = rowBytes(dtype, k);
  for (let i = 0; i < m; i++) {
    for (let r = 0; r < n; r++) {
      let v = dot(w, r * stride, a, i * nb, nb);
      if (dtype === "Q8_ROW") v *= q8RowScale(w, n, k, r);
      out[i * n + r] = v;
    }
  }
}
