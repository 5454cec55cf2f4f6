// Which quantized matmul runs: the native kernels (native/quant.cc, int8 dot products with
// AVX-512 VNNI / AVX2 / scalar code chosen at run time) when the addon has them and the
// native backend is in use, else the js reference (matmul.ts). Both give the same answer up to
// the order of float additions. Q8_0, Q5_0, Q4_0, Q4_1, Q4_K and Q6_K matrices may also be held in a
// row-grouped layout (row_groups.ts) that only the native kernels read fast (matmulGrouped).
//
// The kernels live in the main addon (build/Release/tsgpt_native.node). TSGPT_QUANT_ADDON may
// name another .node file exporting the same functions (used to test the kernels on their own).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { StoredTensor } from "../formats/types.js";
import { getBackend } from "../backend/index.js";
import { type QuantDType, type QuantizedTensor, isQuantDType } from "./types.js";
import { checkQuantizedMatmul, quantizedMatmulJs } from "./matmul.js";
import { type GroupedDType, type GroupedLayout, matmulGroupedJs } from "./row_groups.js";

type NativeMatmul = (x: Float32Array, m: number, k: number, w: Uint8Array, n: number, out: Float32Array) => void;

interface QuantAddon {
  matmulQ8_0: NativeMatmul;
  matmulQ4_0: NativeMatmul;
  matmulQ4_K: NativeMatmul;
  matmulQ8Row: NativeMatmul;
  /** Absent in addons built before these formats had kernels (the js reference runs then). */
  matmulQ5_0?: NativeMatmul;
  matmulQ4_1?: NativeMatmul;
  matmulQ6_K?: NativeMatmul;
  /** The 16-row grouped layouts (row_groups.ts); absent in addons built before they existed. */
  matmulQ8_0x16?: NativeMatmul;
  matmulQ5_0x16?: NativeMatmul;
  matmulQ4_0x16?: NativeMatmul;
  matmulQ4_1x16?: NativeMatmul;
  matmulQ4_Kx16?: NativeMatmul;
  matmulQ6_Kx16?: NativeMatmul;
  quantSimdLevel(): string;
  quantSimdLevels(): string[];
  setQuantSimdLevel(level: string): void;
}

type MatmulName = "matmulQ8_0" | "matmulQ6_K" | "matmulQ5_0" | "matmulQ4_1" | "matmulQ4_0" | "matmulQ4_K" | "matmulQ8Row";

const FUNCTION_OF: Record<QuantDType, MatmulName> = {
  Q8_0: "matmulQ8_0", Q6_K: "matmulQ6_K", Q5_0: "matmulQ5_0", Q4_1: "matmulQ4_1", Q4_0: "matmulQ4_0", Q4_K: "matmulQ4_K", Q8_ROW: "matmulQ8Row",
};

let addon: QuantAddon | null | undefined;
let reason = "";

/** The folder above this file that holds binding.gyp (src/quant/ under tsx, dist/src/quant/ compiled). */
function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "binding.gyp"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

function loadQuantAddon(): QuantAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  const root = packageRoot();
  const file = process.env.TSGPT_QUANT_ADDON || (root ? join(root, "build", "Release", "tsgpt_native.node") : "");
  if (!file || !existsSync(file)) {
    reason = "the native addon is not built";
    return null;
  }
  try {
    const mod = createRequire(import.meta.url)(file) as Partial<QuantAddon>;
    if (typeof mod.matmulQ8_0 !== "function") reason = "the native addon has no quantized kernels (native/quant.cc is not linked in)";
    else addon = mod as QuantAddon;
  } catch (err) {
    reason = `the native addon failed to load: ${(err as Error).message}`;
  }
  return addon;
}

/** Where quantized matmuls run now: "js", or "native/<simd level>". */
export function quantKernelInfo(): { kernel: string; reason?: string } {
  const a = loadQuantAddon();
  if (!a) return { kernel: "js", reason };
  if (getBackend().name !== "native") return { kernel: "js", reason: "the js backend is selected" };
  return { kernel: `native/${a.quantSimdLevel()}` };
}

/** SIMD levels of the native quantized kernels, best first ([] without the addon). */
export function quantSimdLevels(): string[] {
  return loadQuantAddon()?.quantSimdLevels() ?? [];
}

