// The worker's half of the resident-buffer cache of the synchronous webgpu backend: one GPU
// buffer per cached CPU array, kept from call to call. The design, and why it is exact, is at
// the top of sync_backend.ts; the caller's half is mirror_cache.ts.
//
// Each entry has a mirror (a SharedArrayBuffer the caller and this thread both see) and at
// most one GPU buffer. The rule this file keeps: an entry's GPU buffer, when it has one, holds
// exactly the bytes of its mirror, unless the entry is `gpuNewer`. So the buffer is dropped
// (and rebuilt from the mirror at its next use) whenever the two might differ: the caller
// changed the mirror (`dirty`), a kernel wrote the mirror on this thread's CPU instead of on
// the GPU, or a call failed halfway.
// Lazy readback (backend/device_arrays.ts): an output the caller marks `deferred` is not read
// back; its entry becomes gpuNewer, its buffer the only current copy, until a "read" request
// (or a kernel that reads it on the CPU) copies the buffer into the mirror.
/// <reference types="@webgpu/types" />

/** One cached array on the GPU side. */
export interface ResidentEntry {
  readonly id: number;
  /** The bytes as both threads know them; the GPU buffer mirrors them. */
  readonly mirror: SharedArrayBuffer;
  /** The GPU copy of the mirror; null until first used, and after anything that may have made it differ. */
  buffer: GPUBuffer | null;
  /** True while the mirror is all zeros as created: a fresh GPU buffer (zero-filled by WebGPU) needs no upload. */
  zero: boolean;
  /** The GPU buffer holds newer bytes than the mirror (a deferred output); never dropped while so. */
  gpuNewer: boolean;
}

/** What the caller changed since the last call (sync_protocol.ts carries it). */
export interface ResidencyUpdate {
  /** New entries: their id and mirror (all zeros when sent). */
  created: { id: number; mirror: SharedArrayBuffer }[];
  /** Entries whose mirror the caller rewrote: their GPU copy is stale. */
  dirty: number[];
  /** Entries whose mirror the caller set to all zeros: their next GPU buffer is a fresh (zero-filled) one, no upload. */
  zeroed: number[];
  /** Entries the caller dropped (evicted, or their array was garbage-collected). */
  freed: number[];
}

export class ResidentStore {
  private readonly entries = new Map<number, ResidentEntry>();
  private readonly byMirror = new Map<SharedArrayBuffer, ResidentEntry>();
  /** Outputs of the call in progress, and which of them a kernel wrote on the GPU (then read back). */
  private outputs: ResidentEntry[] = [];
  /** Outputs of the call in progress that are not read back: written on the GPU, they become gpuNewer. */
  private deferred = new Set<ResidentEntry>();
  private readonly writtenOnGpu = new Set<ResidentEntry>();
  /** Entries bound by the call in progress: dropped if it fails. */
  private readonly touched = new Set<ResidentEntry>();

  /** Bytes of GPU memory held by resident buffers. */
  get residentBytes(): number {
    let sum = 0;
    for (const e of this.entries.values()) sum += e.buffer ? e.buffer.size : 0;
    return sum;
  }

  /** Created first, then freed: an entry made and evicted before one call is never kept. */
  apply(u: ResidencyUpdate): void {
    for (const { id, mirror } of u.created) {
      const e: ResidentEntry = { id, mirror, buffer: null, zero: true, gpuNewer: false };
      this.entries.set(id, e);
      this.byMirror.set(mirror, e);
    }
    for (const id of u.freed) {
      const e = this.entries.get(id);
      if (!e) continue;
      this.release(e);
      this.entries.delete(id);
      this.byMirror.delete(e.mirror);
    }
    for (const id of u.dirty) {
      const e = this.entries.get(id);
      if (e) this.drop(e);
    }
    for (const id of u.zeroed) {
      const e = this.entries.get(id);
      if (!e) continue;
      this.drop(e);
      e.zero = true;
    }
  }

  /** The mirror of entry `id` (for decoding the call's arguments). */
  mirror(id: number): SharedArrayBuffer {
    const e = this.entries.get(id);
    if (!e) throw new Error(`webgpu: resident entry ${id} is unknown to the worker`);
    return e.mirror;
  }

