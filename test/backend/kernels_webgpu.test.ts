// The shared kernel suite (kernel_suite.ts) on the synchronous webgpu backend (a worker
// thread owns the GPU; src/backend/webgpu/sync_backend.ts), with tolerances twice the
// native ones. Skipped, with the reason, where no WebGPU adapter comes up (on Linux without a
// GPU, Mesa's lavapipe from mesa-vulkan-drivers ≥ 25 gives one). Prints the adapter's name.
import { type WebGPUSyncBackend, loadWebGPUSyncBackend } from "../../src/backend/webgpu/sync_backend.js";
import { kernelSuite } from "./kernel_suite.js";

let webgpu: WebGPUSyncBackend | null = null;
let reason = "";
try {
  webgpu = loadWebGPUSyncBackend("the webgpu kernel suite");
  process.stdout.write(`# webgpu adapter: ${webgpu.adapterName}\n`);
} catch (e) {
  reason = (e as Error).message;
}
kernelSuite("webgpu", () => webgpu!, { tolScale: 2, skip: webgpu ? false : `webgpu unavailable: ${reason}` });
