// Backend selection: which kernel implementation the tensor library calls.
//
// Default: `native` when the addon loads, else `js` with one line on stderr saying why.
// TSGPT_BACKEND=js|native forces one (forcing native when it is unavailable is an error);
// setBackend() switches at run time (tests use it to run one suite on both backends).
// "webgpu" is recognized but cannot be the synchronous Backend yet: its kernels are async
// (src/backend/webgpu.ts; loadWebGPUBackend() opens it, or says once why no GPU is here).
import type { Backend } from "./backend.js";
import { jsBackend } from "./js.js";
import { loadNativeBackend, nativeUnavailableReason } from "./native.js";
import { type KernelSink, profiledBackend } from "./profiler.js";

export type { Backend } from "./backend.js";
export { jsBackend } from "./js.js";
export { WebGPUBackend, loadWebGPUBackend } from "./webgpu.js";
export { KernelTally, type KernelTotal, type KernelSink, profiledBackend } from "./profiler.js";

const WEBGPU_NOT_SYNC =
  "the webgpu backend's kernels are asynchronous (WebGPU reads results back only through promises), so it " +
  "cannot stand behind the synchronous tensor ops yet; use loadWebGPUBackend() for its kernels";

export type BackendName = "js" | "native";

let current: Backend | null = null;
let warned = false;

function nativeOrThrow(why: string): Backend {
  const native = loadNativeBackend();
  if (!native) {
    throw new Error(`tsgpt: ${why} asks for the native backend, but it is unavailable (${nativeUnavailableReason() ?? "unknown reason"})`);
  }
  return native;
}

function chooseDefault(): Backend {
  const forced = process.env.TSGPT_BACKEND;
  if (forced !== undefined && forced !== "") {
    if (forced === "js") return jsBackend;
    if (forced === "native") return nativeOrThrow("TSGPT_BACKEND=native");
    if (forced === "webgpu") throw new Error(`tsgpt: TSGPT_BACKEND=webgpu: ${WEBGPU_NOT_SYNC}`);
    throw new Error(`tsgpt: TSGPT_BACKEND must be "js" or "native", got "${forced}"`);
  }
  const native = loadNativeBackend();
  if (native) return native;
  if (!warned) {
    warned = true;
    process.stderr.write(`tsgpt: native backend unavailable (${nativeUnavailableReason() ?? "unknown reason"}); using the js backend\n`);
  }
  return jsBackend;
}

/** The backend every tensor op uses now. */
export function getBackend(): Backend {
  if (!current) current = chooseDefault();
  return current;
}

/** Switch backends. "native" throws a clear error when the addon is unavailable. */
export function setBackend(name: BackendName): void {
  if (name === "js") current = jsBackend;
  else if (name === "native") current = nativeOrThrow('setBackend("native")');
  else if ((name as string) === "webgpu") throw new Error(`setBackend("webgpu"): ${WEBGPU_NOT_SYNC}`);
  else throw new TypeError(`setBackend: expected "js" or "native", got "${String(name)}"`);
}

/**
 * Routes every kernel call of the current backend through a profiler (profiler.ts) until the
 * returned function is called, which puts the plain backend back.
 */
export function profileBackend(sink: KernelSink): () => void {
  const inner = getBackend();
  current = profiledBackend(inner, sink);
  return () => {
    current = inner;
  };
}

/** Names of the backends that can run here ("js" always; "native" when the addon loads). */
export function availableBackends(): BackendName[] {
  return loadNativeBackend() ? ["js", "native"] : ["js"];
}