  /** The entry whose mirror `view` lies in (at any offset), or null (a temporary array of a kernel). */
  owner(view: ArrayBufferView): ResidentEntry | null {
    return view.buffer instanceof SharedArrayBuffer ? (this.byMirror.get(view.buffer) ?? null) : null;
  }

  /** The gpuNewer entry of `id`, or null: what a "read" request must copy back. */
  gpuNewerEntry(id: number): ResidentEntry | null {
    const e = this.entries.get(id);
    return e?.gpuNewer ? e : null;
  }

  /** Whether `e` is an output of the call in progress that stays on the GPU (no readback). */
  isDeferred(e: ResidentEntry): boolean {
    return this.deferred.has(e);
  }

  /** `e` is read back after all in the call in progress (a kernel binds it twice, so it has no single GPU copy). */
  undefer(e: ResidentEntry): void {
    this.deferred.delete(e);
  }

  /** The entry whose mirror `view` starts at, or null (a temporary array of a kernel, or a view inside a mirror). */
  lookup(view: ArrayBufferView): ResidentEntry | null {
    if (view.byteOffset !== 0 || !(view.buffer instanceof SharedArrayBuffer)) return null;
    return this.byMirror.get(view.buffer) ?? null;
  }

  /** `view` (any view of a mirror) was written on this thread's CPU: its entry's GPU copy is stale. */
  mirrorWritten(view: ArrayBufferView): void {
    const e = view.buffer instanceof SharedArrayBuffer ? this.byMirror.get(view.buffer) : undefined;
    if (e) this.release(e); // the mirror was just written with the newest bytes
  }

  /** `deferredIds`: outputs (among `outputIds`) the caller does not need read back. */
  beginCall(outputIds: readonly number[], deferredIds: readonly number[] = []): void {
    this.outputs = outputIds.map((id) => this.entries.get(id)).filter((e): e is ResidentEntry => e !== undefined);
    this.deferred = new Set(deferredIds.map((id) => this.entries.get(id)).filter((e): e is ResidentEntry => e !== undefined));
    this.writtenOnGpu.clear();
    this.touched.clear();
  }

  /** `e` is bound by a kernel of this call; `asOutput`: the kernel writes it and run() reads it back into the mirror. */
  bound(e: ResidentEntry, asOutput: boolean): void {
    this.touched.add(e);
    if (asOutput) this.writtenOnGpu.add(e);
  }

  /**
   * Ends the call: an output whose mirror was written other than by reading back its own GPU
   * buffer (a kernel that narrows or copies on the CPU) loses its GPU copy; after a failure,
   * so does every entry the call bound, since a kernel may have run halfway.
   */
  endCall(ok: boolean): void {
    for (const e of this.outputs) {
      if (!this.writtenOnGpu.has(e)) this.release(e); // written into the mirror on the CPU: the mirror is current
    }
    if (!ok) this.dropAfterFailure(this.touched, new Set(this.outputs));
    this.outputs = [];
    this.deferred = new Set();
    this.writtenOnGpu.clear();
    this.touched.clear();
  }

  /**
   * A kernel failed: drops the GPU copy of each entry it bound, except gpuNewer inputs, whose
   * buffers were valid before it and are their only current copy.
   */
  dropAfterFailure(entries: Iterable<ResidentEntry>, outputs: ReadonlySet<ResidentEntry>): void {
    for (const e of entries) if (outputs.has(e) || !e.gpuNewer) this.release(e);
  }

  /** Drops the GPU copy of `e`, which must not be gpuNewer (its bytes would be lost): see release(). */
  drop(e: ResidentEntry): void {
    if (e.gpuNewer)
      throw new Error(`webgpu: resident entry ${e.id} holds bytes only the GPU has; it must be read back before it is dropped`);
    this.release(e);
  }

  /** Drops the GPU copy of `e` (after a failed allocation too: the buffer may be invalid), whatever it held. */
  private release(e: ResidentEntry): void {
    e.buffer?.destroy();
    e.buffer = null;
    e.gpuNewer = false;
    // Whatever the mirror holds now, a new buffer must be filled from it.
    e.zero = false;
  }

  clear(): void {
    for (const e of this.entries.values()) this.release(e);
    this.entries.clear();
    this.byMirror.clear();
  }
}
