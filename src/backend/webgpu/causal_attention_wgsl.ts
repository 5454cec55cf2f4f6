// Training attention (causalAttention and its backward pass, CausalAttentionArgs in
// backend.ts; js_causal_attention.ts is the readable reference). q, k, v are read through
// their strides, so heads come straight from a packed q|k|v projection.
//
// Forward, one workgroup per (b, h, t): the threads score the keys query t sees into its row
// of probs (−inf elsewhere), reduce the row's max and sum, normalize it in place (0 where
// unseen), then sum probs · v for their share of the head dimensions.
// Backward, in two passes so that every gradient element has one writer (no float atomics):
// - per (b, h, t): dS[j] = P[j] · (dO·v_j − Σ P·(dO·v)) · scale into a scratch row, and
//   gq[b, t, h] += Σ_j dS[j] · k_j;
// - per (b, g, j, d): gk += Σ_{h of group g} Σ_t dS[t, j] · q[t, h, d] and
//   gv += Σ_h Σ_t P[t, j] · dO[t, h, d].
// gq, gk and gv live in one buffer G, starting at gqOff, gkOff, gvOff (all 0 when they are one
// packed array); each is laid out like q, k, v.
import { ELEMENT_THREADS, flatIndex } from "./elementwise_wgsl.js";
import { ROW_THREADS, rowReduceWgsl } from "./row_reduce_wgsl.js";

const common = /* wgsl */ `
struct P {
  batch: u32, time: u32, heads: u32, kvHeads: u32,
  headDim: u32, window: u32, hasValid: u32, scale: f32,
  qOff: u32, q0: u32, q1: u32, q2: u32,
  kOff: u32, k0: u32, k1: u32, k2: u32,
  vOff: u32, v0: u32, v1: u32, v2: u32,
  gqOff: u32, gkOff: u32, gvOff: u32, pad: u32,
};
fn qAt(b: u32, t: u32, h: u32) -> u32 { return p.qOff + b * p.q0 + t * p.q1 + h * p.q2; }
fn kAt(b: u32, t: u32, g: u32) -> u32 { return p.kOff + b * p.k0 + t * p.k1 + g * p.k2; }
fn vAt(b: u32, t: u32, g: u32) -> u32 { return p.vOff + b * p.v0 + t * p.v1 + g * p.v2; }`;

const sees = /* wgsl */ `
fn isValid(i: u32) -> bool { return ((Valid[i / 4u] >> ((i % 4u) * 8u)) & 0xffu) != 0u; }
fn sees(b: u32, t: u32, j: u32) -> bool {
  if (j > t) { return false; }
  if (p.window > 0u && t - j >= p.window) { return false; }
  return p.hasValid == 0u || isValid(b * p.time + j);
}`;

export const causalAttentionWgsl = (): string => /* wgsl */ `
${common}
@group(0) @binding(0) var<storage, read> Q: array<f32>;
@group(0) @binding(1) var<storage, read> K: array<f32>;
@group(0) @binding(2) var<storage, read> V: array<f32>;
@group(0) @binding(3) var<storage, read> Valid: array<u32>; // bytes, four to a word
@group(0) @binding(4) var<storage, read_write> Probs: array<f32>;
@group(0) @binding(5) var<storage, read_write> O: array<f32>;
@group(0) @binding(6) var<uniform> p: P;
${rowReduceWgsl}
${sees}
@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = rowIndex(wid, nwg); // (b · heads + h) · time + t
  if (row >= p.batch * p.heads * p.time) { return; }
  let tid = lid.x;
  let t = row % p.time;
  let h = (row / p.time) % p.heads;
  let b = row / (p.time * p.heads);
  let g = h / (p.heads / p.kvHeads);
  let D = p.headDim;
  let qi = qAt(b, t, h);
  let base = row * p.time;
  let NEG = -3.402823e38;
  var mx = NEG;
  for (var j = tid; j < p.time; j += W) {
    var s = NEG;
    if (sees(b, t, j)) {
      let ki = kAt(b, j, g);
      var dot = 0.0;
      for (var d = 0u; d < D; d++) { dot += Q[qi + d] * K[ki + d]; }
      s = dot * p.scale;
    }
    Probs[base + j] = s;
    mx = max(mx, s);
  }
  mx = reduceMax(mx, tid);
  var sum = 0.0;
  for (var j = tid; j < p.time; j += W) {
    var e = 0.0;
    if (Probs[base + j] > NEG) { e = exp(Probs[base + j] - mx); }
    Probs[base + j] = e;
    sum += e;
  }
  sum = reduceSum(sum, tid);
  for (var j = tid; j < p.time; j += W) {
    if (sum > 0.0) { Probs[base + j] = Probs[base + j] / sum; }
  }
  storageBarrier();
  workgroupBarrier();
  let oi = (b * p.time + t) * p.heads * D + h * D;
  for (var d = tid; d < D; d += W) {
    var acc = 0.0;
    for (var j = 0u; j <= t; j++) { acc += Probs[base + j] * V[vAt(b, j, g) + d]; }
    O[oi + d] = acc;
  }
}`;

