// The `--device` flag shared by the commands that run a model (train, finetune, eval, generate,
// chat, serve): which hardware the tensor ops run on.
//
// cpu    the native C++ backend when its addon loads, else the js reference backend (default)
// native the native backend, or an error saying why it is unavailable
// js     the js reference backend (slow, readable)
// webgpu the GPU through WebGPU (npm package `webgpu` in Node); errors clearly when no adapter
import { availableBackends, loadWebGPUSyncBackend, setBackend } from "../backend/index.js";
import { type OptionSpec, UsageError } from "./args.js";

export const DEVICES = ["cpu", "native", "js", "webgpu"] as const;
export type Device = (typeof DEVICES)[number];

export const deviceOption: OptionSpec = {
  type: "string",
  arg: "cpu|native|js|webgpu",
  help: "where the tensor ops run: cpu (native if built, else js), native, js or webgpu",
  default: "cpu",
};

/** Reads a --device value; undefined means the default, "cpu". */
export function deviceFlag(value: unknown): Device {
  if (value === undefined || value === "") return "cpu";
  if (typeof value === "string" && (DEVICES as readonly string[]).includes(value)) return value as Device;
  throw new UsageError(`--device: expected one of ${DEVICES.join(", ")}, got "${String(value)}"`);
}

/**
 * Makes the tensor library run on `device`. The webgpu backend is loaded lazily so that the CPU
 * paths never import the optional `webgpu` package.
 */
export async function applyDevice(device: Device): Promise<void> {
  if (device === "js") setBackend("js");
  else if (device === "native") setBackend("native");
  else if (device === "cpu") setBackend(availableBackends().includes("native") ? "native" : "js");
  else await applyWebGPU();
}

/**
 * Opens the GPU in a worker thread (webgpu/sync_backend.ts) and runs every tensor op there;
 * without an adapter the error says why ("no WebGPU adapter: …"). One line on stderr names
 * the adapter, so a run on a software one (lavapipe) is never mistaken for a GPU run.
 */
async function applyWebGPU(): Promise<void> {
  const be = loadWebGPUSyncBackend("--device webgpu");
  setBackend("webgpu");
  process.stderr.write(`tsgpt: tensor ops run on webgpu (${be.adapterName})\n`);
}
