// Embedding lookup: out[i, d] = weight[ids[i], d], one thread per output value. The ids are
// checked on the CPU first (a RangeError naming the bad id), so the shader never reads out of range.
import { ELEMENT_THREADS } from "./elementwise_wgsl.js";

export const embeddingWgsl = (): string => /* wgsl */ `
struct P { n: u32, dim: u32 };
@group(0) @binding(0) var<storage, read> Wt: array<f32>;
@group(0) @binding(1) var<storage, read> Ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = (wid.y * nwg.x + wid.x) * ${ELEMENT_THREADS}u + lid.x;
  if (i >= p.n) { return; }
  let row = i / p.dim;
  Y[i] = Wt[u32(Ids[row]) * p.dim + i % p.dim];
}`;

/**
 * gw[ids[i], d] += gy[i, d]. One thread per column d walks the ids in order, so repeated ids
 * add up without atomics (WebGPU has no float atomics) and in the js backend's order.
 */
export const embeddingBackwardWgsl = (): string => /* wgsl */ `
struct P { count: u32, dim: u32 };
@group(0) @binding(0) var<storage, read> GY: array<f32>;
@group(0) @binding(1) var<storage, read> Ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> GW: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let d = (wid.y * nwg.x + wid.x) * ${ELEMENT_THREADS}u + lid.x;
  if (d >= p.dim) { return; }
  for (var i = 0u; i < p.count; i++) { GW[u32(Ids[i]) * p.dim + d] += GY[i * p.dim + d]; }
}`;
