// The caller's half of the resident-buffer cache of the synchronous webgpu backend: for each
// CPU array a call passes, a mirror (a SharedArrayBuffer the worker sees too) holding the bytes
// the GPU buffer of that array holds. The design, and why it is exact, is at the top of
// sync_backend.ts; the worker's half is resident.ts.
//
// Before a call, each array is compared with its mirror (memcmp through Buffer.equals): equal
// means the GPU already has these bytes; different means the array was written on the CPU
// since, so it is copied into the mirror and the worker told to upload it again. After the
// call, the outputs' mirrors (which the worker filled from the GPU) are copied into the arrays.
//
// Entries are keyed by the memory they cover (ArrayBuffer, byte offset, byte length), not by the
// typed-array object: tensor code makes new views of the same storage all the time. The most
// recently used entries are kept up to a byte budget; older ones are evicted (the next use
// uploads again), and so are the entries of garbage-collected arrays.
//
// Lazy readback (backend/device_arrays.ts): an output left on the GPU makes its entry
// `gpuNewer`: the GPU holds its newest bytes, neither the mirror nor the array does. Such an
// entry is not compared before a call (the array cannot have been written since: the tensor
// layer reads it back before any CPU access), and is read back (mirror, then array) when the
// CPU asks for its memory, when another view of the same memory is passed to a kernel, and
// before it is evicted.
import type { ResidencyUpdate } from "./resident.js";

export type Typed = Float32Array | Int32Array | Uint8Array | Uint16Array;

interface MirrorEntry {
  readonly id: number;
  readonly mirror: SharedArrayBuffer;
  readonly bytes: number;
  /** Buffer.equals / copies over the mirror's first `bytes` bytes. */
  readonly view: Buffer;
  /** The entries of the same memory (byMemory's value for it) and this one's key there. */
  readonly holder: Map<string, MirrorEntry>;
  readonly key: string;
  readonly byteOffset: number;
  /** Only the GPU holds the newest bytes (a deferred output). */
  gpuNewer: boolean;
  /**
   * The memory, held only while gpuNewer (its bytes must come back into it). Never a WeakRef:
   * creating one keeps its target alive until the current job ends, and a training loop is
   * one job, so every array it ever passed would stay in memory until the loop returned.
   */
  target: ArrayBufferLike | null;
}

/** What the cache needs from the channel to the worker. */
export interface MirrorChannel {
  /** Waits until the worker has finished every request posted so far (none may be using a mirror then). */
  drain(): void;
  /** Makes the worker copy the GPU buffers of these entries into their mirrors, and waits. */
  readBack(ids: number[]): void;
}

/** Counters of what crossed between the caller's arrays and the GPU (see TransferStats in sync_backend.ts). */
export interface MirrorCounters {
  /** Bytes compared with their mirror. */
  comparedBytes: number;
  /** Bytes of arrays that differed from their mirror (or were new), copied in to be uploaded. */
  stagedBytes: number;
  /** Bytes of outputs copied from their mirror into the caller's arrays. */
  returnedBytes: number;
}

const align4 = (n: number): number => Math.max(4, Math.ceil(n / 4) * 4);

const ZEROS = Buffer.alloc(1 << 16);

/** Whether every byte of `b` is 0 (memcmp against a block of zeros). */
function allZero(b: Buffer): boolean {
  for (let off = 0; off < b.byteLength; off += ZEROS.byteLength) {
    const len = Math.min(ZEROS.byteLength, b.byteLength - off);
    if (!b.subarray(off, off + len).equals(ZEROS.subarray(0, len))) return false;
  }
  return true;
}

function bytesOf(a: Typed): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

