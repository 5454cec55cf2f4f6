// The GPU decoder's handle on the device: compiled pipelines, buffers whose allocation failure
// is an error naming the buffer, and the readback that turns a lost device into an error
// instead of a promise that never settles.
/// <reference types="@webgpu/types" />
import type { GpuContext } from "../../backend/webgpu/context.js";

export class DecodeGpu {
  readonly device: GPUDevice;
  /** Rejects when the device is lost, so a readback races it instead of waiting forever. */
  private readonly lost: Promise<never>;

  constructor(readonly context: GpuContext) {
    this.device = context.device;
    this.lost = this.device.lost.then((info) => {
      throw new Error(`webgpu: the GPU device was lost (${info.reason}: ${info.message})`);
    });
    this.lost.catch(() => {}); // observed here; callers get it through checkAlive / readback
  }

  get adapterName(): string {
    return this.context.adapterName;
  }

  checkAlive(): void {
    this.context.checkAlive("load the model again");
  }

  /** The compute pipeline of a decoder shader (compiled once per key, in the context's cache). */
  pipeline(key: string, wgsl: () => string): GPUComputePipeline {
    return this.context.pipeline(`decode/${key}`, wgsl);
  }

  /**
   * A buffer of `size` bytes (rounded up to 4, at least 16); larger than the device allows is a
   * RangeError naming it. Out-of-memory is reported by `checkAllocations`, which the caller
   * awaits once after a batch of allocations (one error scope instead of one round trip each).
   */
  buffer(size: number, usage: number, label: string): GPUBuffer {
    this.context.checkBufferSize(size, usage, label);
    return this.device.createBuffer({ size: Math.max(16, Math.ceil(size / 4) * 4), usage, label });
  }

  /** A storage buffer holding `data` (padded to 4 bytes). */
  upload(data: ArrayBufferView, label: string, extraUsage = 0): GPUBuffer {
    const buf = this.buffer(data.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | extraUsage, label);
    this.write(buf, data);
    return buf;
  }

  write(buf: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    if (data.byteLength % 4 === 0) {
      this.device.queue.writeBuffer(buf, offset, data.buffer, data.byteOffset, data.byteLength);
      return;
    }
    const padded = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
    padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.device.queue.writeBuffer(buf, offset, padded);
  }

  /** Runs `allocate` inside an out-of-memory error scope; an allocation failure becomes an error naming `what`. */
  async allocating<T>(what: string, allocate: () => T): Promise<T> {
    this.checkAlive();
    this.device.pushErrorScope("out-of-memory");
    let result: T | undefined;
    let failure: unknown = null;
    try {
      result = allocate();
    } catch (e) {
      failure = e;
    }
    const err = await this.device.popErrorScope(); // always popped, so scopes stay balanced
    if (failure) throw failure;
    if (err) throw new Error(`webgpu: out of GPU memory while allocating ${what} (${err.message})`);
    return result as T;
  }

  /**
   * Runs `allocate` (synchronous) inside out-of-memory and validation error scopes and returns its
   * result with a promise that rejects, naming `what`, if an allocation failed or a kernel did
   * not compile: for callers that cannot await before using the objects (a failed buffer or
   * pipeline only errors when used; await the check before reading results).
   */
  allocatingNow<T>(what: string, allocate: () => T): { value: T; check: Promise<void> } {
    this.checkAlive();
    this.device.pushErrorScope("validation");
    this.device.pushErrorScope("out-of-memory");
    let value: T;
    try {
      value = allocate();
    } catch (e) {
      void this.device.popErrorScope();
      void this.device.popErrorScope();
      throw e;
    }
    const oom = this.device.popErrorScope();
    const invalid = this.device.popErrorScope();
    const check = Promise.all([oom, invalid]).then(([o, v]) => {
      if (o) throw new Error(`webgpu: out of GPU memory while allocating ${what} (${o.message})`);
      if (v) throw new Error(`webgpu: creating ${what} failed (${v.message})`);
    });
    check.catch(() => {}); // reported when awaited
    return { value, check };
  }

  /** Submits one command buffer; a validation error in it rejects the returned promise. */
  submit(commands: GPUCommandBuffer): Promise<void> {
    this.checkAlive();
    this.device.pushErrorScope("validation");
    this.device.queue.submit([commands]);
    return this.device.popErrorScope().then((err) => {
      if (err) throw new Error(`webgpu: the decoder's commands failed validation: ${err.message}`);
    });
  }

  /** Maps a MAP_READ buffer and copies out `bytes` bytes; a device lost meanwhile rejects instead of hanging. */
  async read(staging: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    await Promise.race([staging.mapAsync(GPUMapMode.READ, 0, Math.ceil(bytes / 4) * 4), this.lost]);
    const copy = staging.getMappedRange(0, Math.ceil(bytes / 4) * 4).slice(0, bytes);
    staging.unmap();
    return copy;
  }
}
