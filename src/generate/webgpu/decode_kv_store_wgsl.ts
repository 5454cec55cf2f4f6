// Appends the new tokens' keys and values to one layer's GPU KV cache: k and v are read from the
// qkv rows, and row i = (b, t) goes to slot start + t of sequence b. Cache layout as the CPU
// cache (kv_cache.ts): (batch, kvHeads, capacity, headDim).
export const KV_STORE_THREADS = 64;

export const kvStoreWgsl = (): string => /* wgsl */ `
struct P { n: u32, steps: u32, kvHeads: u32, hd: u32, width: u32, qDim: u32, capacity: u32 };
struct Step { start: u32 };
@group(0) @binding(0) var<storage, read> QKV: array<f32>;
@group(0) @binding(1) var<storage, read_write> K: array<f32>;
@group(0) @binding(2) var<storage, read_write> V: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@group(0) @binding(4) var<uniform> step: Step;
@compute @workgroup_size(${KV_STORE_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let o = (wid.y * nwg.x + wid.x) * ${KV_STORE_THREADS}u + lid.x;
  let kvDim = p.kvHeads * p.hd;
  if (o >= p.n * kvDim) { return; }
  let i = o / kvDim;
  let c = o % kvDim;
  let b = i / p.steps;
  let slot = step.start + i % p.steps;
  let to = ((b * p.kvHeads + c / p.hd) * p.capacity + slot) * p.hd + c % p.hd;
  let src = i * p.width + p.qDim + c;
  K[to] = QKV[src];
  V[to] = QKV[src + kvDim];
}`;
