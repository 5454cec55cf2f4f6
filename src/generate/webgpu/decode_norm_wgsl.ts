// RMSNorm and LayerNorm over rows, one 64-thread workgroup per row: the hidden states before
// each block (x → h), or, in place, each head of q and k (Qwen3's q_norm / k_norm).
//
// Row r starts at (r / per) · rowStride + off + (r % per) · width: with per = 1 and rowStride =
// width these are plain rows; with per = heads they are the heads inside each qkv row.
// Same arithmetic as the js backend: rms: y = x · rstd · w; layer: y = (x − mean) · rstd · w + b.
export const NORM_THREADS = 64;

export type NormKind = "rms" | "layer";

export const normWgsl = (kind: NormKind, inPlace: boolean) => (): string =>
  /* wgsl */ `
struct P { rows: u32, width: u32, per: u32, rowStride: u32, off: u32, eps: f32, hasB: u32 };
@group(0) @binding(0) var<storage, read_write> Y: array<f32>;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
@group(0) @binding(2) var<storage, read> Bs: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
${inPlace ? "" : "@group(0) @binding(4) var<storage, read> X: array<f32>;"}
fn src(i: u32) -> f32 { return ${inPlace ? "Y" : "X"}[i]; }
const T: u32 = ${NORM_THREADS}u;
var<workgroup> part: array<f32, T>;
fn total(v: f32, t: u32) -> f32 {
  part[t] = v;
  workgroupBarrier();
  for (var s = T / 2u; s > 0u; s >>= 1u) {
    if (t < s) { part[t] += part[t + s]; }
    workgroupBarrier();
  }
  let sum = part[0];
  workgroupBarrier();
  return sum;
}
@compute @workgroup_size(T)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = wid.y * nwg.x + wid.x;
  if (r >= p.rows) { return; }
  let t = lid.x;
  let base = (r / p.per) * p.rowStride + p.off + (r % p.per) * p.width;
  let n = f32(p.width);
${
  kind === "rms"
    ? `  var sq = 0.0;
  for (var c = t; c < p.width; c += T) { let v = src(base + c); sq += v * v; }
  let rstd = 1.0 / sqrt(total(sq, t) / n + p.eps);
  for (var c = t; c < p.width; c += T) {
    var y = src(base + c) * rstd * Wt[c];
    if (p.hasB == 1u) { y += Bs[c]; } // never set for RMSNorm; Bs must be read to stay in the layout
    Y[base + c] = y;
  }`
    : `  var s = 0.0;
  for (var c = t; c < p.width; c += T) { s += src(base + c); }
  let mean = total(s, t) / n;
  var q = 0.0;
  for (var c = t; c < p.width; c += T) { let d = src(base + c) - mean; q += d * d; }
  let rstd = 1.0 / sqrt(total(q, t) / n + p.eps);
  for (var c = t; c < p.width; c += T) {
    var y = (src(base + c) - mean) * rstd * Wt[c];
    if (p.hasB == 1u) { y += Bs[c]; }
    Y[base + c] = y;
  }`
}
}`;
