// The worker thread behind the synchronous webgpu backend: it owns the GPU device and runs
// the async kernels of WebGPUBackend (webgpu.ts) one request at a time, in the order they
// were posted (see sync_protocol.ts for the handshake).
//
// Every path ends in a reply and a wake-up, errors included: the caller is blocked and
// cannot see this thread's exceptions any other way.
import { type MessagePort as NodeMessagePort, parentPort } from "node:worker_threads";
import { WebGPUBackend } from "../webgpu.js";
import { decodeArgs } from "./marshal.js";
import { openWebGPU } from "./open.js";
import { ResidentStore } from "./resident.js";
import type { GpuCounters, Reply, Request } from "./sync_protocol.js";

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
  Atomics.add(control!, 0, 1);
  Atomics.notify(control!, 0);
}

function fail(e: unknown): Extract<Reply, { ok: false }> {
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
  residency.beginCall(req.outputs, req.deferred);
  let ok = false;
  try {
    await (fn as (...a: unknown[]) => Promise<void>).apply(backend, args);
    ok = true;
  } finally {
    residency.endCall(ok);
  }
  return { ok: true, gpu: counters() };
}

/** Copies the GPU-newer entries among `ids` into their mirrors. */
async function readBack(ids: readonly number[]): Promise<void> {
  const entries = ids.map((id) => residency.gpuNewerEntry(id)).filter((e) => e !== null);
  if (entries.length > 0) await backend!.gpu.readResident(entries);
}

async function handle(req: Request): Promise<void> {
  let r: Reply;
  try {
    if (req.kind === "open") r = await open();
    else if (req.kind === "read") {
      if (!backend) throw new Error("webgpu: the device is not open");
      await readBack(req.ids);
      r = { ok: true, gpu: counters() };
    } else if (req.kind === "call") r = await call(req);
    else throw new Error(`webgpu: unexpected request "${req.kind}"`);
  } catch (e) {
    r = { ...fail(e), gpu: counters(), ...(req.kind === "call" ? { op: req.op } : {}) };
  }
  reply(r);
}

// Requests run one after another, in the order they came: a later kernel reads what an
// earlier one wrote.
let queue: Promise<void> = Promise.resolve();

function start(init: Request): void {
  if (init.kind !== "init") throw new Error(`webgpu worker: expected "init" first, got "${init.kind}"`);
  control = new Int32Array(init.control);
  port = init.port;
  port.on("message", (r: Request) => {
    queue = queue.then(() => handle(r));
  });
}

// An error that escapes a handler still answers the waiting caller, instead of leaving it to
// wait out its timeout; it is fatal (the request it belongs to may never finish), so the
// caller gives up on the backend.
process.on("uncaughtException", (e) => {
  if (control && port) reply({ ...fail(e), fatal: true });
});
process.on("unhandledRejection", (e) => {
  if (control && port) reply({ ...fail(e), fatal: true });
});

parentPort!.once("message", (req: Request) => start(req));
