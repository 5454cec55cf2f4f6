// Gathering a strided view into a contiguous buffer (copyStrided, backend.ts), one thread per
// output element, written from word `dstOff` of the destination on (0 for copyStrided; a block
// inside a buffer that stays on the GPU for webgpu.ts's copyRange). It moves 32-bit words, so one shader serves float32 and int32; byte arrays
// (masks) stay on the js backend.
import { ELEMENT_THREADS, MAX_BINARY_RANK, flatIndex } from "./elementwise_wgsl.js";

export const MAX_COPY_RANK = MAX_BINARY_RANK;

export const copyStridedWgsl = (): string => /* wgsl */ `
struct P { n: u32, off: u32, rank: u32, dstOff: u32, shape: array<vec4u, 2>, strides: array<vec4u, 2> }; // arrays start 16-byte aligned
@group(0) @binding(0) var<storage, read> Src: array<u32>;
@group(0) @binding(1) var<storage, read_write> Dst: array<u32>;
@group(0) @binding(2) var<uniform> p: P;
${flatIndex}
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flatIndex(wid, nwg, lid);
  if (i >= p.n) { return; }
  var rest = i;
  var si = p.off;
  for (var d = i32(p.rank) - 1; d >= 0; d--) { // innermost dim first
    let q = u32(d) / 4u;
    let w = u32(d) % 4u;
    si += (rest % p.shape[q][w]) * p.strides[q][w];
    rest /= p.shape[q][w];
  }
  Dst[p.dstOff + i] = Src[si];
}`;
