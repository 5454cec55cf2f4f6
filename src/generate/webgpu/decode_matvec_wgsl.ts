// y = W · x (+ bias), the decoder's linear layers: one 64-thread workgroup per output value
// (row r, column j). The threads stride along row j of W unit by unit (consecutive threads read
// consecutive words: coalesced), each keeping a partial dot product, then add them up in
// workgroup memory. Decoding feeds one token per row, so this is a matrix-vector product whose
// speed is set by how fast W streams from memory, and W may stay quantized (weight_formats_wgsl).
//
// Row r reads X row r · inStep + inOff (the lm head reads only each sequence's last step) and
// writes Y[r · outStride + outOff + j] (q, k and v land side by side in one qkv row); with
// `accumulate` the result is added to Y (the residual connection, x += W · a).
import { type GpuWeightFormat, weightDotWgsl } from "./weight_formats_wgsl.js";

export const MATVEC_THREADS = 64;

export const matvecWgsl = (format: GpuWeightFormat) => (): string =>
  /* wgsl */ `
struct P { rows: u32, n: u32, k: u32, wOff: u32, inStep: u32, inOff: u32, outStride: u32, outOff: u32, hasBias: u32, accumulate: u32 };
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${weightDotWgsl(format)}
const T: u32 = ${MATVEC_THREADS}u;
var<workgroup> part: array<f32, T>;
@compute @workgroup_size(T)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= p.rows * p.n) { return; } // the whole workgroup leaves: barriers stay uniform
  let r = g / p.n;
  let j = g % p.n;
  let x = (r * p.inStep + p.inOff) * p.k;
  let t = lid.x;
  var acc = 0.0;
  for (var c = t; c < p.k / UNIT; c += T) { acc += unitDot(j, c, x); }
  part[t] = acc;
  workgroupBarrier();
  for (var s = T / 2u; s > 0u; s >>= 1u) {
    if (t < s) { part[t] += part[t + s]; }
    workgroupBarrier();
  }
  if (t == 0u) {
    var v = part[0];
    if (p.hasBias == 1u) { v += Bias[j]; }
    let o = r * p.outStride + p.outOff + j;
    if (p.accumulate == 1u) { Y[o] += v; } else { Y[o] = v; }
  }
}`;
