// The GPU device behind the webgpu backend, and the one way kernels run on it: upload the
// inputs, dispatch one compute pass, read the outputs back.
//
// WebGPU is asynchronous by design (mapAsync is the only way to read a buffer back, and plain
// JS cannot block on a promise), so these kernels return promises, unlike the synchronous
// `Backend` interface of src/backend/backend.ts. See src/backend/webgpu.ts.
/// <reference types="@webgpu/types" />

/** A buffer a kernel reads or writes; typed arrays are uploaded as their raw bytes. */
export interface KernelBuffer {
  data: ArrayBufferView;
  /** Read back into `data` after the dispatch. */
  output?: boolean;
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

/** The workgroup grid for `groups` workgroups (x ≤ 65535); shaders rebuild the flat index. */
export function grid(groups: number): [number, number] {
  const x = Math.min(Math.max(groups, 1), MAX_GROUPS_X);
  return [x, Math.ceil(Math.max(groups, 1) / x)];
}

export class GpuContext {
  readonly adapterName: string;
  private lostReason: string | null = null;
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  constructor(
    readonly device: GPUDevice,
    info: GPUAdapterInfo,
    /** Objects that must stay alive as long as the device (the GPU instance, the adapter). */
    // biome-ignore lint/correctness/noUnusedPrivateClassMembers: held only so the GC keeps them (Dawn crashes otherwise)
    private readonly keepAlive: readonly unknown[] = [],
  ) {
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
   * One error scope covers the allocations and one the submit, so a call waits on the GPU
   * three times (out-of-memory check, validation check, readback), whatever its buffer count.
   */
  async run(key: string, wgsl: () => string, buffers: KernelBuffer[], params: Params, groups: number): Promise<void> {
    this.checkAlive();
    const dev = this.device;
    const pipeline = this.pipeline(key, wgsl);
    const owned: GPUBuffer[] = [];
    try {
      dev.pushErrorScope("out-of-memory");
      let oom: GPUError | null = null;
      const gpuBufs: GPUBuffer[] = [];
      const reads: { staging: GPUBuffer; source: GPUBuffer; target: ArrayBufferView }[] = [];
      let ubuf: GPUBuffer;
      try {
        for (const [i, b] of buffers.entries()) {
          const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | (b.output ? GPUBufferUsage.COPY_SRC : 0);
          const buf = this.createBuffer(b.data.byteLength, usage, `${key} binding ${i}`, true);
          owned.push(buf);
          gpuBufs.push(buf);
          if (!b.output) continue;
          const staging = this.createBuffer(buf.size, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, `${key} readback ${i}`);
          owned.push(staging);
          reads.push({ staging, source: buf, target: b.data });
        }
        ubuf = this.createBuffer(params.bytes().byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, `${key} params`);
        owned.push(ubuf);
      } finally {
        oom = await dev.popErrorScope();
      }
      if (oom) {
        const bytes = buffers.reduce((sum, b) => sum + b.data.byteLength, 0);
        throw new Error(`webgpu: out of GPU memory allocating the ${bytes} bytes of kernel ${key} (${oom.message})`);
      }
      // Inputs are copied straight into the buffers' mapped memory: one copy, any byte length, and
      // views of a SharedArrayBuffer (the sync backend's arena) too, which writeBuffer refuses.
      buffers.forEach((b, i) => {
        const buf = gpuBufs[i]!;
        new Uint8Array(buf.getMappedRange(), 0, b.data.byteLength).set(new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength));
        buf.unmap();
      });
      dev.queue.writeBuffer(ubuf, 0, params.bytes());
      const entries = gpuBufs.map((buffer, binding) => ({ binding, resource: { buffer } }));
      entries.push({ binding: gpuBufs.length, resource: { buffer: ubuf } });
      const bindGroup = dev.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });

      const enc = dev.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      const [gx, gy] = grid(groups);
      pass.dispatchWorkgroups(gx, gy);
      pass.end();
      for (const r of reads) enc.copyBufferToBuffer(r.source, 0, r.staging, 0, r.source.size);
      dev.pushErrorScope("validation");
      dev.queue.submit([enc.finish()]);
      const verr = await dev.popErrorScope();
      if (verr) throw new Error(`webgpu: kernel ${key} failed validation: ${verr.message}`);
      await Promise.all(reads.map((r) => this.mapOrLost(r.staging)));
      for (const { staging, target } of reads) {
        const bytes = new Uint8Array(staging.getMappedRange(), 0, target.byteLength);
        new Uint8Array(target.buffer, target.byteOffset, target.byteLength).set(bytes);
        staging.unmap();
      }
    } finally {
      for (const b of owned) b.destroy();
    }
  }

  /** mapAsync, but a device lost meanwhile rejects instead of leaving the promise pending. */
  private async mapOrLost(buf: GPUBuffer): Promise<void> {
    const lost = this.device.lost.then((i) => {
      throw new Error(`webgpu: the GPU device was lost during a readback (${i.reason}: ${i.message})`);
    });
    await Promise.race([buf.mapAsync(GPUMapMode.READ), lost]);
  }

  destroy(): void {
    this.device.destroy();
  }
}
