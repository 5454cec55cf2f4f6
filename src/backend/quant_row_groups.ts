// Row-grouped in-memory layouts of Q8_0, Q5_0, Q4_0, Q4_1, Q4_K and Q6_K matrices for the native kernels
// (never written to a file: GGUF keeps the plain layouts). Rows are taken 16 at a time and their
// blocks interleaved, so one SIMD load brings the same 4 bytes of 16 rows (one int32 lane per
// row) and one broadcast activation word serves all of them; the 16 f16 scales of a block sit
// together and convert in one instruction (native/quant.cc, GroupedMatmul).
//
// Each unit (a Q8_0 block of 32 values, 34 bytes; a Q5_0 block, 22 bytes; a Q4_0 block, 18
// bytes; a Q4_1 block, 20 bytes; a Q4_K super-block of 256 values, 144 bytes; a Q6_K
// super-block of 256 values, 210 bytes) of a group of 16 rows becomes 16 × its bytes,
// interleaved; row r's bytes go to:
//
//   q8_0x16   0..31     f16 scale at 2r
//             32..543   int8 code q (0..31) at 32 + 64·(q >> 2) + 4r + (q & 3)
//   q5_0x16   0..31     f16 scale at 2r
//             32..95    the fifth bits (u32 qh): its 4-bit nibble i (bits of values 4i..4i+3)
//                       is nibble r of the little-endian 64-bit word i, at 32 + 8i + (r >> 1)
//                       (low half for even r); so word i is the 64 bits of chunk i & 3 below,
//                       for the low (i < 4) or high (i ≥ 4) nibbles, one bit per byte
//             96..351   nibble byte q (0..15) at 96 + 64·(q >> 2) + 4r + (q & 3)
//   q4_0x16   0..31     f16 scale at 2r
//             32..287   nibble byte q (0..15) at 32 + 64·(q >> 2) + 4r + (q & 3)
//   q4_1x16   0..63     f16 d at 2r, f16 m at 32 + 2r
//             64..319   nibble byte q (0..15) at 64 + 64·(q >> 2) + 4r + (q & 3)
//   q4_kx16   0..63     f16 d at 2r, f16 dmin at 32 + 2r
//             64..255   packed scale byte t (0..11) at 64 + 64·(t >> 2) + 4r + (t & 3)
//             256..2303 nibble byte q (0..127) at 256 + 512·(q >> 5) + 64·((q & 31) >> 2) + 4r + (q & 3)
//   q6_kx16   0..31     f16 d at 2r
//             32..287   int8 scale j (0..15) at 32 + 16j + r
//             288..3359 half h (0, 1) at 288 + 1536h: its ql byte q (0..63) at
//                       192·((q & 31) >> 2) + 64·(q >> 5) + 4r + (q & 3), its qh byte q (0..31)
//                       at 192·(q >> 2) + 128 + 4r + (q & 3)
//
// (Q6_K's plain super-block is ql[128] | qh[64] | scales[16] | f16 d; half h owns ql[64h..],
// qh[32h..]. One 64-byte chunk then holds 4 code bytes of each of the 16 rows.)
//
// The rows % 16 rows after the last full group stay plain, so a packed matrix has the byte
// count of the plain one. The js functions here define the layouts; the native kernels are
// tested against the plain js matmul through them.
import { rowBytes } from "./quant_blocks.js";
import { quantMatmulRowsJs } from "./js_quant.js";

/** Rows per interleaved group. */
export const GROUP_ROWS = 16;

export type GroupedDType = "Q8_0" | "Q5_0" | "Q4_0" | "Q4_1" | "Q4_K" | "Q6_K";
export type GroupedLayout = "q8_0x16" | "q5_0x16" | "q4_0x16" | "q4_1x16" | "q4_kx16" | "q6_kx16";

interface UnitLayout {
  values: number; // values per unit
  bytes: number; // bytes of one row's unit
  offset(r: number, j: number): number; // where byte j of row r's unit lies in the group's unit
  run(j: number): number; // bytes from j on that stay contiguous in both layouts (1, 2 or 4)
  /**
   * Bytes [from, to) of a row's unit that are split into their two 4-bit halves (Q5_0's fifth
   * bits): `offset(r, j, half)` then gives the byte of each half, which holds it in its low
   * (even r) or high (odd r) nibble.
   */
  nibbles?: { from: number; to: number; offset(r: number, j: number, half: number): number };
}

