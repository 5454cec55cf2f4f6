// Backend selection: which kernel implementation the tensor library calls.
//
// Default: `native` when the addon loads, else `js` with one line on stderr saying why.
// TSGPT_BACKEND=js|native|webgpu forces one (forcing one that is unavailable is an error);
// setBackend() switches at run time (tests use it to run one suite on several backends).
// "webgpu" opens the GPU in a worker thread the first time it is asked for
// (webgpu/sync_backend.ts); nothing loads the optional `webgpu` package before that.
import type { Backend } from "./backend.js";
import { jsBackend } from "./js.js";
import { loadNativeBackend, nativeUnavailableReason } from "./native.js";
import { type KernelSink, profiledBackend } from "./profiler.js";
import { loadWebGPUSyncBackend, loadedWebGPUSyncBackend } from "./webgpu/sync_backend.js";

export type { Backend } from "./backend.js";
export { jsBackend } from "./js.js";
export { WebGPUBackend, loadWebGPUBackend } from "./webgpu.js";
export { KernelTally, type KernelTotal, type KernelSink, profiledBackend } from "./profiler.js";
export { type WebGPUSyncBackend, loadWebGPUSyncBackend } from "./webgpu/sync_backend.js";

export type BackendName = "js" | "native" | "webgpu";

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
    if (forced === "webgpu") return loadWebGPUSyncBackend("TSGPT_BACKEND=webgpu");
    throw new Error(`tsgpt: TSGPT_BACKEND must be "js", "native" or "webgpu", got "${forced}"`);
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

/** Switch backends. "native" and "webgpu" throw a clear error when they are unavailable here. */
export function setBackend(name: BackendName): void {
  // Outputs the GPU still holds come back first: the CPU backends read the arrays themselves.
  if (name !== "webgpu") loadedWebGPUSyncBackend()?.syncAll();
  if (name === "js") current = jsBackend;
  else if (name === "native") current = nativeOrThrow('setBackend("native")');
  else if (name === "webgpu") current = loadWebGPUSyncBackend('setBackend("webgpu")');
  else throw new TypeError(`setBackend: expected "js", "native" or "webgpu", got "${String(name)}"`);
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

/**
 * Names of the backends that can run here: "js" always, "native" when the addon loads, and
 * "webgpu" once it has been opened in this process (finding out whether a GPU exists means
 * loading Dawn and asking for an adapter, too costly just to list).
 */
export function availableBackends(): BackendName[] {
  const names: BackendName[] = loadNativeBackend() ? ["js", "native"] : ["js"];
  if (loadedWebGPUSyncBackend()) names.push("webgpu");
  return names;
}