/** Forces one SIMD level of the native kernels (for tests and benchmarks). */
export function setQuantSimdLevel(level: string): void {
  const a = loadQuantAddon();
  if (!a) throw new Error(`setQuantSimdLevel: ${reason}`);
  a.setQuantSimdLevel(level);
}

/** True when the native quantized kernels can run. */
export function hasNativeQuantKernels(): boolean {
  return loadQuantAddon() !== null;
}

/** True when the addon has a native kernel for this dtype (an older build may lack the newer ones). */
export function hasNativeKernelFor(dtype: QuantDType): boolean {
  return typeof loadQuantAddon()?.[FUNCTION_OF[dtype]] === "function";
}

/** The native kernel, even when the js backend is selected (for tests); throws without the addon. */
export function quantizedMatmulNative(x: Float32Array, m: number, k: number, w: QuantizedTensor, out: Float32Array): void {
  const a = loadQuantAddon();
  if (!a) throw new Error(`quantized matmul: ${reason}`);
  const f = a[FUNCTION_OF[w.dtype]];
  if (!f) throw new Error(`quantized matmul: the native addon has no ${w.dtype} kernel (rebuild it)`);
  const n = checkQuantizedMatmul(x, m, k, w, out);
  f(x, m, k, w.data, n, out);
}

/**
 * out (m × n) = x (m × k) · Wᵀ for a quantized W of shape [n, k] (a Q8_0 / Q4_0 tensor read
 * from GGUF works as it is). Native when available and the native backend is selected.
 */
export function quantizedMatmul(x: Float32Array, m: number, k: number, w: QuantizedTensor | StoredTensor, out: Float32Array): void {
  if (!isQuantDType(w.dtype)) throw new TypeError(`quantized matmul: the weight is ${w.dtype}, not a quantized dtype`);
  const q = w as QuantizedTensor;
  if (hasNativeKernelFor(q.dtype) && getBackend().name === "native") quantizedMatmulNative(x, m, k, q, out);
  else quantizedMatmulJs(x, m, k, q, out);
}

type GroupedName = "matmulQ8_0x16" | "matmulQ5_0x16" | "matmulQ4_0x16" | "matmulQ4_1x16" | "matmulQ4_Kx16" | "matmulQ6_Kx16";
const GROUPED_FUNCTION: Record<GroupedLayout, GroupedName> = {
  q8_0x16: "matmulQ8_0x16", q5_0x16: "matmulQ5_0x16", q4_0x16: "matmulQ4_0x16", q4_1x16: "matmulQ4_1x16", q4_kx16: "matmulQ4_Kx16", q6_kx16: "matmulQ6_Kx16",
};
const DTYPE_OF: Record<GroupedLayout, GroupedDType> = {
  q8_0x16: "Q8_0", q5_0x16: "Q5_0", q4_0x16: "Q4_0", q4_1x16: "Q4_1", q4_kx16: "Q4_K", q6_kx16: "Q6_K",
};

/** True when the native kernel for a row-grouped layout (row_groups.ts) can run and the native backend is selected. */
export function nativeGroupedActive(layout: GroupedLayout): boolean {
  return typeof loadQuantAddon()?.[GROUPED_FUNCTION[layout]] === "function" && getBackend().name === "native";
}

/** The native kernel for a row-grouped matrix W [n, k], even with the js backend (for tests). */
export function matmulGroupedNative(layout: GroupedLayout, x: Float32Array, m: number, k: number, data: Uint8Array, n: number, out: Float32Array): void {
  const f = loadQuantAddon()?.[GROUPED_FUNCTION[layout]];
  if (!f) throw new Error(`quantized matmul: ${reason || `the native addon has no ${layout} kernel (rebuild it)`}`);
  f(x, m, k, data, n, out);
}

/** out (m × n) = x (m × k) · Wᵀ for a row-grouped matrix W [n, k]: native when active, else the js fallback. */
export function matmulGrouped(layout: GroupedLayout, x: Float32Array, m: number, k: number, data: Uint8Array, n: number, out: Float32Array): void {
  if (nativeGroupedActive(layout)) matmulGroupedNative(layout, x, m, k, data, n, out);
  else matmulGroupedJs(DTYPE_OF[layout], x, m, k, data, n, out);
}
