// x[i, :] = token_embd[tokens[i], :] (+ position_embd[positions[i], :] with learned positions),
// one thread per value. The table may be quantized: `at` dequantizes the element it reads.
// Ids come from a GPU buffer, so a token the argmax kernel just chose feeds the next step
// without a trip through the CPU.
import { type GpuWeightFormat, weightReadWgsl } from "./weight_formats_wgsl.js";

export const EMBED_THREADS = 64;

export const embedWgsl = (format: GpuWeightFormat) => (): string =>
  /* wgsl */ `
struct P { n: u32, k: u32, wOff: u32, vocab: u32, hasPos: u32 };
@group(0) @binding(1) var<storage, read> Tok: array<i32>;
@group(0) @binding(2) var<storage, read> Pos: array<i32>;
@group(0) @binding(3) var<storage, read> PosTable: array<f32>;
@group(0) @binding(4) var<storage, read_write> Out: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
${weightReadWgsl(format)}
@compute @workgroup_size(${EMBED_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let o = (wid.y * nwg.x + wid.x) * ${EMBED_THREADS}u + lid.x;
  if (o >= p.n * p.k) { return; }
  let i = o / p.k;
  let c = o % p.k;
  let tok = u32(clamp(Tok[i], 0, i32(p.vocab) - 1)); // padding rows may hold anything
  var v = at(tok, c);
  if (p.hasPos == 1u) { v += PosTable[u32(max(Pos[i], 0)) * p.k + c]; }
  Out[o] = v;
}`;
