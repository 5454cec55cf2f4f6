// Reductions over the middle axis of a contiguous (outer, size, inner) array (reduce and
// argReduce, backend.ts), one thread per output element walking the `size` axis in order.
// Sums use Kahan compensation: the js reference sums in float64, and a long float32 sum
// would drift from it. NaN wins in max / min / argmax / argmin, as in torch.
import type { ReduceOp } from "../backend.js";
import { ELEMENT_THREADS, flatIndex } from "./elementwise_wgsl.js";

const header = (outType: string): string => /* wgsl */ `
struct P { outer: u32, size: u32, inner: u32 };
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<${outType}>;
@group(0) @binding(2) var<uniform> p: P;
${flatIndex}`;

const BODY: Record<ReduceOp, string> = {
  sum: /* wgsl */ `
  var acc = 0.0;
  var comp = 0.0;
  for (var s = 0u; s < p.size; s++) {
    let yk = X[base + s * p.inner] - comp;
    let t = acc + yk;
    comp = (t - acc) - yk;
    acc = t;
  }`,
  max: /* wgsl */ `
  var acc = X[base];
  for (var s = 1u; s < p.size && acc == acc; s++) {
    let v = X[base + s * p.inner];
    if (v > acc || v != v) { acc = v; }
  }`,
  min: /* wgsl */ `
  var acc = X[base];
  for (var s = 1u; s < p.size && acc == acc; s++) {
    let v = X[base + s * p.inner];
    if (v < acc || v != v) { acc = v; }
  }`,
};

export const reduceWgsl = (op: ReduceOp) => (): string =>
  /* wgsl */ `${header("f32")}
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let o = flatIndex(wid, nwg, lid);
  if (o >= p.outer * p.inner) { return; }
  let base = (o / p.inner) * p.size * p.inner + o % p.inner;
  ${BODY[op]}
  Y[o] = acc;
}`;

/** First index of the max (or min); size must be ≥ 1. */
export const argReduceWgsl = (op: "argmax" | "argmin") => (): string =>
  /* wgsl */ `${header("i32")}
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let o = flatIndex(wid, nwg, lid);
  if (o >= p.outer * p.inner) { return; }
  let base = (o / p.inner) * p.size * p.inner + o % p.inner;
  var best = X[base];
  var bestIndex = 0u;
  for (var s = 1u; s < p.size && best == best; s++) {
    let v = X[base + s * p.inner];
    if (v != v || v ${op === "argmax" ? ">" : "<"} best) { best = v; bestIndex = s; }
  }
  Y[o] = i32(bestIndex);
}`;
