// What the synchronous webgpu backend (sync_backend.ts) and its worker thread (sync_worker.ts)
// say to each other.
//
// The caller's thread posts one request at a time on a MessagePort and sleeps in Atomics.wait
// on word 0 of a small SharedArrayBuffer (`control`). The worker runs the kernel on the GPU,
// posts the reply on the same port, then sets the word to DONE and wakes the caller, who reads
// the reply with receiveMessageOnPort (a synchronous read). Typed arrays travel through a
// shared arena (marshal.ts): the request names byte ranges of it, never copies of the data.
import type { MessagePort } from "node:worker_threads";

/** Word 0 of `control`: the caller sets IDLE before posting, the worker sets DONE when the reply is posted. */
export const IDLE = 0;
export const DONE = 1;

/** A typed array's place in the arena: its element type, byte offset and element count. */
export interface ArrayRef {
  $array: "f32" | "i32" | "u8" | "u16";
  byteOffset: number;
  length: number;
}

/** An argument as it travels: numbers, strings, booleans, null, ArrayRefs, and plain objects / arrays of these. */
export type Wire = number | string | boolean | null | ArrayRef | Wire[] | { [key: string]: Wire };

export type Request =
  /** First message: the shared words and the port replies come back on. */
  | { kind: "init"; control: SharedArrayBuffer; port: MessagePort }
  /** Open the GPU: the reply carries the adapter's name or why there is none. */
  | { kind: "open" }
  /** Run `op` of the async WebGPUBackend on `args`; `arena` is set when the caller grew it. */
  | { kind: "call"; op: string; args: Wire[]; arena?: SharedArrayBuffer };

export type Reply = { ok: true; adapterName?: string } | { ok: false; error: string; errorName: string };
