// out (m × n) = x (m × k) · Wᵀ with W (n × k) stored as 16-bit bits, f16 or bf16, widened to
// f32 as they are read (linearHalf, backend.ts). The bits arrive two to a u32 word; one
// thread per output value.
import { ELEMENT_THREADS, flatIndex } from "./elementwise_wgsl.js";

export const halfLinearWgsl = (dtype: "F16" | "BF16") => (): string =>
  /* wgsl */ `
struct P { m: u32, n: u32, k: u32 };
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Bits: array<u32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
${flatIndex}
fn weight(i: u32) -> f32 {
  let h = (Bits[i / 2u] >> ((i % 2u) * 16u)) & 0xffffu;
  ${dtype === "F16" ? "return unpack2x16float(h).x;" : "return bitcast<f32>(h << 16u);"}
}
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let o = flatIndex(wid, nwg, lid);
  if (o >= p.m * p.n) { return; }
  let i = o / p.n;
  let j = o % p.n;
  var acc = 0.0;
  for (var c = 0u; c < p.k; c++) { acc += X[i * p.k + c] * weight(j * p.k + c); }
  Y[o] = acc;
}`;
