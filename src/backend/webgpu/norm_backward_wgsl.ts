// Gradients of LayerNorm and RMSNorm (the formulas of js.ts), in two passes because they
// reduce along different axes:
// - gx, per row (one workgroup per row): LayerNorm gx = rstd · (g − mean(g) − x̂ · mean(g·x̂)),
//   RMSNorm gx = rstd · (g − x · rstd² · mean(g·x)), with g = gy · w and x̂ = (x − mean) · rstd;
// - gw (and gb), per column (one thread per column summing over the rows in order), added to
//   what the caller's buffers already hold.
import { ELEMENT_THREADS, flatIndex } from "./elementwise_wgsl.js";
import { ROW_THREADS, rowReduceWgsl } from "./row_reduce_wgsl.js";

export const layerNormBackwardWgsl = (): string => /* wgsl */ `
struct P { rows: u32, cols: u32, hasW: u32 };
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
@group(0) @binding(2) var<storage, read> Mean: array<f32>;
@group(0) @binding(3) var<storage, read> Rstd: array<f32>;
@group(0) @binding(4) var<storage, read> GY: array<f32>;
@group(0) @binding(5) var<storage, read_write> GX: array<f32>;
@group(0) @binding(6) var<uniform> p: P;
${rowReduceWgsl}
fn w(c: u32) -> f32 { if (p.hasW == 1u) { return Wt[c]; } return 1.0; }
@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = rowIndex(wid, nwg);
  if (r >= p.rows) { return; }
  let t = lid.x;
  let base = r * p.cols;
  let mu = Mean[r];
  let rs = Rstd[r];
  var sg = 0.0;
  var sgx = 0.0;
  for (var c = t; c < p.cols; c += W) {
    let g = GY[base + c] * w(c);
    sg += g;
    sgx += g * (X[base + c] - mu) * rs;
  }
  let meanG = reduceSum(sg, t) / f32(p.cols);
  let meanGX = reduceSum(sgx, t) / f32(p.cols);
  for (var c = t; c < p.cols; c += W) {
    let g = GY[base + c] * w(c);
    GX[base + c] = rs * (g - meanG - (X[base + c] - mu) * rs * meanGX);
  }
}`;

/** gw[c] += Σ_r gy·x̂ and gb[c] += Σ_r gy (each only when its flag is set). */
export const layerNormParamGradWgsl = (): string => /* wgsl */ `
struct P { rows: u32, cols: u32, hasGW: u32, hasGB: u32 };
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Mean: array<f32>;
@group(0) @binding(2) var<storage, read> Rstd: array<f32>;
@group(0) @binding(3) var<storage, read> GY: array<f32>;
@group(0) @binding(4) var<storage, read_write> GW: array<f32>;
@group(0) @binding(5) var<storage, read_write> GB: array<f32>;
@group(0) @binding(6) var<uniform> p: P;
${flatIndex}
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let c = flatIndex(wid, nwg, lid);
  if (c >= p.cols) { return; }
  var sw = 0.0;
  var sb = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    let gy = GY[r * p.cols + c];
    sw += gy * (X[r * p.cols + c] - Mean[r]) * Rstd[r];
    sb += gy;
  }
  if (p.hasGW == 1u) { GW[c] += sw; }
  if (p.hasGB == 1u) { GB[c] += sb; }
}`;

export const rmsNormBackwardWgsl = (): string => /* wgsl */ `
struct P { rows: u32, cols: u32, hasW: u32 };
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
@group(0) @binding(2) var<storage, read> Rstd: array<f32>;
@group(0) @binding(3) var<storage, read> GY: array<f32>;
@group(0) @binding(4) var<storage, read_write> GX: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
${rowReduceWgsl}
fn w(c: u32) -> f32 { if (p.hasW == 1u) { return Wt[c]; } return 1.0; }
@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = rowIndex(wid, nwg);
  if (r >= p.rows) { return; }
  let t = lid.x;
  let base = r * p.cols;
  let rs = Rstd[r];
  var dot = 0.0;
  for (var c = t; c < p.cols; c += W) { dot += GY[base + c] * w(c) * X[base + c]; }
  let k = rs * rs * reduceSum(dot, t) / f32(p.cols);
  for (var c = t; c < p.cols; c += W) {
    GX[base + c] = rs * (GY[base + c] * w(c) - X[base + c] * k);
  }
}`;

/** gw[c] += Σ_r gy · x · rstd. */
export const rmsNormParamGradWgsl = (): string => /* wgsl */ `
struct P { rows: u32, cols: u32 };
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Rstd: array<f32>;
@group(0) @binding(2) var<storage, read> GY: array<f32>;
@group(0) @binding(3) var<storage, read_write> GW: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${flatIndex}
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let c = flatIndex(wid, nwg, lid);
  if (c >= p.cols) { return; }
  var s = 0.0;
  for (var r = 0u; r < p.rows; r++) { s += GY[r * p.cols + c] * X[r * p.cols + c] * Rstd[r]; }
  GW[c] += s;
}`;