const UNITS: Record<GroupedDType, UnitLayout> = {
  Q8_0: {
    values: 32,
    bytes: 34,
    run: (j) => (j < 2 ? 2 : 4),
    offset: (r, j) => (j < 2 ? 2 * r + j : 32 + 64 * ((j - 2) >> 2) + 4 * r + ((j - 2) & 3)),
  },
  Q5_0: {
    values: 32,
    bytes: 22,
    run: (j) => (j < 2 ? 2 : j < 6 ? 1 : 4),
    offset: (r, j) => (j < 2 ? 2 * r + j : 96 + 64 * ((j - 6) >> 2) + 4 * r + ((j - 6) & 3)),
    // qh byte j - 2 holds nibbles 2(j - 2) (low half) and 2(j - 2) + 1 (high half).
    nibbles: { from: 2, to: 6, offset: (r, j, half) => 32 + 8 * (2 * (j - 2) + half) + (r >> 1) },
  },
  Q4_0: {
    values: 32,
    bytes: 18,
    run: (j) => (j < 2 ? 2 : 4),
    offset: (r, j) => (j < 2 ? 2 * r + j : 32 + 64 * ((j - 2) >> 2) + 4 * r + ((j - 2) & 3)),
  },
  Q4_1: {
    values: 32,
    bytes: 20,
    run: (j) => (j < 4 ? 2 : 4),
    offset: (r, j) => (j < 4 ? 32 * (j >> 1) + 2 * r + (j & 1) : 64 + 64 * ((j - 4) >> 2) + 4 * r + ((j - 4) & 3)),
  },
  Q4_K: {
    values: 256,
    bytes: 144,
    run: (j) => (j < 4 ? 2 : 4),
    offset(r, j) {
      if (j < 4) return 32 * (j >> 1) + 2 * r + (j & 1);
      if (j < 16) return 64 + 64 * ((j - 4) >> 2) + 4 * r + ((j - 4) & 3);
      const q = j - 16;
      return 256 + 512 * (q >> 5) + 64 * ((q & 31) >> 2) + 4 * r + (q & 3);
    },
  },
  Q6_K: {
    values: 256,
    bytes: 210,
    run: (j) => (j < 192 ? 4 : j < 208 ? 1 : 2),
    offset(r, j) {
      if (j < 128) {
        const q = j & 63; // ql byte q of half j >> 6
        return 288 + 1536 * (j >> 6) + 192 * ((q & 31) >> 2) + 64 * (q >> 5) + 4 * r + (q & 3);
      }
      if (j < 192) {
        const q = j - 128; // qh
        return 288 + 1536 * (q >> 5) + 192 * ((q & 31) >> 2) + 128 + 4 * r + (q & 3);
      }
      if (j < 208) return 32 + 16 * (j - 192) + r; // scales
      return 2 * r + (j - 208); // d
    },
  },
};

/** The grouped layout of a dtype, or null when it has none. */
export function groupedLayoutOf(dtype: string): GroupedLayout | null {
  const layouts: Record<string, GroupedLayout> = {
    Q8_0: "q8_0x16",
    Q5_0: "q5_0x16",
    Q4_0: "q4_0x16",
    Q4_1: "q4_1x16",
    Q4_K: "q4_kx16",
    Q6_K: "q6_kx16",
  };
  return layouts[dtype] ?? null;
}

function checkSize(dtype: GroupedDType, data: Uint8Array, rows: number, cols: number, what: string): number {
  const u = UNITS[dtype];
  if (!Number.isSafeInteger(rows) || rows < 0 || !Number.isSafeInteger(cols) || cols <= 0 || cols % u.values !== 0) {
    throw new RangeError(`${what}: invalid ${dtype} shape [${rows}, ${cols}] (columns must be a positive multiple of ${u.values})`);
  }
  const units = cols / u.values;
  if (data.length !== rows * units * u.bytes)
    throw new RangeError(`${what}: ${data.length} bytes, a [${rows}, ${cols}] ${dtype} matrix has ${rows * units * u.bytes}`);
  return units;
}

/**
 * Moves row r's unit b between the plain layout (at `plain`) and the packed matrix (rows in full
 * groups only), run by run: each run of 1, 2 or 4 bytes stays contiguous in both layouts. Packing
 * ORs the split bytes' halves in, so `packed` must start zeroed.
 */
