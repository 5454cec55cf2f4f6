// How a weight matrix sits in a GPU buffer, and the WGSL that reads it, for each format the GPU
// decoder keeps as it is: f32, and the block formats Q8_0, Q4_0 and Q4_K, which stay quantized
// in GPU memory and are dequantized on the fly by the matrix-vector kernel (fewer bytes to stream
// per token: decoding is bound by memory bandwidth).
//
// Every format declares binding 0 (`W`, read-only storage) and two functions:
//   at(j, e)          element e of row j, dequantized (embedding lookups)
//   unitDot(j, c, x)  Σ over the c-th "unit" of row j of w · X[x + element]: the matvec's inner
//                     step. A unit is the run of elements one 32-bit word of codes holds.
// and a constant UNIT (elements per unit). `p.k` is the row length and `p.wOff` where the codes
// start in W (in words), both fields of the kernel's parameter struct.
//
// Layouts (the upload in webgpu/weights.ts makes them):
//   f32   rows × k floats.
//   q8_0  [rows × k/32 f32 scales][rows × k/4 words, four int8 codes each]: the 34-byte blocks
//         of the file (f16 scale, 32 codes) are split so every read is word-aligned.
//   q4_0  [rows × k/32 f32 scales][rows × k/8 words]: each block's 16 code bytes as 4 words;
//         byte l holds element l in its low nibble and element l + 16 in its high one (minus 8).
//   q4_k  the file's 144-byte super-blocks as they are (36 words, already aligned): f16 d, f16
//         dmin, 12 bytes of 6-bit sub-block scales and mins, 128 bytes of codes (see quant/q4_k.ts).

export type GpuWeightFormat = "f32" | "q8_0" | "q4_0" | "q4_k";

/** Elements per unit (per word of codes) of each format: units per row = k / unit. */
export const UNIT: Record<GpuWeightFormat, number> = { f32: 1, q8_0: 4, q4_0: 8, q4_k: 8 };

const F32 = /* wgsl */ `
@group(0) @binding(0) var<storage, read> W: array<f32>;
const UNIT: u32 = 1u;
fn at(j: u32, e: u32) -> f32 { return W[j * p.k + e]; }`;
const F32_DOT = /* wgsl */ `
fn unitDot(j: u32, c: u32, x: u32) -> f32 { return W[j * p.k + c] * X[x + c]; }`;

const Q8_0 = /* wgsl */ `
@group(0) @binding(0) var<storage, read> W: array<u32>;
const UNIT: u32 = 4u;
fn q8Scale(j: u32, blk: u32) -> f32 { return bitcast<f32>(W[j * (p.k / 32u) + blk]); }
fn q8Code(w: u32, i: u32) -> f32 { return f32(extractBits(bitcast<i32>(w), i * 8u, 8u)); }
fn at(j: u32, e: u32) -> f32 {
  return q8Scale(j, e / 32u) * q8Code(W[p.wOff + j * (p.k / 4u) + e / 4u], e % 4u);
}`;
const Q8_0_DOT = /* wgsl */ `
fn unitDot(j: u32, c: u32, x: u32) -> f32 {
  let w = W[p.wOff + j * (p.k / 4u) + c];
  let i = x + c * 4u;
  let s = q8Code(w, 0u) * X[i] + q8Code(w, 1u) * X[i + 1u] + q8Code(w, 2u) * X[i + 2u] + q8Code(w, 3u) * X[i + 3u];
  return q8Scale(j, c / 8u) * s;
}`;

const Q4_0 = /* wgsl */ `
@group(0) @binding(0) var<storage, read> W: array<u32>;
const UNIT: u32 = 8u;
fn q4Scale(j: u32, blk: u32) -> f32 { return bitcast<f32>(W[j * (p.k / 32u) + blk]); }
fn at(j: u32, e: u32) -> f32 {
  let blk = e / 32u;
  let l = e % 32u;
  let b = l % 16u;
  let byte = (W[p.wOff + j * (p.k / 8u) + blk * 4u + b / 4u] >> ((b % 4u) * 8u)) & 0xffu;
  let q = select(byte & 15u, byte >> 4u, l >= 16u);
  return q4Scale(j, blk) * (f32(q) - 8.0);
}`;
const Q4_0_DOT = /* wgsl */ `
fn unitDot(j: u32, c: u32, x: u32) -> f32 {
  let w = W[p.wOff + j * (p.k / 8u) + c];
  let blk = c / 4u;
  let i = x + blk * 32u + (c % 4u) * 4u;
  var s = 0.0;
  for (var b = 0u; b < 4u; b++) {
    let byte = (w >> (b * 8u)) & 0xffu;
    s += (f32(byte & 15u) - 8.0) * X[i + b] + (f32(byte >> 4u) - 8.0) * X[i + 16u + b];
  }
  return q4Scale(j, blk) * s;
}`;