export class MirrorCache {
  private nextId = 1;
  private readonly byMemory = new WeakMap<ArrayBufferLike, Map<string, MirrorEntry>>();
  /** Every live entry, least recently used first (a Map keeps insertion order). */
  private readonly lru = new Map<number, MirrorEntry>();
  private residentBytes = 0;
  private pending: ResidencyUpdate = { created: [], dirty: [], zeroed: [], freed: [] };
  private readonly collected = new FinalizationRegistry<number>((id) => this.evict(id));
  readonly counters: MirrorCounters = { comparedBytes: 0, stagedBytes: 0, returnedBytes: 0 };
  /** Entries that are gpuNewer now. */
  private gpuNewerCount = 0;

  /**
   * @param budgetBytes mirrors (and GPU buffers) kept between calls; 0 keeps none, so every
   *   call uploads all of its arrays (the behaviour without residency). May be changed later.
   */
  constructor(
    public budgetBytes: number,
    private readonly channel: MirrorChannel,
  ) {}

  /** Entries kept and their bytes. */
  get size(): { entries: number; bytes: number } {
    return { entries: this.lru.size, bytes: this.residentBytes };
  }

  /**
   * The id of `a`'s entry, made current: after this, its mirror holds a's bytes, or the GPU
   * holds newer ones (gpuNewer).
   */
  prepare(a: Typed): number {
    this.readBackOthers(a);
    const { entry: e, created } = this.entryOf(a);
    if (!e.gpuNewer) {
      const src = bytesOf(a);
      this.counters.comparedBytes += a.byteLength;
      // Without a budget nothing stays on the GPU: every array is uploaded, as before residency.
      if (this.budgetBytes === 0 || !src.equals(e.view)) {
        // A posted kernel may still read this mirror; a new one no request can know yet.
        if (!created) this.channel.drain();
        // Zeroed on the CPU (gradients before a step): the GPU makes a zero buffer, nothing goes up.
        if (this.budgetBytes > 0 && allZero(src)) {
          e.view.fill(0);
          this.pending.zeroed.push(e.id);
        } else this.stage(e, src);
      }
    }
    this.lru.delete(e.id); // most recently used last
    this.lru.set(e.id, e);
    return e.id;
  }

  private stage(e: MirrorEntry, src: Buffer): void {
    e.view.set(src);
    this.counters.stagedBytes += src.byteLength;
    this.pending.dirty.push(e.id);
  }

  /** The id of the entry `a` was prepared with in this call. */
  idOf(a: Typed): number {
    return this.current(a).id;
  }

  /** Copies the mirror of `a` (which the worker filled from the GPU) into `a`. */
  copyBack(a: Typed): void {
    bytesOf(a).set(this.current(a).view);
    this.counters.returnedBytes += a.byteLength;
  }

  /** `a`, an output of the call just posted, stays on the GPU: its entry is gpuNewer until read back. */
  markGpuNewer(a: Typed): void {
    const e = this.current(a);
    if (!e.gpuNewer) this.gpuNewerCount++;
    e.gpuNewer = true;
    e.target = a.buffer;
  }

  /** Reads back every gpuNewer entry within `memory` into it (a CPU read of that memory is coming). */
  readBackMemory(memory: ArrayBufferLike): void {
    this.readBack(this.gpuNewerIn(memory));
  }

  /** Reads back every gpuNewer entry (before the CPU backends take over). */
  readBackAll(): void {
    if (this.gpuNewerCount === 0) return;
    this.readBack([...this.lru.values()].filter((e) => e.gpuNewer));
  }

  /** Reads back the gpuNewer entries of other views of `a`'s memory: `a` is about to be compared or uploaded. */
  private readBackOthers(a: Typed): void {
    const key = `${a.byteOffset}:${a.byteLength}`;
    this.readBack(this.gpuNewerIn(a.buffer).filter((e) => e.key !== key));
  }

  /** The gpuNewer entries of views of `memory` (evicted entries are no longer in byMemory). */
  private gpuNewerIn(memory: ArrayBufferLike): MirrorEntry[] {
    if (this.gpuNewerCount === 0) return [];
    return [...(this.byMemory.get(memory)?.values() ?? [])].filter((e) => e.gpuNewer);
  }

