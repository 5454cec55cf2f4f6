// LayerNorm and RMSNorm over the last axis, one workgroup per row; they also write the row
// statistics (mean, rstd) the backward pass needs. A missing weight or bias is flagged in the
// params and a 1-element dummy buffer is bound in its place.
import { ROW_THREADS, rowReduceWgsl } from "./row_reduce_wgsl.js";

export const layerNormWgsl = (): string => /* wgsl */ `
struct P { rows: u32, cols: u32, eps: f32, hasW: u32, hasB: u32 };
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
@group(0) @binding(2) var<storage, read> Bs: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<storage, read_write> Mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> Rstd: array<f32>;
@group(0) @binding(6) var<uniform> p: P;
${rowReduceWgsl}
@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = rowIndex(wid, nwg);
  if (r >= p.rows) { return; }
  let t = lid.x;
  let base = r * p.cols;
  var s = 0.0;
  for (var c = t; c < p.cols; c += W) { s += X[base + c]; }
  let mean = reduceSum(s, t) / f32(p.cols);
  var v = 0.0;
  for (var c = t; c < p.cols; c += W) { let d = X[base + c] - mean; v += d * d; }
  let rstd = 1.0 / sqrt(reduceSum(v, t) / f32(p.cols) + p.eps);
  for (var c = t; c < p.cols; c += W) {
    var y = (X[base + c] - mean) * rstd;
    if (p.hasW == 1u) { y *= Wt[c]; }
    if (p.hasB == 1u) { y += Bs[c]; }
    Y[base + c] = y;
  }
  if (t == 0u) { Mean[r] = mean; Rstd[r] = rstd; }
}`;

export const rmsNormWgsl = (): string => /* wgsl */ `
struct P { rows: u32, cols: u32, eps: f32, hasW: u32 };
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<storage, read_write> Rstd: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${rowReduceWgsl}
@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = rowIndex(wid, nwg);
  if (r >= p.rows) { return; }
  let t = lid.x;
  let base = r * p.cols;
  var s = 0.0;
  for (var c = t; c < p.cols; c += W) { s += X[base + c] * X[base + c]; }
  let rstd = 1.0 / sqrt(reduceSum(s, t) / f32(p.cols) + p.eps);
  for (var c = t; c < p.cols; c += W) {
    var y = X[base + c] * rstd;
    if (p.hasW == 1u) { y *= Wt[c]; }
    Y[base + c] = y;
  }
  if (t == 0u) { Rstd[r] = rstd; }
}`;
