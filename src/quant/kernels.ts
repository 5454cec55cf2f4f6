// Quantized matmul on quantized tensors: the sizes are checked here, the product is the
// backend's quantMatmul (src/backend/backend.ts): the js reference (src/backend/js_quant.ts) or
// the native SIMD kernels (native/quant.cc), whichever backend is selected. Both give the same
// answer up to the order of float additions. Q8_0, Q5_0, Q4_0, Q4_1, Q4_K and Q6_K matrices
// may also be held in a row-grouped layout (row_groups.ts) that the native kernels read
// fastest (matmulGrouped).
import type { StoredTensor } from "../formats/types.js";
import { getBackend } from "../backend/index.js";
import { availableSimdLevels, loadNativeBackend, nativeUnavailableReason, setSimdLevel } from "../backend/native.js";
import type { Backend } from "../backend/backend.js";
import { type QuantDType, type QuantizedTensor, isQuantDType } from "./types.js";
import { checkQuantizedMatmul } from "./matmul.js";
import type { GroupedDType, GroupedLayout } from "./row_groups.js";

const DTYPE_OF: Record<GroupedLayout, GroupedDType> = {
  q8_0x16: "Q8_0",
  q5_0x16: "Q5_0",
  q4_0x16: "Q4_0",
  q4_1x16: "Q4_1",
  q4_kx16: "Q4_K",
  q6_kx16: "Q6_K",
};

/** Where quantized matmuls run now: "js", or "native/<simd level>". */
export function quantKernelInfo(): { kernel: string; reason?: string } {
  const be = getBackend();
  const reason =
    be.name === "js" ? (loadNativeBackend() ? "the js backend is selected" : (nativeUnavailableReason() ?? undefined)) : undefined;
  return reason ? { kernel: be.quantKernelName(), reason } : { kernel: be.quantKernelName() };
}

/**
 * out (m × n) = x (m × k) · Wᵀ for a quantized W of shape [n, k] in the plain layout (a
 * quantized tensor read from GGUF works as it is), on the selected backend.
 */
export function quantizedMatmul(x: Float32Array, m: number, k: number, w: QuantizedTensor | StoredTensor, out: Float32Array): void {
  if (!isQuantDType(w.dtype)) throw new TypeError(`quantized matmul: the weight is ${w.dtype}, not a quantized dtype`);
  const q = w as QuantizedTensor;
  const n = checkQuantizedMatmul(x, m, k, q, out);
  getBackend().quantMatmul(q.dtype, "rows", x, m, k, q.data, n, out);
}

/** out (m × n) = x (m × k) · Wᵀ for a row-grouped matrix W [n, k], on the selected backend. */
export function matmulGrouped(
  layout: GroupedLayout,
  x: Float32Array,
  m: number,
  k: number,
  data: Uint8Array,
  n: number,
  out: Float32Array,
): void {
  getBackend().quantMatmul(DTYPE_OF[layout], "grouped16", x, m, k, data, n, out);
}

// ---- Deprecated names, kept for one release: the same things through the backend ----------

function nativeOrThrow(what: string): Backend {
  const native = loadNativeBackend();
  if (!native) throw new Error(`${what}: the native backend is unavailable (${nativeUnavailableReason() ?? "unknown reason"})`);
  return native;
}

/** @deprecated The native backend's quantMatmul (loadNativeBackend().quantMatmul(dtype, "rows", …)). */
export function quantizedMatmulNative(x: Float32Array, m: number, k: number, w: QuantizedTensor, out: Float32Array): void {
  const n = checkQuantizedMatmul(x, m, k, w, out);
  nativeOrThrow("quantized matmul").quantMatmul(w.dtype, "rows", x, m, k, w.data, n, out);
}

/** @deprecated The native backend's quantMatmul(dtype, "grouped16", …). */
export function matmulGroupedNative(
  layout: GroupedLayout,
  x: Float32Array,
  m: number,
  k: number,
  data: Uint8Array,
  n: number,
  out: Float32Array,
): void {
  nativeOrThrow("quantized matmul").quantMatmul(DTYPE_OF[layout], "grouped16", x, m, k, data, n, out);
}

/** @deprecated Whether the selected backend multiplies this layout fastest: getBackend().preferredQuantLayout(dtype). */
export function nativeGroupedActive(layout: GroupedLayout): boolean {
  return getBackend().preferredQuantLayout(DTYPE_OF[layout]) === "grouped16";
}

/** @deprecated True when the native backend (which has every quantized kernel) loads. */
export function hasNativeQuantKernels(): boolean {
  return loadNativeBackend() !== null;
}

/** @deprecated Every dtype has a native kernel when the native backend loads. */
export function hasNativeKernelFor(dtype: QuantDType): boolean {
  return isQuantDType(dtype) && hasNativeQuantKernels();
}

/** @deprecated The SIMD levels of the native backend, best first (availableSimdLevels in src/backend/native.ts). */
export function quantSimdLevels(): string[] {
  return hasNativeQuantKernels() ? availableSimdLevels() : [];
}

// The names the quantized kernels' own levels had, and the common level that runs them now.
const LEGACY_LEVELS: Record<string, string> = { avx512vnni: "avx512", scalar: "generic" };

/** @deprecated Forces one SIMD level of every native kernel: setSimdLevel in src/backend/native.ts. */
export function setQuantSimdLevel(level: string): void {
  nativeOrThrow("setQuantSimdLevel");
  setSimdLevel(LEGACY_LEVELS[level] ?? level);
}