function moveUnit(
  u: UnitLayout,
  units: number,
  r: number,
  b: number,
  packed: Uint8Array,
  plain: Uint8Array,
  at: number,
  toPacked: boolean,
): void {
  const base = (Math.floor(r / GROUP_ROWS) * units + b) * GROUP_ROWS * u.bytes,
    rr = r % GROUP_ROWS;
  for (let j = 0; j < u.bytes; ) {
    if (u.nibbles && j >= u.nibbles.from && j < u.nibbles.to) {
      const shift = 4 * (rr & 1),
        lo = base + u.nibbles.offset(rr, j, 0),
        hi = base + u.nibbles.offset(rr, j, 1);
      if (toPacked) {
        packed[lo] = packed[lo]! | ((plain[at + j]! & 0xf) << shift);
        packed[hi] = packed[hi]! | ((plain[at + j]! >> 4) << shift);
      } else {
        plain[at + j] = ((packed[lo]! >> shift) & 0xf) | (((packed[hi]! >> shift) & 0xf) << 4);
      }
      j++;
      continue;
    }
    const o = base + u.offset(rr, j),
      len = u.run(j);
    for (let t = 0; t < len; t++) {
      if (toPacked) packed[o + t] = plain[at + j + t]!;
      else plain[at + j + t] = packed[o + t]!;
    }
    j += len;
  }
}

/** A new buffer holding the plain matrix `data` ([rows, cols]) in its grouped layout. */
export function packRowGroups(dtype: GroupedDType, data: Uint8Array, rows: number, cols: number): Uint8Array {
  const units = checkSize(dtype, data, rows, cols, "packRowGroups");
  const u = UNITS[dtype];
  const out = new Uint8Array(data.length);
  const full = rows - (rows % GROUP_ROWS);
  for (let r = 0; r < full; r++) for (let b = 0; b < units; b++) moveUnit(u, units, r, b, out, data, (r * units + b) * u.bytes, true);
  out.set(data.subarray(full * units * u.bytes), full * units * u.bytes); // the plain tail
  return out;
}

/** Row `row` of a packed matrix, in the plain layout (rowBytes(dtype, cols) bytes), into `out`. */
export function unpackGroupedRow(dtype: GroupedDType, data: Uint8Array, rows: number, cols: number, row: number, out: Uint8Array): void {
  const units = checkSize(dtype, data, rows, cols, "unpackGroupedRow");
  if (!Number.isInteger(row) || row < 0 || row >= rows) throw new RangeError(`unpackGroupedRow: row ${row} is out of range [0, ${rows})`);
  const u = UNITS[dtype],
    rb = units * u.bytes;
  if (row >= rows - (rows % GROUP_ROWS)) {
    out.set(data.subarray(row * rb, (row + 1) * rb));
    return;
  }
  for (let b = 0; b < units; b++) moveUnit(u, units, row, b, data, out, b * u.bytes, false);
}

/**
 * out (m × rows) = x (m × cols) · Wᵀ with W packed: the js fallback (when the native kernel
 * is not in use), one group of rows unpacked at a time into the plain js matmul.
 */
export function matmulGroupedJs(
  dtype: GroupedDType,
  x: Float32Array,
  m: number,
  cols: number,
  data: Uint8Array,
  rows: number,
  out: Float32Array,
): void {
  checkSize(dtype, data, rows, cols, "matmulGroupedJs");
  if (!Number.isSafeInteger(m) || m < 0 || x.length < m * cols)
    throw new RangeError(`matmulGroupedJs: x has ${x.length} values, m × k = ${m * cols}`);
  if (out.length < m * rows) throw new RangeError(`matmulGroupedJs: out has ${out.length} values, m × n = ${m * rows}`);
  const rb = rowBytes(dtype, cols);
  const plain = new Uint8Array(GROUP_ROWS * rb),
    part = new Float32Array(m * GROUP_ROWS);
  for (let r0 = 0; r0 < rows; r0 += GROUP_ROWS) {
    const n = Math.min(GROUP_ROWS, rows - r0);
    for (let r = 0; r < n; r++) unpackGroupedRow(dtype, data, rows, cols, r0 + r, plain.subarray(r * rb, (r + 1) * rb));
    quantMatmulRowsJs(dtype, x, m, cols, plain.subarray(0, n * rb), n, part);
    for (let i = 0; i < m; i++) for (let r = 0; r < n; r++) out[i * rows + r0 + r] = part[i * n + r]!;
  }
}
