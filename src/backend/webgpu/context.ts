// The GPU device behind the webgpu backend, and the one way kernels run on it: upload the
// inputs, dispatch one compute pass, read the outputs back.
//
// WebGPU is asynchronous by design (mapAsync is the only way to read a buffer back, and plain
// JS cannot block on a promise), so these kernels return promises, unlike the synchronous
// `Backend` interface of src/backend/backend.ts. See src/backend/webgpu.ts.
/// <reference types="@webgpu/types" />
import type { ResidentEntry, ResidentStore } from "./resident.js";

/** A buffer a kernel reads or writes; typed arrays are uploaded as their raw bytes. */
export interface KernelBuffer {
  data: ArrayBufferView;
  /** Read back into `data` after the dispatch. */
  output?: boolean;
  /**
   * Lives only on the GPU: the buffer is made (zero-filled) at the first run that names this
   * `data` object, bound as it is by later runs, never uploaded nor read back, and destroyed
   * by releaseDeviceOnly(data). For scratch that one pass writes and the next reads.
   */
  deviceOnly?: boolean;
}

/** How many workgroups to launch; x is capped by the device, the rest spills into y. */
export interface Dispatch {
  groups: number;
}

/** Per-dispatch parameters: 4-byte words, f32 or u32 (the shader declares which). */
export class Params {
  private readonly words: number[] = [];
  private readonly kinds: ("u" | "f" | "i")[] = [];
  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`webgpu: parameter ${v} is not a u32`);
    this.words.push(v);
    this.kinds.push("u");
    return this;
  }
  i32(v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new RangeError(`webgpu: parameter ${v} is not an i32`);
    this.words.push(v);
    this.kinds.push("i");
    return this;
  }
  f32(v: number): this {
    this.words.push(v);
    this.kinds.push("f");
    return this;
  }
  bytes(): ArrayBuffer {
    const buf = new ArrayBuffer(Math.max(16, Math.ceil(this.words.length / 4) * 16)); // uniform size: multiple of 16
    const view = new DataView(buf);
    this.words.forEach((w, i) => {
      const kind = this.kinds[i];
      if (kind === "u") view.setUint32(i * 4, w, true);
      else if (kind === "i") view.setInt32(i * 4, w, true);
      else view.setFloat32(i * 4, w, true);
    });
    return buf;
  }
}

const MAX_GROUPS_X = 65535;

/** Whether every byte of `v` is 0 (a word at a time where the view allows). */
function allZero(v: ArrayBufferView): boolean {
  const words = v.byteOffset % 4 === 0 && v.byteLength % 4 === 0;
  const a = words ? new Int32Array(v.buffer, v.byteOffset, v.byteLength / 4) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) return false;
  return true;
}

/** The workgroup grid for `groups` workgroups (x ≤ 65535); shaders rebuild the flat index. */
export function grid(groups: number): [number, number] {
  const x = Math.min(Math.max(groups, 1), MAX_GROUPS_X);
  return [x, Math.ceil(Math.max(groups, 1) / x)];
}

export class GpuContext {
  readonly adapterName: string;
  /** The device has WGSL's f16 type (the adapter's `shader-f16` feature, requested by open.ts). */
  readonly hasShaderF16: boolean;
  private lostReason: string | null = null;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  /** Resident GPU buffers of the synchronous backend's arrays (set by its worker; null elsewhere). */
  residency: ResidentStore | null = null;
  private readonly deviceOnlyBuffers = new Map<ArrayBufferView, GPUBuffer>();
  /** What run() moved and how often it waited on the GPU, for the transfer counters of the sync backend. */
  readonly stats = { submits: 0, uploadBytes: 0, readbackBytes: 0 };

