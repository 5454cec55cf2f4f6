// Finding a GPU: the npm package `webgpu` (Dawn) in Node, or navigator.gpu in a browser.
// Without an adapter the caller keeps the CPU backends; the reason is returned, not thrown.
/// <reference types="@webgpu/types" />
import { GpuContext } from "./context.js";

export type OpenResult = { ok: true; context: GpuContext } | { ok: false; reason: string };

async function gpuEntry(): Promise<GPU | string> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  try {
    // A variable specifier keeps TypeScript from requiring the optional package at build time.
    const name = "webgpu";
    const mod = (await import(name)) as { create(flags: string[]): GPU; globals: object };
    // The WGSL constants (GPUBufferUsage, GPUMapMode) the kernels use live in `globals`.
    Object.assign(globalThis, mod.globals);
    return mod.create([]);
  } catch (e) {
    return `the optional npm package "webgpu" is not installed or failed to load (${(e as Error).message})`;
  }
}

/** Opens the default adapter's device; never throws for "no GPU here". */
export async function openWebGPU(): Promise<OpenResult> {
  const gpu = await gpuEntry();
  if (typeof gpu === "string") return { ok: false, reason: gpu };
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter)
    return {
      ok: false,
      reason: "no WebGPU adapter (no Vulkan/Metal/D3D12 driver found; on Linux without a GPU, install mesa-vulkan-drivers for lavapipe)",
    };
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    // f16 in WGSL where the adapter has it (linearHalf reads f16 weights natively then).
    requiredFeatures: adapter.features.has("shader-f16") ? ["shader-f16"] : [],
    // Large models need large storage bindings: ask for what the adapter has.
    requiredLimits: { maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize, maxBufferSize: limits.maxBufferSize },
  });
  // The context keeps `gpu` and `adapter` referenced: Dawn's instance must outlive the device,
  // or garbage collection frees it under running work (a crash, not an error).
  return { ok: true, context: new GpuContext(device, adapter.info, [gpu, adapter]) };
}
