// The worker thread behind the synchronous webgpu backend: it owns the GPU device and runs
// the async kernels of WebGPUBackend (webgpu.ts) one request at a time, while the caller
// sleeps in Atomics.wait (see sync_protocol.ts for the handshake).
//
// Every path ends in a reply and a wake-up, errors included: the caller is blocked and
// cannot see this thread's exceptions any other way.
import { type MessagePort as NodeMessagePort, parentPort } from "node:worker_threads";
import { WebGPUBackend } from "../webgpu.js";
import { decodeArgs } from "./marshal.js";
import { openWebGPU } from "./open.js";
import { ResidentStore } from "./resident.js";
import { DONE, type GpuCounters, type Reply, type Request } from "./sync_protocol.js";

let control: Int32Array | null = null;
let port: NodeMessagePort | null = null;
let backend: WebGPUBackend | null = null;
const residency = new ResidentStore();

function counters(): GpuCounters | undefined {
  if (!backend) return undefined;
  return { ...backend.gpu.stats, residentBytes: residency.residentBytes };
}

function reply(r: Reply): void {
  port!.postMessage(r);
  Atomics.store(control!, 0, DONE);
  Atomics.notify(control!, 0);
}

function fail(e: unknown): Reply {
  const err = e instanceof Error ? e : new Error(String(e));
  return { ok: false, error: err.message, errorName: err.name };
}

async function open(): Promise<Reply> {
  const opened = await openWebGPU();
  if (!opened.ok) return { ok: false, error: opened.reason, errorName: "Error" };
  backend = new WebGPUBackend(opened.context);
  backend.gpu.residency = residency;
  return { ok: true, adapterName: backend.adapterName };
}

async function call(req: Extract<Request, { kind: "call" }>): Promise<Reply> {
  residency.apply(req.update);
  if (!backend) return { ok: false, error: "webgpu: the device is not open", errorName: "Error" };
  const fn = (backend as unknown as Record<string, unknown>)[req.op];
  if (typeof fn !== "function") return { ok: false, error: `webgpu: no kernel "${req.op}"`, errorName: "Error" };
  const args = decodeArgs(req.args, (id) => residency.mirror(id));
  residency.beginCall(req.outputs);
  let ok = false;
  try {
    await (fn as (...a: unknown[]) => Promise<void>).apply(backend, args);
    ok = true;
  } finally {
    residency.endCall(ok);
  }
  return { ok: true, gpu: counters() };
}

async function handle(req: Request): Promise<void> {
  if (req.kind === "init") {
    control = new Int32Array(req.control);
    port = req.port;
    port.on("message", (r: Request) => void handle(r));
    return;
  }
  let r: Reply;
  try {
    if (req.kind === "open") r = await open();
    else r = await call(req);
  } catch (e) {
    r = { ...fail(e), gpu: counters() };
  }
  reply(r);
}

// An error that escapes a handler still answers the blocked caller, instead of leaving it
// to wait out its timeout.
process.on("uncaughtException", (e) => {
  if (control && port) reply(fail(e));
});
process.on("unhandledRejection", (e) => {
  if (control && port) reply(fail(e));
});

parentPort!.once("message", (req: Request) => void handle(req));
