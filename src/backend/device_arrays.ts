// Arrays whose newest bytes may stay on a device (the webgpu backend's GPU) until the CPU
// reads them: lazy readback.
//
// A backend call writes its outputs into CPU typed arrays. A GPU backend that copied every
// output back after every call would spend most of a training step on readbacks that nobody
// reads: activations and gradients are read only by the next kernels, which run on the GPU
// too. So the tensor layer marks the arrays it allocates for kernel outputs with
// deviceArray(): the webgpu backend may leave a marked array's newest bytes on the GPU
// ("GPU-newer") and copy them back only when the CPU asks (syncForCpu / exposeToCpu).
//
// Why this is exact. A CPU read of a typed array cannot be intercepted, so a marked array
// must never be read on the CPU except through these functions:
// - Tensor.storage and Tensor.data() (the public ways to reach a tensor's elements) call
//   exposeToCpu: the bytes come back first, and the array loses its mark for good, because
//   the caller may keep the typed array and read it after later kernels wrote it again.
// - Tensor.deviceData() (internal) hands the array out without copying it back, for passing
//   straight to the current backend's kernels, which read GPU-newer arrays where they live.
// - Switching backends (setBackend) copies every GPU-newer array back first, so the CPU
//   backends never see stale bytes, even through arrays an autograd closure captured.
// Arrays the tensor layer did not mark (user data, parameters built on the CPU) are written
// back after every call, as without lazy readback.
import type { DataArray } from "./backend.js";

type SyncHook = (memory: ArrayBufferLike) => void;

/** The backing memory of marked arrays (weakly held: marking keeps nothing alive). */
const marked = new WeakSet<ArrayBufferLike>();
let hook: SyncHook | null = null;

/**
 * Installs the function that copies back every GPU-newer part of a memory block (null: none).
 * Called by a backend with lazy readback when it is loaded; arrays are marked only while one is.
 */
export function setDeviceSyncHook(h: SyncHook | null): void {
  hook = h;
}

/** A zero-filled Float32Array for a kernel's output, marked as deferrable while a lazy backend is loaded. */
export function deviceArray(length: number): Float32Array {
  const a = new Float32Array(length);
  if (hook) marked.add(a.buffer);
  return a;
}

/** Whether a backend may leave the newest bytes of `a` on its device. */
export function isDeviceArray(a: ArrayBufferView): boolean {
  return hook !== null && marked.has(a.buffer);
}

/** Copies back whatever part of `a`'s memory is GPU-newer, so the CPU may read it now (the mark stays). */
export function syncForCpu(a: DataArray): void {
  if (hook) hook(a.buffer);
}

/** syncForCpu, and the mark is dropped: the caller may keep `a` and read it at any later time. */
export function exposeToCpu(a: DataArray): void {
  if (!hook) return;
  hook(a.buffer);
  marked.delete(a.buffer);
}
