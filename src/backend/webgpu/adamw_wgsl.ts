// One AdamW step in place (backend.ts gives PyTorch's formula), one thread per parameter.
// The bias corrections 1 − β^step are computed once on the CPU in float64.
import { ELEMENT_THREADS, flatIndex } from "./elementwise_wgsl.js";

export const adamwWgsl = (): string => /* wgsl */ `
struct P { n: u32, lr: f32, beta1: f32, beta2: f32, eps: f32, wd: f32, bc1: f32, bc2: f32 };
@group(0) @binding(0) var<storage, read_write> Pm: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> M: array<f32>;
@group(0) @binding(3) var<storage, read_write> V: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${flatIndex}
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flatIndex(wid, nwg, lid);
  if (i >= p.n) { return; }
  let g = G[i];
  var w = Pm[i] - p.lr * p.wd * Pm[i];
  let m = p.beta1 * M[i] + (1.0 - p.beta1) * g;
  let v = p.beta2 * V[i] + (1.0 - p.beta2) * g * g;
  M[i] = m;
  V[i] = v;
  w -= (p.lr * (m / p.bc1)) / (sqrt(v / p.bc2) + p.eps);
  Pm[i] = w;
}`;
