// Causal, padding-masked, grouped-query attention of the new tokens over one layer's GPU KV
// cache, with an optional sliding window: one 64-thread workgroup per (row b, step t, head h).
// The threads score the visible slots (scale · q·k, or −inf for padding) into a scratch row,
// reduce its max and exp-sum, then each thread sums p_s · v_s for its share of the head's
// dimensions. The token in slot `last` sees slots first … last, first = last − window + 1 with
// a sliding window, else 0 (js_attention.ts is the reference).
export const ATTENTION_THREADS = 64;

export const attentionWgsl = (): string => /* wgsl */ `
struct P { steps: u32, heads: u32, kvHeads: u32, hd: u32, capacity: u32, width: u32, window: u32, scale: f32, rows: u32 };
struct Step { start: u32 };
@group(0) @binding(0) var<storage, read> QKV: array<f32>;
@group(0) @binding(1) var<storage, read> K: array<f32>;
@group(0) @binding(2) var<storage, read> V: array<f32>;
@group(0) @binding(3) var<storage, read> Valid: array<u32>; // (batch, capacity): 1 = a real token
@group(0) @binding(4) var<storage, read_write> S: array<f32>; // one score row per workgroup
@group(0) @binding(5) var<storage, read_write> O: array<f32>;
@group(0) @binding(6) var<uniform> p: P;
@group(0) @binding(7) var<uniform> step: Step;
const T: u32 = ${ATTENTION_THREADS}u;
var<workgroup> part: array<f32, T>;
fn reduce(v: f32, t: u32, isMax: bool) -> f32 {
  part[t] = v;
  workgroupBarrier();
  for (var s = T / 2u; s > 0u; s >>= 1u) {
    if (t < s) { part[t] = select(part[t] + part[t + s], max(part[t], part[t + s]), isMax); }
    workgroupBarrier();
  }
  let r = part[0];
  workgroupBarrier();
  return r;
}
@compute @workgroup_size(T)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= p.rows * p.heads) { return; }
  let t = lid.x;
  let h = g % p.heads;
  let i = g / p.heads;          // row of the qkv buffer: b · steps + step
  let b = i / p.steps;
  let last = step.start + i % p.steps;
  var first = 0u;
  if (p.window > 0u && last + 1u > p.window) { first = last + 1u - p.window; }
  let kvh = h / (p.heads / p.kvHeads);
  let hd = p.hd;
  let q = i * p.width + h * hd;
  let kv = (b * p.kvHeads + kvh) * p.capacity * hd;
  let sBase = g * p.capacity;
  let NEG = -3.402823e38;
  var mx = NEG;
  for (var s = first + t; s <= last; s += T) {
    var sc = NEG;
    if (Valid[b * p.capacity + s] != 0u) {
      var dot = 0.0;
      for (var d = 0u; d < hd; d++) { dot += QKV[q + d] * K[kv + s * hd + d]; }
      sc = dot * p.scale;
    }
    S[sBase + s] = sc;
    mx = max(mx, sc);
  }
  mx = reduce(mx, t, true);
  var sum = 0.0;
  for (var s = first + t; s <= last; s += T) {
    var e = 0.0;
    if (S[sBase + s] > NEG) { e = exp(S[sBase + s] - mx); }
    S[sBase + s] = e;
    sum += e;
  }
  sum = reduce(sum, t, false);
  storageBarrier();
  for (var d = t; d < hd; d += T) {
    var acc = 0.0;
    if (sum > 0.0) { // no visible slot: the output is 0
      for (var s = first; s <= last; s++) { acc += S[sBase + s] * V[kv + s * hd + d]; }
      acc /= sum;
    }
    O[i * p.heads * hd + h * hd + d] = acc;
  }
}`;
