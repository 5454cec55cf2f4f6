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
import type { ResidencyUpdate } from "./resident.js";

export type Typed = Float32Array | Int32Array | Uint8Array | Uint16Array;

interface MirrorEntry {
  readonly id: number;
  readonly mirror: SharedArrayBuffer;
  readonly bytes: number;
  /** Buffer.equals / copies over the mirror's first `bytes` bytes. */
  readonly view: Buffer;
  /** The memory this entry mirrors (weakly: the cache must not keep arrays alive) and its key there. */
  readonly memory: WeakRef<ArrayBufferLike>;
  readonly key: string;
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

  /**
   * @param budgetBytes mirrors (and GPU buffers) kept between calls; 0 keeps none, so every
   *   call uploads all of its arrays (the behaviour without residency). May be changed later.
   */
  constructor(public budgetBytes: number) {}

  /** Entries kept and their bytes. */
  get size(): { entries: number; bytes: number } {
    return { entries: this.lru.size, bytes: this.residentBytes };
  }

  /** The id of `a`'s entry, made current: after this, its mirror holds a's bytes. */
  prepare(a: Typed): number {
    const e = this.entryOf(a);
    const src = bytesOf(a);
    this.counters.comparedBytes += a.byteLength;
    // Without a budget nothing stays on the GPU: every array is uploaded, as before residency.
    if (this.budgetBytes === 0) {
      this.stage(e, src);
    } else if (!src.equals(e.view)) {
      // Zeroed on the CPU (gradients before a step): the GPU makes a zero buffer, nothing goes up.
      if (allZero(src)) {
        e.view.fill(0);
        this.pending.zeroed.push(e.id);
      } else this.stage(e, src);
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

  /**
   * What the worker must learn before this call (new mirrors, stale GPU copies, freed entries),
   * after evicting the least recently used entries over the budget, those of `keep` (this
   * call's) excepted.
   */
  takeUpdate(keep: ReadonlySet<number>): ResidencyUpdate {
    for (const [id] of this.lru) {
      if (this.residentBytes <= this.budgetBytes) break;
      if (!keep.has(id)) this.evict(id);
    }
    const u = this.pending;
    this.pending = { created: [], dirty: [], zeroed: [], freed: [] };
    return u;
  }

  /** Drops every entry (their arrays upload again at their next use). */
  clear(): void {
    for (const id of [...this.lru.keys()]) this.evict(id);
  }

  private current(a: Typed): MirrorEntry {
    const e = this.byMemory.get(a.buffer)?.get(`${a.byteOffset}:${a.byteLength}`);
    if (!e || !this.lru.has(e.id)) throw new Error("webgpu: an output array was not among the call's arguments");
    return e;
  }

  private entryOf(a: Typed): MirrorEntry {
    let forBuffer = this.byMemory.get(a.buffer);
    if (!forBuffer) {
      forBuffer = new Map();
      this.byMemory.set(a.buffer, forBuffer);
    }
    const key = `${a.byteOffset}:${a.byteLength}`;
    let e = forBuffer.get(key);
    if (e && this.lru.has(e.id)) return e;
    // A new mirror is all zeros, and so is a new GPU buffer: an array of zeros needs no upload.
    const mirror = new SharedArrayBuffer(align4(a.byteLength));
    const view = Buffer.from(mirror, 0, a.byteLength);
    e = { id: this.nextId++, mirror, bytes: a.byteLength, view, memory: new WeakRef(a.buffer), key };
    forBuffer.set(key, e);
    this.lru.set(e.id, e);
    this.residentBytes += mirror.byteLength;
    this.pending.created.push({ id: e.id, mirror });
    this.collected.register(a.buffer, e.id);
    return e;
  }

  private evict(id: number): void {
    const e = this.lru.get(id);
    if (!e) return;
    this.lru.delete(id);
    const forBuffer = e.memory.deref();
    if (forBuffer) this.byMemory.get(forBuffer)?.delete(e.key);
    this.residentBytes -= e.mirror.byteLength;
    this.pending.freed.push(id);
  }
}