export const causalAttentionGradQWgsl = (): string => /* wgsl */ `
${common}
@group(0) @binding(0) var<storage, read> K: array<f32>;
@group(0) @binding(1) var<storage, read> V: array<f32>;
@group(0) @binding(2) var<storage, read> Probs: array<f32>;
@group(0) @binding(3) var<storage, read> GO: array<f32>;
@group(0) @binding(4) var<storage, read_write> DS: array<f32>;
@group(0) @binding(5) var<storage, read_write> G: array<f32>;
@group(0) @binding(6) var<uniform> p: P;
${rowReduceWgsl}
@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = rowIndex(wid, nwg);
  if (row >= p.batch * p.heads * p.time) { return; }
  let tid = lid.x;
  let t = row % p.time;
  let h = (row / p.time) % p.heads;
  let b = row / (p.time * p.heads);
  let g = h / (p.heads / p.kvHeads);
  let D = p.headDim;
  let base = row * p.time;
  let oi = (b * p.time + t) * p.heads * D + h * D;
  var pdp = 0.0;
  for (var j = tid; j <= t; j += W) {
    var dp = 0.0;
    let pj = Probs[base + j];
    if (pj != 0.0) {
      let vi = vAt(b, j, g);
      for (var d = 0u; d < D; d++) { dp += GO[oi + d] * V[vi + d]; }
    }
    DS[base + j] = dp;
    pdp += pj * dp;
  }
  pdp = reduceSum(pdp, tid);
  for (var j = tid; j < p.time; j += W) {
    var ds = 0.0;
    if (j <= t) { ds = Probs[base + j] * (DS[base + j] - pdp) * p.scale; }
    DS[base + j] = ds;
  }
  storageBarrier();
  workgroupBarrier();
  let gqi = p.gqOff + qAt(b, t, h); // gq is laid out like q
  for (var d = tid; d < D; d += W) {
    var acc = 0.0;
    for (var j = 0u; j <= t; j++) { acc += DS[base + j] * K[kAt(b, j, g) + d]; }
    G[gqi + d] += acc;
  }
}`;

export const causalAttentionGradKVWgsl = (): string => /* wgsl */ `
${common}
@group(0) @binding(0) var<storage, read> Q: array<f32>;
@group(0) @binding(1) var<storage, read> Probs: array<f32>;
@group(0) @binding(2) var<storage, read> GO: array<f32>;
@group(0) @binding(3) var<storage, read> DS: array<f32>;
@group(0) @binding(4) var<storage, read_write> G: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
${flatIndex}
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flatIndex(wid, nwg, lid); // ((b · kvHeads + g) · time + j) · headDim + d
  let D = p.headDim;
  if (i >= p.batch * p.kvHeads * p.time * D) { return; }
  let d = i % D;
  let j = (i / D) % p.time;
  let g = (i / (D * p.time)) % p.kvHeads;
  let b = i / (D * p.time * p.kvHeads);
  let group = p.heads / p.kvHeads;
  var gk = 0.0;
  var gv = 0.0;
  for (var h = g * group; h < (g + 1u) * group; h++) {
    for (var t = j; t < p.time; t++) {
      let pi = ((b * p.heads + h) * p.time + t) * p.time + j;
      gk += DS[pi] * Q[qAt(b, t, h) + d];
      gv += Probs[pi] * GO[(b * p.time + t) * p.heads * D + h * D + d];
    }
  }
  G[p.gkOff + kAt(b, j, g) + d] += gk;
  G[p.gvOff + vAt(b, j, g) + d] += gv;
}`;
