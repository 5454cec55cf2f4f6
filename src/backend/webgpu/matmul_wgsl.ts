// Batched f32 matmul C[b] = op(A[b]) · op(B[b]); strides and transposes follow MatmulArgs
// (backend.ts). Two tilings of the same loop:
//
// - matmulWgsl (large products): a 16×16 workgroup computes a 64×64 tile of C, each thread a
//   4×4 block of it. Per step of 16 along k the workgroup stages a 64×16 slice of A and a
//   16×64 slice of B in workgroup memory; each thread then does 16 multiply-adds per pair of
//   values it reads back, and the workgroup meets at a barrier 16× less often per
//   multiply-add than with one output per thread.
// - matmulSmallWgsl (thin products: decode's m = 1, narrow heads): one output per thread,
//   16×16 tiles, so a 1-row product does not leave 63 of 64 rows of a tile idle.
//
// B may also be 16-bit (linearHalf's weights, backend.ts), widened to f32 as the tile is
// staged, so the multiply-adds and the sums stay f32 and the result is that of the f32 kernel
// on the widened weights:
// - "f16": an array<f16> read natively, on adapters with the `shader-f16` feature;
// - "F16bits" / "BF16bits": the same bits two to a u32 word, decoded by hand (any adapter).
export const MATMUL_TILE = 64; // C tile side of matmulWgsl
export const MATMUL_SMALL_TILE = 16; // C tile side of matmulSmallWgsl

/** How B's elements are stored. */
export type MatmulB = "f32" | "f16" | "F16bits" | "BF16bits";

/** B's declaration and bAt(i), its element i widened to f32. */
function bAccess(b: MatmulB): string {
  if (b === "f32") return "@group(0) @binding(1) var<storage, read> B: array<f32>;\nfn bAt(i: u32) -> f32 { return B[i]; }";
  if (b === "f16") return "@group(0) @binding(1) var<storage, read> B: array<f16>;\nfn bAt(i: u32) -> f32 { return f32(B[i]); }";
  const widen = b === "F16bits" ? "unpack2x16float(h).x" : "bitcast<f32>(h << 16u)";
  return `@group(0) @binding(1) var<storage, read> B: array<u32>;
fn bAt(i: u32) -> f32 {
  let h = (B[i / 2u] >> ((i % 2u) * 16u)) & 0xffffu;
  return ${widen};
}`;
}

const header = (b: MatmulB): string => /* wgsl */ `${b === "f16" ? "enable f16;" : ""}
struct P { batch: u32, m: u32, n: u32, k: u32, aOff: u32, aBS: u32, bOff: u32, bBS: u32, transA: u32, transB: u32, accumulate: u32 };
@group(0) @binding(0) var<storage, read> A: array<f32>;
${bAccess(b)}
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: P;

fn loadA(base: u32, i: u32, kk: u32) -> f32 {
  if (i >= p.m || kk >= p.k) { return 0.0; }
  if (p.transA == 1u) { return A[base + kk * p.m + i]; }
  return A[base + i * p.k + kk];
}
fn loadB(base: u32, kk: u32, j: u32) -> f32 {
  if (kk >= p.k || j >= p.n) { return 0.0; }
  if (p.transB == 1u) { return bAt(base + j * p.k + kk); }
  return bAt(base + kk * p.n + j);
}
fn store(b: u32, i: u32, j: u32, v: f32) {
  if (i >= p.m || j >= p.n) { return; }
  let o = (b * p.m + i) * p.n + j;
  if (p.accumulate == 1u) { C[o] += v; } else { C[o] = v; }
}`;

export const matmulWgsl = (b: MatmulB = "f32"): string => /* wgsl */ `${header(b)}
const BT: u32 = ${MATMUL_TILE}u; // C tile side
const BK: u32 = 16u;             // k slice per step
var<workgroup> tA: array<f32, 1024>; // [kk][i]: BK × BT
var<workgroup> tB: array<f32, 1024>; // [kk][j]: BK × BT

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = wid.y * nwg.x + wid.x;
  let tilesM = (p.m + BT - 1u) / BT;
  let tilesN = (p.n + BT - 1u) / BT;
  let b = g / (tilesM * tilesN);
  if (b >= p.batch) { return; } // whole workgroup leaves together: barriers stay uniform
  let r = g % (tilesM * tilesN);
  let i0 = (r / tilesN) * BT;
  let j0 = (r % tilesN) * BT;
  let aBase = p.aOff + b * p.aBS;
  let bBase = p.bOff + b * p.bBS;
  let tid = lid.y * 16u + lid.x;
  // cX[y] is C(i0 + lid.y + 16x, j0 + lid.x + 16y): four vec4 accumulators, no indexed arrays
  // (which some compilers keep in memory instead of registers).
  var c0 = vec4f(0.0);
  var c1 = vec4f(0.0);
  var c2 = vec4f(0.0);
  var c3 = vec4f(0.0);
  for (var k0 = 0u; k0 < p.k; k0 += BK) {
    for (var e = 0u; e < 4u; e++) {
      let idx = tid + e * 256u;
      // A: neighbouring threads read neighbouring k (row-major A) or neighbouring i (transposed).
      if (p.transA == 1u) { tA[(idx / BT) * BT + idx % BT] = loadA(aBase, i0 + idx % BT, k0 + idx / BT); }
      else { tA[(idx % BK) * BT + idx / BK] = loadA(aBase, i0 + idx / BK, k0 + idx % BK); }
      if (p.transB == 1u) { tB[(idx % BK) * BT + idx / BK] = loadB(bBase, k0 + idx % BK, j0 + idx / BK); }
      else { tB[(idx / BT) * BT + idx % BT] = loadB(bBase, k0 + idx / BT, j0 + idx % BT); }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let ra = kk * BT + lid.y;
      let rb = kk * BT + lid.x;
      let av = vec4f(tA[ra], tA[ra + 16u], tA[ra + 32u], tA[ra + 48u]);
      let bv = vec4f(tB[rb], tB[rb + 16u], tB[rb + 32u], tB[rb + 48u]);
      c0 += av.x * bv;
      c1 += av.y * bv;
      c2 += av.z * bv;
      c3 += av.w * bv;
    }
    workgroupBarrier();
  }
  let rows = array<vec4f, 4>(c0, c1, c2, c3);
  for (var x = 0u; x < 4u; x++) {
    for (var y = 0u; y < 4u; y++) { store(b, i0 + lid.y + 16u * x, j0 + lid.x + 16u * y, rows[x][y]); }
  }
}`;

export const matmulSmallWgsl = (b: MatmulB = "f32"): string => /* wgsl */ `${header(b)}
const T: u32 = ${MATMUL_SMALL_TILE}u;
var<workgroup> tA: array<array<f32, T>, T>;
var<workgroup> tB: array<array<f32, T>, T>;

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
  store(b, i, j, acc);
}`;
