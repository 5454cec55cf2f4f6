// What the synchronous webgpu backend (sync_backend.ts) and its worker thread (sync_worker.ts)
// say to each other.
//
// The caller's thread posts requests on a MessagePort; the worker handles them one at a time,
// in order, and answers each with one reply on the same port, after which it adds 1 to word 0
// of a small SharedArrayBuffer (`control`, the count of replies posted) and wakes the caller.
// A caller that needs results (outputs read back, an error to report) sleeps in Atomics.wait
// until the count reaches the number of requests it posted, then reads every reply with
// receiveMessageOnPort (a synchronous read). A call whose outputs all stay on the GPU (lazy
// readback) is posted without waiting: its reply, or its error, is read at the next wait.
// Typed arrays travel as mirrors (mirror_cache.ts, resident.ts): the request names an entry,
// never a copy of the data.
import type { MessagePort } from "node:worker_threads";
import type { ResidencyUpdate } from "./resident.js";

/** A typed array as it travels: its element type, its resident entry (whose mirror holds it) and element count. */
export interface ArrayRef {
  $array: "f32" | "i32" | "u8" | "u16";
  entry: number;
  length: number;
}

/** An argument as it travels: numbers, strings, booleans, null, ArrayRefs, and plain objects / arrays of these. */
export type Wire = number | string | boolean | null | ArrayRef | Wire[] | { [key: string]: Wire };

export type Request =
  /** First message: the shared words and the port replies come back on. */
  | { kind: "init"; control: SharedArrayBuffer; port: MessagePort }
  /** Open the GPU: the reply carries the adapter's name or why there is none. */
  | { kind: "open" }
  /**
   * Run `op` of the async WebGPUBackend on `args`, after applying `update` to the resident
   * entries; `outputs` are the entries the op writes, read back into their mirrors except the
   * `deferred` ones, whose bytes stay on the GPU until a "read".
   */
  | { kind: "call"; op: string; args: Wire[]; update: ResidencyUpdate; outputs: number[]; deferred: number[] }
  /** Copy the GPU-newer entries among `ids` into their mirrors. */
  | { kind: "read"; ids: number[] };

/** The worker's running totals (GpuContext.stats and the resident bytes), sent with every reply. */
export interface GpuCounters {
  submits: number;
  uploadBytes: number;
  readbackBytes: number;
  residentBytes: number;
}

export type Reply =
  | { ok: true; adapterName?: string; gpu?: GpuCounters }
  /** `op`: the call that failed; `fatal`: an error outside any request, after which the worker is unusable. */
  | { ok: false; error: string; errorName: string; gpu?: GpuCounters; op?: string; fatal?: boolean };
