// Batched f32 matmul C[b] = op(A[b]) · op(B[b]), tiled: each 16×16 workgroup stages a 16×16
// tile of A and of B in workgroup memory per step of k, so every value read from global
// memory serves 16 multiply-adds. Strides and transposes follow MatmulArgs (backend.ts).
export const MATMUL_TILE = 16;

export const matmulWgsl = (): string => /* wgsl */ `
struct P { batch: u32, m: u32, n: u32, k: u32, aOff: u32, aBS: u32, bOff: u32, bBS: u32, transA: u32, transB: u32, accumulate: u32 };
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
const T: u32 = ${MATMUL_TILE}u;
var<workgroup> tA: array<array<f32, T>, T>;
var<workgroup> tB: array<array<f32, T>, T>;

fn loadA(base: u32, i: u32, kk: u32) -> f32 {
  if (i >= p.m || kk >= p.k) { return 0.0; }
  if (p.transA == 1u) { return A[base + kk * p.m + i]; }
  return A[base + i * p.k + kk];
}
fn loadB(base: u32, kk: u32, j: u32) -> f32 {
  if (kk >= p.k || j >= p.n) { return 0.0; }
  if (p.transB == 1u) { return B[base + j * p.k + kk]; }
  return B[base + kk * p.n + j];
}

@compute @workgroup_size(T, T)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = wid.y * nwg.x + wid.x;
  let tilesM = (p.m + T - 1u) / T;
  let tilesN = (p.n + T - 1u) / T;
  let b = g / (tilesM * tilesN);
  if (b >= p.batch) { return; } // whole workgroup leaves together: barriers stay uniform
  let r = g % (tilesM * tilesN);
  let i = (r / tilesN) * T + lid.y;
  let j = (r % tilesN) * T + lid.x;
  let aBase = p.aOff + b * p.aBS;
  let bBase = p.bOff + b * p.bBS;
  var acc = 0.0;
  for (var k0 = 0u; k0 < p.k; k0 += T) {
    tA[lid.y][lid.x] = loadA(aBase, i, k0 + lid.x);
    tB[lid.y][lid.x] = loadB(bBase, k0 + lid.y, j);
    workgroupBarrier();
    for (var t = 0u; t < T; t++) { acc += tA[lid.y][t] * tB[t][lid.x]; }
    workgroupBarrier();
  }
  if (i < p.m && j < p.n) {
    let o = (b * p.m + i) * p.n + j;
    if (p.accumulate == 1u) { C[o] += acc; } else { C[o] = acc; }
  }
}`;
