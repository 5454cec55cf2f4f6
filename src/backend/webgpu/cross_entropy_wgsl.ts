// Cross-entropy of logits against integer targets (backend.ts): the forward pass writes each
// row's logsumexp and loss (one workgroup per row, max subtracted before exp); the backward
// pass writes gLoss[r] · (softmax − onehot), one thread per logit. Targets are checked on the
// CPU first, so the shaders never index out of range; ignored rows get 0.
import { ELEMENT_THREADS, flatIndex } from "./elementwise_wgsl.js";
import { ROW_THREADS, rowReduceWgsl } from "./row_reduce_wgsl.js";

export const crossEntropyWgsl = (): string => /* wgsl */ `
struct P { rows: u32, cols: u32, ignore: i32 };
@group(0) @binding(0) var<storage, read> L: array<f32>;
@group(0) @binding(1) var<storage, read> Tg: array<i32>;
@group(0) @binding(2) var<storage, read_write> Loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> Lse: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${rowReduceWgsl}
@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = rowIndex(wid, nwg);
  if (r >= p.rows) { return; }
  let t = lid.x;
  let base = r * p.cols;
  var mx = -3.402823e38;
  for (var c = t; c < p.cols; c += W) { mx = max(mx, L[base + c]); }
  mx = reduceMax(mx, t);
  var s = 0.0;
  for (var c = t; c < p.cols; c += W) { s += exp(L[base + c] - mx); }
  let lse = mx + log(reduceSum(s, t));
  if (t == 0u) {
    Lse[r] = lse;
    let tg = Tg[r];
    if (tg == p.ignore) { Loss[r] = 0.0; } else { Loss[r] = lse - L[base + u32(tg)]; }
  }
}`;

export const crossEntropyBackwardWgsl = (): string => /* wgsl */ `
struct P { rows: u32, cols: u32, ignore: i32 };
@group(0) @binding(0) var<storage, read> L: array<f32>;
@group(0) @binding(1) var<storage, read> Tg: array<i32>;
@group(0) @binding(2) var<storage, read> Lse: array<f32>;
@group(0) @binding(3) var<storage, read> GLoss: array<f32>;
@group(0) @binding(4) var<storage, read_write> G: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
${flatIndex}
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flatIndex(wid, nwg, lid);
  if (i >= p.rows * p.cols) { return; }
  let r = i / p.cols;
  let tg = Tg[r];
  if (tg == p.ignore) { G[i] = 0.0; return; }
  let g = GLoss[r];
  var v = g * exp(L[i] - Lse[r]);
  if (i % p.cols == u32(tg)) { v -= g; }
  G[i] = v;
}`;
