// Causal, padding-masked, grouped-query attention over a KV cache (AttentionArgs, backend.ts).
// One workgroup per (row b, step t, head h): the threads score the visible slots into a
// scratch row (scale · q·k, or -inf where the slot is in the future, padding or outside the
// sliding window), reduce its max and exp-sum, then each thread sums p_s · v_s for its share
// of the head dimensions.
import { ROW_THREADS, rowReduceWgsl } from "./row_reduce_wgsl.js";

export const attentionWgsl = (): string => /* wgsl */ `
struct P { batch: u32, steps: u32, heads: u32, kvHeads: u32, headDim: u32, capacity: u32, start: u32, scale: f32, window: u32 };
@group(0) @binding(0) var<storage, read> Q: array<f32>;
@group(0) @binding(1) var<storage, read> K: array<f32>;
@group(0) @binding(2) var<storage, read> V: array<f32>;
@group(0) @binding(3) var<storage, read> Valid: array<u32>; // bytes, four to a word
@group(0) @binding(4) var<storage, read_write> S: array<f32>; // scratch: one score row per workgroup
@group(0) @binding(5) var<storage, read_write> O: array<f32>;
@group(0) @binding(6) var<uniform> p: P;
${rowReduceWgsl}
fn isValid(i: u32) -> bool { return ((Valid[i / 4u] >> ((i % 4u) * 8u)) & 0xffu) != 0u; }
@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = rowIndex(wid, nwg);
  if (g >= p.batch * p.steps * p.heads) { return; }
  let t = lid.x;
  let h = g % p.heads;
  let bt = g / p.heads;         // row of Q and O: b * steps + step
  let b = bt / p.steps;
  let last = p.start + bt % p.steps; // the newest slot this query may see
  var first = 0u; // the oldest one: a sliding window hides slots ≤ last − window
  if (p.window > 0u && last + 1u > p.window) { first = last + 1u - p.window; }
  let kvh = h / (p.heads / p.kvHeads);
  let hd = p.headDim;
  let qBase = (bt * p.heads + h) * hd;
  let kvBase = (b * p.kvHeads + kvh) * p.capacity * hd;
  let sBase = g * p.capacity;
  let NEG = -3.402823e38;
  var mx = NEG;
  for (var s = t; s <= last; s += W) {
    var sc = NEG;
    if (s >= first && isValid(b * p.capacity + s)) {
      var dot = 0.0;
      for (var d = 0u; d < hd; d++) { dot += Q[qBase + d] * K[kvBase + s * hd + d]; }
      sc = dot * p.scale;
    }
    S[sBase + s] = sc;
    mx = max(mx, sc);
  }
  mx = reduceMax(mx, t);
  var sum = 0.0;
  for (var s = t; s <= last; s += W) {
    var e = 0.0;
    if (S[sBase + s] > NEG) { e = exp(S[sBase + s] - mx); }
    S[sBase + s] = e;
    sum += e;
  }
  sum = reduceSum(sum, t);
  storageBarrier();
  for (var d = t; d < hd; d += W) {
    var acc = 0.0;
    if (sum > 0.0) { // no visible slot: the output is 0
      for (var s = 0u; s <= last; s++) { acc += S[sBase + s] * V[kvBase + s * hd + d]; }
      acc /= sum;
    }
    O[qBase + d] = acc;
  }
}`;
