// What the synchronous webgpu backend (sync_backend.ts) and its worker thread (sync_worker.ts)
// say to each other.
//
// The caller's thread posts one request at a time on a MessagePort and sleeps in Atomics.wait
// on word 0 of a small SharedArrayBuffer (`control`). The worker runs the kernel on the GPU,
// posts the reply on the same port, then sets the word to DONE and wakes the caller, who reads
// the reply with receiveMessageOnPort (a synchronous read). Typed arrays travel as mirrors
// (mirror_cache.ts, resident.ts): the request names an entry, never a copy of the data.
import type { MessagePort } from "node:worker_threads";
import type { ResidencyUpdate } from "./resident.js";

/** Word 0 of `control`: the caller sets IDLE before posting, the worker sets DONE when the reply is posted. */
export const IDLE = 0;
export const DONE = 1;

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
   * entries; `outputs` are the entries the op writes (read back into their mirrors).
   */
  | { kind: "call"; op: string; args: Wire[]; update: ResidencyUpdate; outputs: number[] };

/** The worker's running totals (GpuContext.stats and the resident bytes), sent with every reply. */
export interface GpuCounters {
  submits: number;
  uploadBytes: number;
  readbackBytes: number;
  residentBytes: number;
}

export type Reply =
  | { ok: true; adapterName?: string; gpu?: GpuCounters }
  | { ok: false; error: string; errorName: string; gpu?: GpuCounters };