  /** The worker copies these entries' GPU buffers into their mirrors; then the mirrors go into the arrays. */
  private readBack(entries: MirrorEntry[]): void {
    if (entries.length === 0) return;
    this.channel.readBack(entries.map((e) => e.id));
    for (const e of entries) {
      if (e.target) {
        new Uint8Array(e.target, e.byteOffset, e.bytes).set(e.view);
        this.counters.returnedBytes += e.bytes;
      }
      e.target = null;
      e.gpuNewer = false;
      this.gpuNewerCount--;
    }
  }

  /**
   * What the worker must learn before this call (new mirrors, stale GPU copies, freed entries),
   * after evicting the least recently used entries over the budget, those of `keep` (this
   * call's) excepted.
   */
  takeUpdate(keep: ReadonlySet<number>): ResidencyUpdate {
    const victims: MirrorEntry[] = [];
    let bytes = this.residentBytes;
    // Over the budget, down to three quarters of it: the read-backs of GPU-newer victims (often
    // arrays already dead, which a synchronous loop gives the garbage collector no turn to
    // report) then come in a few large batches, each one wait, rather than a wait per call.
    const goal = bytes > this.budgetBytes ? this.budgetBytes * 0.75 : this.budgetBytes;
    for (const [id, e] of this.lru) {
      if (bytes <= goal) break;
      if (keep.has(id)) continue;
      victims.push(e);
      bytes -= e.mirror.byteLength;
    }
    // Bytes only the GPU holds come back before their buffer is freed.
    this.readBack(victims.filter((e) => e.gpuNewer));
    for (const e of victims) this.evict(e.id);
    const u = this.pending;
    this.pending = { created: [], dirty: [], zeroed: [], freed: [] };
    return u;
  }

  /** Drops every entry (their arrays upload again at their next use), reading back what only the GPU holds. */
  clear(): void {
    this.readBackAll();
    for (const id of [...this.lru.keys()]) this.evict(id);
  }

  private current(a: Typed): MirrorEntry {
    const e = this.byMemory.get(a.buffer)?.get(`${a.byteOffset}:${a.byteLength}`);
    if (!e || !this.lru.has(e.id)) throw new Error("webgpu: an output array was not among the call's arguments");
    return e;
  }

  private entryOf(a: Typed): { entry: MirrorEntry; created: boolean } {
    let forBuffer = this.byMemory.get(a.buffer);
    if (!forBuffer) {
      forBuffer = new Map();
      this.byMemory.set(a.buffer, forBuffer);
    }
    const key = `${a.byteOffset}:${a.byteLength}`;
    let e = forBuffer.get(key);
    if (e && this.lru.has(e.id)) return { entry: e, created: false };
    // A new mirror is all zeros, and so is a new GPU buffer: an array of zeros needs no upload.
    const mirror = new SharedArrayBuffer(align4(a.byteLength));
    const view = Buffer.from(mirror, 0, a.byteLength);
    const fields = { holder: forBuffer, key, byteOffset: a.byteOffset, gpuNewer: false, target: null };
    e = { id: this.nextId++, mirror, bytes: a.byteLength, view, ...fields };
    forBuffer.set(key, e);
    this.lru.set(e.id, e);
    this.residentBytes += mirror.byteLength;
    this.pending.created.push({ id: e.id, mirror });
    this.collected.register(a.buffer, e.id);
    return { entry: e, created: true };
  }

  private evict(id: number): void {
    const e = this.lru.get(id);
    if (!e) return;
    if (e.gpuNewer) this.gpuNewerCount--; // its memory was collected, or it was read back just before
    e.gpuNewer = false;
    e.target = null;
    this.lru.delete(id);
    if (e.holder.get(e.key) === e) e.holder.delete(e.key);
    this.residentBytes -= e.mirror.byteLength;
    this.pending.freed.push(id);
  }
}