  constructor(
    readonly device: GPUDevice,
    info: GPUAdapterInfo,
    /** Objects that must stay alive as long as the device (the GPU instance, the adapter). */
    // biome-ignore lint/correctness/noUnusedPrivateClassMembers: held only so the GC keeps them (Dawn crashes otherwise)
    private readonly keepAlive: readonly unknown[] = [],
  ) {
    this.hasShaderF16 = device.features.has("shader-f16");
    this.adapterName = [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(" / ") || "unknown adapter";
    // A lost device (driver reset, GPU removed, destroy()) must turn every later call into a
    // clear error, never a hang on a promise that no longer resolves.
    void device.lost.then((info) => {
      this.lostReason = `${info.reason}: ${info.message}`;
    });
  }

  /** Throws once the device is lost; `advice` says what the caller should do next. */
  checkAlive(advice = "create a new backend"): void {
    if (this.lostReason !== null) throw new Error(`webgpu: the GPU device was lost (${this.lostReason}); ${advice}`);
  }

  /** The compute pipeline of a shader, compiled once per key. */
  pipeline(key: string, wgsl: () => string): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ code: wgsl(), label: key });
      p = this.device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" }, label: key });
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** A buffer of `size` bytes with `usage` larger than the device allows is a RangeError naming `label`. */
  checkBufferSize(size: number, usage: number, label: string): void {
    const limits = this.device.limits;
    const max = usage & GPUBufferUsage.STORAGE ? Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize) : limits.maxBufferSize;
    if (size > max) throw new RangeError(`webgpu: ${label} needs ${size} bytes, more than this device's buffer limit of ${max} bytes`);
  }

  /**
   * Allocates a buffer; a size over the device's limit is an error naming it. Out-of-memory is
   * caught by the error scope that run() opens around all of a dispatch's allocations.
   */
  private createBuffer(size: number, usage: number, label: string, mappedAtCreation = false): GPUBuffer {
    this.checkBufferSize(size, usage, label);
    try {
      return this.device.createBuffer({ size: Math.max(4, Math.ceil(size / 4) * 4), usage, label, mappedAtCreation });
    } catch (e) {
      // A mapped buffer that cannot be allocated throws at once (WebGPU spec) instead of reaching the error scope.
      throw new RangeError(`webgpu: out of memory allocating ${size} bytes for ${label} (${(e as Error).message})`);
    }
  }

  /**
   * Runs the shader `key` (compiled once from `wgsl()`): binding i is buffers[i], the last
   * binding is the uniform `params`. Outputs are read back into their typed arrays.
   *
   * A buffer whose array is the mirror of a resident entry (see `residency`) is bound as that
   * entry's GPU buffer, uploaded only when the entry has none; the others get a buffer of
   * their own for this dispatch, filled from the array. The allocations, the validation of
   * the submit and the readbacks are awaited together: one wait on the GPU per call.
   */
  async run(key: string, wgsl: () => string, buffers: KernelBuffer[], params: Params, groups: number): Promise<void> {
    this.checkAlive();
    const dev = this.device;
    const pipeline = this.pipeline(key, wgsl);
    const owned: GPUBuffer[] = [];
    const res = this.residency;
    // A resident buffer may be bound several times read-only (q, k and v in one packed array),
    // but a writable binding must not alias another: where an entry is written, its first output
    // occurrence gets the resident buffer and the other occurrences a buffer of their own.
    const entryOf = new Map<number, ResidentEntry>();
    if (res) {
      const written = new Map<ResidentEntry, number>();
      buffers.forEach((b, i) => {
        const e = res.lookup(b.data);
        if (e && b.output && !written.has(e)) written.set(e, i);
      });
      buffers.forEach((b, i) => {
        const e = res.lookup(b.data);
        if (e && (written.has(e) ? written.get(e) === i : true)) entryOf.set(i, e);
      });
    }
    const residentAt = new Set(entryOf.values());
    const writtenEntries = new Set<ResidentEntry>();
    if (res) {
      const writes = new Map<ResidentEntry, number>();
      for (const b of buffers) {
        const e = res.owner(b.data);
        if (!e || !b.output) continue;
        writes.set(e, (writes.get(e) ?? 0) + 1);
        writtenEntries.add(e);
      }
      // Deferred outputs stay on the GPU, unless written through two bindings (then no one
      // buffer holds the result).
      for (const [e, n] of writes) if (n > 1) res.undefer(e);
      // Another binding of a resident entry (an input beside the same array as output, or a view
      // inside it) is copied from the entry's buffer on the GPU (gpuCopyFrom); where that is not
      // possible (a byte offset that is not a multiple of 4) it is filled from the mirror, which
      // must then be current.
      const stale = new Set<ResidentEntry>();
      buffers.forEach((b, i) => {
        const e = res.owner(b.data);
        if (e?.gpuNewer && entryOf.get(i) !== e && b.data.byteOffset % 4 !== 0) stale.add(e);
      });
      if (stale.size > 0) await this.readResident([...stale]);
    }
    dev.pushErrorScope("out-of-memory");
    let oomPop: Promise<GPUError | null> | null = null;
    const gpuBufs: GPUBuffer[] = [];
    const reads: { staging: GPUBuffer; source: GPUBuffer; target: ArrayBufferView; size: number; resident: boolean }[] = [];
    const fills: { buf: GPUBuffer; data: ArrayBufferView }[] = [];
    const gpuCopies: { from: GPUBuffer; offset: number; to: GPUBuffer; size: number }[] = [];
    let ubuf: GPUBuffer;
    try {
      try {
        for (const [i, b] of buffers.entries()) {
          const size = Math.ceil(b.data.byteLength / 4) * 4;
          const e = entryOf.get(i);
          let buf: GPUBuffer;
          if (b.deviceOnly) {
            let kept = this.deviceOnlyBuffers.get(b.data);
            if (!kept) {
              const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
              kept = this.createBuffer(b.data.byteLength, usage, `${key} binding ${i} (on the GPU only)`);
              this.deviceOnlyBuffers.set(b.data, kept);
            }
            gpuBufs.push(kept);
            continue;
          }
          if (e) {
            res!.bound(e, Boolean(b.output));
            if (!e.buffer) {
              const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
              const mapped = !e.zero; // a fresh buffer is zero-filled, like a mirror nobody wrote
              e.buffer = this.createBuffer(e.mirror.byteLength, usage, `${key} binding ${i} (resident)`, mapped);
              if (mapped) fills.push({ buf: e.buffer, data: new Uint8Array(e.mirror) });
              e.zero = false;
            }
            buf = e.buffer;
          } else {
            const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | (b.output ? GPUBufferUsage.COPY_SRC : 0);
            this.checkBufferSize(b.data.byteLength, usage, `${key} binding ${i}`);
            const from = this.gpuCopyFrom(b.data);
            const zero = from === null && allZero(b.data); // a kernel's fresh scratch array: a new buffer is zero-filled already
            buf = this.createBuffer(b.data.byteLength, usage, `${key} binding ${i}`, from === null && !zero);
            owned.push(buf);
            if (from) gpuCopies.push({ from, offset: b.data.byteOffset, to: buf, size });
            else if (!zero) fills.push({ buf, data: b.data });
          }
          gpuBufs.push(buf);
          if (!b.output || (e && res!.isDeferred(e))) continue; // a deferred output is not read back
          const staging = this.createBuffer(size, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, `${key} readback ${i}`);
          owned.push(staging);
          reads.push({ staging, source: buf, target: b.data, size, resident: e !== undefined });
        }
        ubuf = this.createBuffer(params.bytes().byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, `${key} params`);
        owned.push(ubuf);
      } finally {
        oomPop = dev.popErrorScope();
      }
      // Inputs are copied straight into the buffers' mapped memory: one copy, any byte length, and
      // views of a SharedArrayBuffer (the sync backend's mirrors) too, which writeBuffer refuses.
      for (const { buf, data } of fills) {
        new Uint8Array(buf.getMappedRange(), 0, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        buf.unmap();
        this.stats.uploadBytes += data.byteLength;
      }
      dev.queue.writeBuffer(ubuf, 0, params.bytes());
      dev.pushErrorScope("validation");
      const entries = gpuBufs.map((buffer, binding) => ({
        binding,
        resource: { buffer, offset: 0, size: Math.max(4, Math.ceil(buffers[binding]!.data.byteLength / 4) * 4) },
      }));
      entries.push({ binding: gpuBufs.length, resource: { buffer: ubuf, offset: 0, size: ubuf.size } });
      const bindGroup = dev.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
      const enc = dev.createCommandEncoder();
      for (const c of gpuCopies) enc.copyBufferToBuffer(c.from, c.offset, c.to, 0, Math.max(4, c.size));
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      const [gx, gy] = grid(groups);
      pass.dispatchWorkgroups(gx, gy);
      pass.end();
      for (const r of reads) enc.copyBufferToBuffer(r.source, 0, r.staging, 0, Math.max(4, r.size));
      dev.queue.submit([enc.finish()]);
      const valPop = dev.popErrorScope();
      this.stats.submits++;
      const settled = await this.settleOrLost([oomPop, valPop, ...reads.map((r) => r.staging.mapAsync(GPUMapMode.READ))]);
      const [oom, verr, ...maps] = settled;
      if (oom!.status === "rejected" || oom!.value) {
        const bytes = buffers.reduce((sum, b) => sum + b.data.byteLength, 0);
        const why = oom!.status === "rejected" ? String(oom!.reason) : (oom!.value as GPUError).message;
        throw new Error(`webgpu: out of GPU memory allocating the ${bytes} bytes of kernel ${key} (${why})`);
      }
      if (verr!.status === "rejected" || verr!.value) {
        const why = verr!.status === "rejected" ? String(verr!.reason) : (verr!.value as GPUError).message;
        throw new Error(`webgpu: kernel ${key} failed validation: ${why}`);
      }
      for (const m of maps) if (m.status === "rejected") throw new Error(`webgpu: reading back kernel ${key} failed (${String(m.reason)})`);
      for (const { staging, target } of reads) {
        const bytes = new Uint8Array(staging.getMappedRange(), 0, target.byteLength);
        new Uint8Array(target.buffer, target.byteOffset, target.byteLength).set(bytes);
        staging.unmap();
        this.stats.readbackBytes += target.byteLength;
      }
      // An output read back from a buffer of its own into a mirror leaves that entry's GPU copy behind.
      if (res) for (const r of reads) if (!r.resident) res.mirrorWritten(r.target);
      // Deferred outputs: from now on only their GPU buffer holds their bytes.
      if (res) for (const [i, e] of entryOf) if (buffers[i]!.output && res.isDeferred(e)) e.gpuNewer = true;
    } catch (e) {
      // A resident buffer allocated here may be invalid (out of memory) or half-written.
      if (res) res.dropAfterFailure(residentAt, writtenEntries);
      throw e;
    } finally {
      for (const b of owned) b.destroy();
    }
  }

  /** The resident buffer that holds `view`'s bytes (at view.byteOffset), when a GPU copy can take them from there. */
  private gpuCopyFrom(view: ArrayBufferView): GPUBuffer | null {
    const e = this.residency?.owner(view);
    if (!e?.buffer || view.byteOffset % 4 !== 0) return null;
    return e.buffer;
  }

  /** Before a kernel reads these arrays on this thread's CPU: those whose newest bytes are on the GPU come back. */
  async currentOnCpu(views: readonly ArrayBufferView[]): Promise<void> {
    const res = this.residency;
    if (!res) return;
    const stale = new Set<ResidentEntry>();
    for (const v of views) {
      const e = res.owner(v);
      if (e?.gpuNewer) stale.add(e);
    }
    if (stale.size > 0) await this.readResident([...stale]);
  }

  /**
   * Copies the GPU buffers of GPU-newer resident entries into their mirrors (one submit, one
   * wait); they are then current again (lazy readback, see resident.ts).
   */
  async readResident(entries: readonly ResidentEntry[]): Promise<void> {
    this.checkAlive();
    const live = entries.filter((e) => e.gpuNewer && e.buffer);
    if (live.length === 0) return;
    const dev = this.device;
    const staging: GPUBuffer[] = [];
    try {
      const enc = dev.createCommandEncoder();
      for (const e of live) {
        const s = this.createBuffer(
          e.buffer!.size,
          GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
          `readback of resident entry ${e.id}`,
        );
        staging.push(s);
        enc.copyBufferToBuffer(e.buffer!, 0, s, 0, e.buffer!.size);
      }
      dev.queue.submit([enc.finish()]);
      this.stats.submits++;
      const maps = await this.settleOrLost(staging.map((s) => s.mapAsync(GPUMapMode.READ)));
      for (const m of maps)
        if (m.status === "rejected") throw new Error(`webgpu: reading back a resident buffer failed (${String(m.reason)})`);
      live.forEach((e, i) => {
        const n = e.mirror.byteLength;
        new Uint8Array(e.mirror).set(new Uint8Array(staging[i]!.getMappedRange(), 0, n));
        staging[i]!.unmap();
        this.stats.readbackBytes += n;
        e.gpuNewer = false; // the buffer and the mirror agree again
      });
    } finally {
      for (const s of staging) s.destroy();
    }
  }

  /** Destroys the buffer that run() made for a deviceOnly `data`. */
  releaseDeviceOnly(data: ArrayBufferView): void {
    this.deviceOnlyBuffers.get(data)?.destroy();
    this.deviceOnlyBuffers.delete(data);
  }

  /** Settles every promise, or rejects as soon as the device is lost: a lost device never leaves a call waiting. */
  private async settleOrLost(ps: Promise<unknown>[]): Promise<PromiseSettledResult<unknown>[]> {
    for (const p of ps) p.catch(() => {}); // observed below; keeps a late rejection from being "unhandled"
    const lost = this.device.lost.then((i) => {
      throw new Error(`webgpu: the GPU device was lost during a kernel (${i.reason}: ${i.message})`);
    });
    lost.catch(() => {});
    return Promise.race([Promise.allSettled(ps), lost]);
  }

  destroy(): void {
    this.device.destroy();
  }
}
