// The shared piece of the row kernels (softmax, layer/RMS norm): one 256-thread workgroup per
// row, and a tree reduction of one f32 per thread through workgroup memory.
export const ROW_THREADS = 256;

export const rowReduceWgsl = /* wgsl */ `
const W: u32 = ${ROW_THREADS}u;
var<workgroup> red: array<f32, W>;
fn rowIndex(wid: vec3u, nwg: vec3u) -> u32 { return wid.y * nwg.x + wid.x; }
// Every thread calls this with its partial value and gets the row's total (or max).
fn reduceSum(v: f32, t: u32) -> f32 {
  red[t] = v;
  workgroupBarrier();
  for (var s = W / 2u; s > 0u; s >>= 1u) {
    if (t < s) { red[t] += red[t + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}
fn reduceMax(v: f32, t: u32) -> f32 {
  red[t] = v;
  workgroupBarrier();
  for (var s = W / 2u; s > 0u; s >>= 1u) {
    if (t < s) { red[t] = max(red[t], red[t + s]); }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}`;
