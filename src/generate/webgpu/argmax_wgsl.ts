// Greedy decoding's choice on the GPU: for each sequence b, the id of its largest logit among
// ids < limit (the lowest id on a tie, as sampling.ts's argmax) and that token's log-probability,
// log p = −log Σ exp(l − max). Writes (id, log p) for the readback, 8 bytes per sequence instead
// of the whole vocabulary, and the id into the token buffer that the next step embeds, so the
// next step can be submitted before this one is read back.
export const ARGMAX_THREADS = 256;

export const argmaxWgsl = (): string => /* wgsl */ `
struct P { vocab: u32, limit: u32 };
@group(0) @binding(0) var<storage, read> L: array<f32>;
@group(0) @binding(1) var<storage, read_write> Out: array<u32>; // per sequence: id, bitcast log p
@group(0) @binding(2) var<storage, read_write> Tok: array<i32>;
@group(0) @binding(3) var<uniform> p: P;
const T: u32 = ${ARGMAX_THREADS}u;
var<workgroup> best: array<f32, T>;
var<workgroup> bestId: array<u32, T>;
var<workgroup> part: array<f32, T>;
@compute @workgroup_size(T)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let b = wid.x;
  let t = lid.x;
  let base = b * p.vocab;
  var mv = -3.402823e38;
  var mi = 0xffffffffu;
  for (var i = t; i < p.limit; i += T) {
    let v = L[base + i];
    if (v > mv) { mv = v; mi = i; } // strided ascending: the first max of this thread
  }
  best[t] = mv;
  bestId[t] = mi;
  workgroupBarrier();
  for (var s = T / 2u; s > 0u; s >>= 1u) {
    if (t < s) {
      let ov = best[t + s];
      let oi = bestId[t + s];
      if (ov > best[t] || (ov == best[t] && oi < bestId[t])) { best[t] = ov; bestId[t] = oi; }
    }
    workgroupBarrier();
  }
  let mx = best[0];
  var sum = 0.0;
  for (var i = t; i < p.limit; i += T) { sum += exp(L[base + i] - mx); }
  part[t] = sum;
  workgroupBarrier();
  for (var s = T / 2u; s > 0u; s >>= 1u) {
    if (t < s) { part[t] += part[t + s]; }
    workgroupBarrier();
  }
  if (t == 0u) {
    let id = min(bestId[0], p.limit - 1u);
    Out[2u * b] = id;
    Out[2u * b + 1u] = bitcast<u32>(-log(part[0]));
    Tok[b] = i32(id);
  }
}`;