const Q4_K = /* wgsl */ `
@group(0) @binding(0) var<storage, read> W: array<u32>;
const UNIT: u32 = 8u;
// First word of super-block s of row j.
fn kBase(j: u32, s: u32) -> u32 { return (j * (p.k / 256u) + s) * 36u; }
fn kScaleByte(base: u32, i: u32) -> u32 { return (W[base + 1u + i / 4u] >> ((i % 4u) * 8u)) & 0xffu; }
// (d · scale, dmin · min) of sub-block q (0…7): quant/q4_k.ts's scaleMinK4.
fn kScaleMin(base: u32, q: u32) -> vec2f {
  let dm = unpack2x16float(W[base]);
  var sc: u32;
  var mn: u32;
  if (q < 4u) {
    sc = kScaleByte(base, q) & 63u;
    mn = kScaleByte(base, q + 4u) & 63u;
  } else {
    sc = (kScaleByte(base, q + 4u) & 15u) | ((kScaleByte(base, q - 4u) >> 6u) << 4u);
    mn = (kScaleByte(base, q + 4u) >> 4u) | ((kScaleByte(base, q) >> 6u) << 4u);
  }
  return vec2f(dm.x * f32(sc), dm.y * f32(mn));
}
fn at(j: u32, e: u32) -> f32 {
  let base = kBase(j, e / 256u);
  let r = e % 256u;
  let pair = r / 64u;
  let high = (r % 64u) / 32u;
  let b = pair * 32u + r % 32u;
  let byte = (W[base + 4u + b / 4u] >> ((b % 4u) * 8u)) & 0xffu;
  let q = select(byte & 15u, byte >> 4u, high == 1u);
  let sm = kScaleMin(base, 2u * pair + high);
  return sm.x * f32(q) - sm.y;
}`;
const Q4_K_DOT = /* wgsl */ `
fn unitDot(j: u32, c: u32, x: u32) -> f32 {
  let base = kBase(j, c / 32u);
  let w = W[base + 4u + c % 32u];
  let pair = (c % 32u) / 8u;
  let i = x + (c / 32u) * 256u + pair * 64u + (c % 8u) * 4u;
  var qlo = 0.0;
  var xlo = 0.0;
  var qhi = 0.0;
  var xhi = 0.0;
  for (var b = 0u; b < 4u; b++) {
    let byte = (w >> (b * 8u)) & 0xffu;
    let lo = X[i + b];
    let hi = X[i + 32u + b];
    qlo += f32(byte & 15u) * lo;
    xlo += lo;
    qhi += f32(byte >> 4u) * hi;
    xhi += hi;
  }
  let s1 = kScaleMin(base, 2u * pair);
  let s2 = kScaleMin(base, 2u * pair + 1u);
  return s1.x * qlo - s1.y * xlo + s2.x * qhi - s2.y * xhi;
}`;

const READ: Record<GpuWeightFormat, string> = { f32: F32, q8_0: Q8_0, q4_0: Q4_0, q4_k: Q4_K };
const DOT: Record<GpuWeightFormat, string> = { f32: F32_DOT, q8_0: Q8_0_DOT, q4_0: Q4_0_DOT, q4_k: Q4_K_DOT };

/** Binding 0 and `at(j, e)` for a format. */
export function weightReadWgsl(format: GpuWeightFormat): string {
  return READ[format];
}

/** Binding 0, `at` and `unitDot` (which reads the kernel's `X`) for a format. */
export function weightDotWgsl(format: GpuWeightFormat): string {
  return READ[format] + DOT[format];
}
