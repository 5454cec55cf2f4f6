// Rotary position embeddings on the GPU, in place on the qkv rows: each (row, head, pair i)
// thread rotates elements i and i + hd/2 of a q or k head by the angle of the row's position,
// read from the cos / sin tables that the CPU paths use too (nn/rope_tables.ts):
//   x1' = x1·cos − x2·sin        x2' = x2·cos + x1·sin
export const ROPE_THREADS = 64;

export const ropeWgsl = (): string => /* wgsl */ `
struct P { n: u32, heads: u32, kvHeads: u32, hd: u32, width: u32 };
@group(0) @binding(0) var<storage, read_write> QKV: array<f32>;
@group(0) @binding(1) var<storage, read> Pos: array<i32>;
@group(0) @binding(2) var<storage, read> Cos: array<f32>;
@group(0) @binding(3) var<storage, read> Sin: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
@compute @workgroup_size(${ROPE_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let o = (wid.y * nwg.x + wid.x) * ${ROPE_THREADS}u + lid.x;
  let half = p.hd / 2u;
  let perRow = (p.heads + p.kvHeads) * half;
  if (o >= p.n * perRow) { return; }
  let i = o / perRow;
  let h = (o % perRow) / half; // q heads first, then k heads: they sit in that order in a qkv row
  let e = o % half;
  let base = i * p.width + h * p.hd;
  let at = u32(max(Pos[i], 0)) * half + e; // padding rows may carry any position
  let c = Cos[at];
  let s = Sin[at];
  let x1 = QKV[base + e];
  let x2 = QKV[base + e + half];
  QKV[base + e] = x1 * c - x2 * s;
  QKV[base + e + half] = x2 * c + x1 * s;
}`;
