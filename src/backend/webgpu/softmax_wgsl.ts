// Row-wise softmax / log-softmax, numerically stable: subtract the row max before exp.
import { ROW_THREADS, rowReduceWgsl } from "./row_reduce_wgsl.js";

export const softmaxWgsl = (): string => /* wgsl */ `
struct P { rows: u32, cols: u32, log: u32 };
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
${rowReduceWgsl}
@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = rowIndex(wid, nwg);
  if (r >= p.rows) { return; }
  let t = lid.x;
  let base = r * p.cols;
  var mx = -3.402823e38;
  for (var c = t; c < p.cols; c += W) { mx = max(mx, X[base + c]); }
  mx = reduceMax(mx, t);
  var s = 0.0;
  for (var c = t; c < p.cols; c += W) { s += exp(X[base + c] - mx); }
  s = reduceSum(s, t);
  let logS = log(s);
  for (var c = t; c < p.cols; c += W) {
    let z = X[base + c] - mx;
    if (p.log == 1u) { Y[base + c] = z - logS; } else { Y[base + c] = exp(z) / s; }
  }
}`;

/** softmax: gx = y · (gy − Σ gy·y); log-softmax: gx = gy − exp(y) · Σ gy. One workgroup per row. */
export const softmaxBackwardWgsl = (): string => /* wgsl */ `
struct P { rows: u32, cols: u32, log: u32 };
@group(0) @binding(0) var<storage, read> Yv: array<f32>;
@group(0) @binding(1) var<storage, read> GY: array<f32>;
@group(0) @binding(2) var<storage, read_write> GX: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
${rowReduceWgsl}
@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = rowIndex(wid, nwg);
  if (r >= p.rows) { return; }
  let t = lid.x;
  let base = r * p.cols;
  var s = 0.0;
  for (var c = t; c < p.cols; c += W) {
    if (p.log == 1u) { s += GY[base + c]; } else { s += GY[base + c] * Yv[base + c]; }
  }
  s = reduceSum(s, t);
  for (var c = t; c < p.cols; c += W) {
    let i = base + c;
    if (p.log == 1u) { GX[i] = GY[i] - exp(Yv[i]) * s; } else { GX[i] = Yv[i] * (GY[i] - s); }
  }
}`;
