// Q8_0 × quantized-activation matmul, the integer dot products of js_quant.ts: for each output
// (i, j), Σ over blocks of dW · dx · Σ_j qW·qx. A Q8_0 block is 34 bytes (f16 scale, 32 int8
// codes), so blocks are not 4-byte aligned: bytes are picked out of u32 words. One thread per
// output value.
import { ELEMENT_THREADS } from "./elementwise_wgsl.js";

export const q8_0MatmulWgsl = (): string => /* wgsl */ `
struct P { m: u32, n: u32, k: u32 };
@group(0) @binding(0) var<storage, read> Xq: array<u32>;  // m × k int8 codes, four to a word
@group(0) @binding(1) var<storage, read> Xd: array<f32>;  // m × k/32 block scales
@group(0) @binding(2) var<storage, read> Wb: array<u32>;  // n rows of k/32 blocks of 34 bytes
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
fn wByte(i: u32) -> i32 { return extractBits(bitcast<i32>(Wb[i / 4u]), (i % 4u) * 8u, 8u); }
fn wHalf(i: u32) -> f32 { return unpack2x16float(Wb[i / 4u])[(i / 2u) % 2u]; } // i is even
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let o = (wid.y * nwg.x + wid.x) * ${ELEMENT_THREADS}u + lid.x;
  if (o >= p.m * p.n) { return; }
  let i = o / p.n;
  let j = o % p.n;
  let nb = p.k / 32u;
  var acc = 0.0;
  for (var blk = 0u; blk < nb; blk++) {
    let wo = (j * nb + blk) * 34u;
    let xo = (i * nb + blk) * 8u; // word index of the block's 32 codes
    var s = 0;
    for (var w = 0u; w < 8u; w++) {
      let xw = bitcast<i32>(Xq[xo + w]);
      for (var c = 0u; c < 4u; c++) {
        s += extractBits(xw, c * 8u, 8u) * wByte(wo + 2u + w * 4u + c);
      }
    }
    acc += wHalf(wo) * Xd[i * nb + blk] * f32(s);
  }
  Y[o] = acc;
}`;
