// The webgpu backend as a synchronous `Backend` (backend.ts), so every tensor op, training
// included, runs on it: setBackend("webgpu"), TSGPT_BACKEND=webgpu, `--device webgpu`.
//
// WebGPU reads results back only through promises, and the tensor ops cannot wait for one.
// So a worker thread (sync_worker.ts) owns the GPU device and runs the async kernels of
// WebGPUBackend (webgpu.ts); each call here posts the op and sleeps in Atomics.wait until the
// worker says it is done. Never a hang: a call that takes longer than TSGPT_WEBGPU_TIMEOUT_S
// seconds (default 300) is an error, and so are a lost device and an allocation the GPU
// cannot hold (the worker reports them).
//
// Resident buffers: what stays on the GPU between calls, and why it is exact.
// Every array a call passes has an entry: a mirror (shared memory both threads see) and, on
// the worker's side, a GPU buffer. One rule holds between calls: an entry's GPU buffer, when
// it exists, holds exactly its mirror's bytes (resident.ts drops it whenever that might not
// be so). Before a call, each array is compared byte for byte with its mirror
// (mirror_cache.ts): if they differ, whatever wrote the array (a tensor op on the js backend,
// a data loader, a test poking at .data()), the bytes are copied into the mirror and the GPU
// buffer is rebuilt from them. So a kernel always reads what the CPU array holds now; nothing
// depends on being told about writes, which typed arrays cannot report. After the call every
// output is read back into its mirror and copied into the array, so a CPU read never sees
// stale data either.
// What this saves: the upload of every array the GPU already holds, which in training is
// nearly all of them (weights, AdamW's moments, activations that the next op and the
// backward pass read, gradients), and the allocation of its buffer; a call also waits on the
// GPU once instead of three times (context.ts).
// Mirrors and GPU buffers are kept for the most recently used arrays up to
// TSGPT_WEBGPU_RESIDENT_MB (default 1024; 0 keeps none, so every call uploads every array,
// as before this cache). Counters of round trips and bytes: transferStats().
//
// Lazy readback and calls that do not wait (TSGPT_WEBGPU_LAZY, on by default; 0 turns it off).
// An output array the tensor layer allocated for kernels only (deviceArray(), see
// backend/device_arrays.ts for why that is exact) is not read back: its bytes stay on the GPU
// until the CPU reads the tensor, another view of its memory goes to a kernel, its entry is
// evicted, or the backend is switched. A call whose outputs all stay on the GPU is posted
// without waiting for the worker; its error, if any, is thrown by the next call that waits.
// So a training step waits on the GPU a few times (the loss, parameters and CPU-written
// inputs) instead of once per kernel, and reads back little besides the parameters.
//
// Kernels left on the js backend (each rare in training): int32 arithmetic (the tensor layer
// already keeps int32 ops on js), copies of byte arrays (masks), ranks above 8 in binary and
// copyStrided, and quantized matmul other than Q8_0 in the plain "rows" layout.
import { MessageChannel, type MessagePort, Worker, receiveMessageOnPort } from "node:worker_threads";
import type { Backend, DataArray, MatmulArgs, QuantDType, QuantLayout } from "../backend.js";
import { jsBackend } from "../js.js";
import { checkTargets } from "../webgpu.js";
import { type Typed, encodeArgs } from "./marshal.js";
import { MirrorCache } from "./mirror_cache.js";
import { MAX_BINARY_RANK } from "./elementwise_wgsl.js";
import { MAX_COPY_RANK } from "./strided_copy_wgsl.js";
import type { GpuCounters, Reply, Request } from "./sync_protocol.js";
import { isDeviceArray, setDeviceSyncHook } from "../device_arrays.js";

const DEFAULT_TIMEOUT_S = 300;
const DEFAULT_RESIDENT_MB = 1024;
/** Calls posted without waiting before the caller waits for the worker to catch up (bounds the queue). */
const MAX_IN_FLIGHT = 64;

/** TSGPT_WEBGPU_LAZY, checked: "0" turns lazy readback off (every output read back after every call). */
export function webgpuLazyReadback(env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = env.TSGPT_WEBGPU_LAZY;
  if (raw === undefined || raw === "" || raw === "1") return true;
  if (raw === "0") return false;
  throw new RangeError(`TSGPT_WEBGPU_LAZY must be 0 (off) or 1 (on), got "${raw}"`);
}

/** TSGPT_WEBGPU_RESIDENT_MB, checked: megabytes (2^20 bytes) of arrays kept on the GPU between calls, ≥ 0. */
export function webgpuResidentBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TSGPT_WEBGPU_RESIDENT_MB;
  if (raw === undefined || raw === "") return DEFAULT_RESIDENT_MB * 2 ** 20;
  const mb = Number(raw);
  if (!(mb >= 0) || !Number.isFinite(mb)) throw new RangeError(`TSGPT_WEBGPU_RESIDENT_MB must be a number of megabytes ≥ 0, got "${raw}"`);
  return Math.floor(mb * 2 ** 20);
}

/** What crossed between the CPU and the GPU since the backend was opened (running totals). */
export interface TransferStats {
  /** Requests to the worker thread (one per backend call that runs on the GPU, plus lazy readbacks). */
  requests: number;
  /** Times the caller waited for the worker (a round trip: a readback, or a call that must finish first). */
  waits: number;
  /** Command submissions, each followed by one wait for the GPU. */
  submits: number;
  /** Bytes written into GPU buffers (arrays the GPU did not hold yet, or that changed on the CPU). */
  uploadBytes: number;
  /** Bytes read back from the GPU (the outputs). */
  readbackBytes: number;
  /** Bytes the caller compared with their mirrors to find what changed. */
  comparedBytes: number;
  /** Arrays kept between calls, their mirrors' bytes, and the GPU bytes they hold now. */
  residentEntries: number;
  residentBytes: number;
  gpuResidentBytes: number;
}

/** TSGPT_WEBGPU_TIMEOUT_S, checked: a positive number of seconds. */
export function webgpuTimeoutSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TSGPT_WEBGPU_TIMEOUT_S;
  if (raw === undefined || raw === "") return DEFAULT_TIMEOUT_S;
  const s = Number(raw);
  if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`TSGPT_WEBGPU_TIMEOUT_S must be a positive number of seconds, got "${raw}"`);
  return s;
}

/** The worker thread and the requests and replies over it (see sync_protocol.ts). */
class WorkerChannel {
  /** Word 0: replies the worker has posted. */
  private readonly control = new Int32Array(new SharedArrayBuffer(4));
  private readonly port: MessagePort;
  private readonly worker: Worker;
  private broken: string | null = null;
  readonly mirrors: MirrorCache;
  /** The adapter's name, from the reply to "open". */
  lastAdapter = "";
  /** Requests posted, replies read, and waits for replies. */
  requests = 0;
  private replies = 0;
  waits = 0;
  gpu: GpuCounters = { submits: 0, uploadBytes: 0, readbackBytes: 0, residentBytes: 0 };

  constructor(
    private readonly timeoutMs: number,
    residentBytes: number,
  ) {
    this.mirrors = new MirrorCache(residentBytes, {
      drain: () => this.drain("webgpu (waiting for earlier kernels)"),
      readBack: (ids) => this.request({ kind: "read", ids }, "webgpu readback"),
    });
    // --input-type (from `node --input-type=module -e …`) would make the worker wait for code on stdin.
    const execArgv = process.execArgv.filter((a) => !a.startsWith("--input-type"));
    this.worker = new Worker(new URL("./sync_worker.js", import.meta.url), { execArgv });
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const init: Request = { kind: "init", control: this.control.buffer as SharedArrayBuffer, port: port2 };
    this.worker.postMessage(init, [port2]);
    // Seen only once the caller is awake again, but then later calls fail at once.
    this.worker.on("error", (e) => {
      this.broken ??= `the webgpu worker failed: ${e.message}`;
    });
    this.worker.on("exit", (code) => {
      this.broken ??= `the webgpu worker exited (code ${code})`;
    });
    // Neither keeps the process alive: a finished program exits with the worker idle.
    this.worker.unref();
    this.port.unref();
  }

  /** Posts `req` and waits until the worker has answered it and everything before it; throws the first error. */
  request(req: Request, what: string): void {
    this.post(req, what);
    this.drain(what);
  }

  /** Posts `req` without waiting (its error, if any, is thrown by the next drain). */
  post(req: Request, what: string): void {
    if (this.broken) throw new Error(`webgpu: the backend is unusable after an earlier failure (${this.broken})`);
    this.port.postMessage(req);
    this.requests++;
    if (this.requests - this.replies >= MAX_IN_FLIGHT) this.drain(what);
  }

  /** Whether some request has not been answered yet. */
  get inFlight(): boolean {
    return this.replies < this.requests;
  }

  /**
   * Waits until every posted request is answered (or the timeout: then the backend is
   * unusable), then reads the replies and throws the first error among them.
   */
  drain(what: string): void {
    if (!this.inFlight) return;
    if (this.broken) throw new Error(`webgpu: the backend is unusable after an earlier failure (${this.broken})`);
    this.waits++;
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const done = Atomics.load(this.control, 0);
      if (done >= this.requests) break;
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(this.control, 0, done, left) === "timed-out") {
        this.broken = `${what} did not finish within ${this.timeoutMs / 1000} s`;
        void this.worker.terminate();
        throw new Error(
          `webgpu: ${what} did not finish within ${this.timeoutMs / 1000} s (TSGPT_WEBGPU_TIMEOUT_S); the GPU may be hung or far too slow for this size`,
        );
      }
    }
    let failed: Extract<Reply, { ok: false }> | null = null;
    let failedLate = false;
    for (let msg = receiveMessageOnPort(this.port); msg; msg = receiveMessageOnPort(this.port)) {
      const reply = msg.message as Reply;
      this.replies++;
      if (reply.gpu) this.gpu = reply.gpu;
      if (reply.ok) {
        this.lastAdapter = reply.adapterName ?? this.lastAdapter;
        continue;
      }
      if (reply.fatal || /device was lost/.test(reply.error)) this.broken = reply.error;
      if (!failed) {
        failed = reply;
        failedLate = this.replies < this.requests;
      }
    }
    if (this.replies < this.requests && !this.broken) throw new Error(`webgpu: ${what}: the worker woke the caller without a reply`);
    if (!failed) return;
    // A call posted without waiting fails here, at a later call: say which one it was.
    const message =
      failedLate && failed.op ? `${failed.error} (in webgpu ${failed.op}, run without waiting and reported here)` : failed.error;
    throw failed.errorName === "RangeError"
      ? new RangeError(message)
      : failed.errorName === "TypeError"
        ? new TypeError(message)
        : new Error(message);
  }

  close(): void {
    this.broken = "closed";
    void this.worker.terminate();
  }
}

export interface WebGPUSyncBackend extends Backend {
  readonly name: "webgpu";
  /** The adapter's name (vendor / architecture / device / description). */
  readonly adapterName: string;
  /** Ends the worker and its device; later calls throw. */
  close(): void;
  /**
   * Reads back every output still only on the GPU and waits for every posted kernel (throwing
   * the first error of one): after this the CPU arrays are current. setBackend calls it when
   * switching away.
   */
  syncAll(): void;
  /** Round trips and bytes moved so far (see TransferStats). */
  transferStats(): TransferStats;
  /** Sets the byte budget of resident arrays (TSGPT_WEBGPU_RESIDENT_MB at load); 0: every call uploads every array. */
  setResidentBudget(bytes: number): void;
}

/**
 * A backend whose every call runs `op` in the worker and copies back `outputs(args)`, except,
 * with lazy readback, the outputs the tensor layer marked with deviceArray().
 */
function createSyncBackend(channel: WorkerChannel, lazy: boolean): WebGPUSyncBackend {
  const mirrors = channel.mirrors;
  const call = (op: string, args: unknown[], outputs: (Typed | null | undefined)[]): void => {
    const { wire, used } = encodeArgs(mirrors, args);
    const outs = outputs.filter((o): o is Typed => o !== null && o !== undefined);
    const outputIds = outs.map((o) => mirrors.idOf(o));
    // Outputs stay on the GPU when marked, resident (a budget), and each in memory of its own
    // (one array passed as several outputs, as the packed gradients of attention, counts once).
    const byId = new Map(outs.map((o, i) => [outputIds[i]!, o]));
    const distinct = new Set([...byId.values()].map((o) => o.buffer)).size === byId.size;
    const deferred = lazy && mirrors.budgetBytes > 0 && distinct ? [...byId.keys()].filter((id) => isDeviceArray(byId.get(id)!)) : [];
    const req: Request = { kind: "call", op, args: wire, update: mirrors.takeUpdate(used), outputs: outputIds, deferred };
    if (deferred.length === byId.size) channel.post(req, `webgpu ${op}`);
    else channel.request(req, `webgpu ${op}`);
    for (const [id, o] of byId) {
      if (deferred.includes(id)) mirrors.markGpuNewer(o);
      else mirrors.copyBack(o);
    }
  };
  /** A kernel that runs on the js backend here reads and writes the CPU arrays: bring them up to date first. */
  const onCpu = (arrays: readonly Typed[]): void => {
    for (const a of arrays) mirrors.readBackMemory(a.buffer);
  };
  const backend: WebGPUSyncBackend = {
    name: "webgpu",
    adapterName: channel.lastAdapter,
    close: () => {
      try {
        backend.syncAll(); // tensors still on the GPU come back before the device goes
      } catch {
        // closing after a failure: what the GPU held is lost, and the CPU arrays keep what they have
      }
      setDeviceSyncHook(null);
      channel.close();
    },
    syncAll: () => {
      mirrors.readBackAll();
      channel.drain("webgpu (finishing the posted kernels)");
    },
    setResidentBudget: (bytes: number) => {
      if (!(bytes >= 0)) throw new RangeError(`setResidentBudget: expected a number of bytes ≥ 0, got ${bytes}`);
      mirrors.budgetBytes = bytes;
    },
    transferStats: () => ({
      requests: channel.requests,
      waits: channel.waits,
      ...channel.gpu,
      comparedBytes: mirrors.counters.comparedBytes,
      residentEntries: mirrors.size.entries,
      residentBytes: mirrors.size.bytes,
      gpuResidentBytes: channel.gpu.residentBytes,
    }),
    matmul: (a: MatmulArgs) => {
      if (a.batch * a.m * a.n === 0) return;
      call("matmul", [a], [a.c]);
    },
    unary: (op, x, out) => call("unary", [op, x, out], [out]),
    unaryBackward: (op, x, y, gy, gx) => call("unaryBackward", [op, x, y, gy, gx], [gx]),
    binary: (op, a, aOffset, aStrides, b, bOffset, bStrides, out, shape) => {
      if (a instanceof Int32Array || b instanceof Int32Array || shape.length > MAX_BINARY_RANK) {
        onCpu([a, b, out]);
        jsBackend.binary(op, a, aOffset, aStrides, b, bOffset, bStrides, out, shape);
        return;
      }
      call("binary", [op, a, aOffset, [...aStrides], b, bOffset, [...bStrides], out, [...shape]], [out]);
    },
    reduce: (op, x, outer, size, inner, out) => call("reduce", [op, x, outer, size, inner, out], [out]),
    argReduce: (op, x, outer, size, inner, out) => call("argReduce", [op, x, outer, size, inner, out], [out]),
    softmax: (x, rows, cols, out, log) => call("softmax", [x, rows, cols, out, log], [out]),
    softmaxBackward: (y, gy, rows, cols, gx, log) => call("softmaxBackward", [y, gy, rows, cols, gx, log], [gx]),
    layerNorm: (x, w, b, rows, cols, eps, out, mean, rstd) =>
      call("layerNorm", [x, w, b, rows, cols, eps, out, mean, rstd], [out, mean, rstd]),
    layerNormBackward: (x, w, mean, rstd, gy, rows, cols, gx, gw, gb) =>
      call("layerNormBackward", [x, w, mean, rstd, gy, rows, cols, gx, gw, gb], [gx, gw, gb]),
    rmsNorm: (x, w, rows, cols, eps, out, rstd) => call("rmsNorm", [x, w, rows, cols, eps, out, rstd], [out, rstd]),
    rmsNormBackward: (x, w, rstd, gy, rows, cols, gx, gw) => call("rmsNormBackward", [x, w, rstd, gy, rows, cols, gx, gw], [gx, gw]),
    embedding: (weight, vocab, dim, ids, out) => {
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        if (!(id >= 0 && id < vocab))
          throw new RangeError(`embedding: index ${id} at position ${i} is out of range for a vocabulary of ${vocab}`);
      }
      call("embedding", [weight, vocab, dim, ids, out], [out]);
    },
    embeddingBackward: (gy, ids, dim, gw) => call("embeddingBackward", [gy, ids, dim, gw], [gw]),
    crossEntropy: (logits, targets, rows, cols, ignoreIndex, losses, lse) => {
      checkTargets(targets, rows, cols, ignoreIndex); // here, so the error is thrown before any work
      call("crossEntropy", [logits, targets, rows, cols, ignoreIndex, losses, lse], [losses, lse]);
    },
    crossEntropyBackward: (logits, targets, lse, gLoss, rows, cols, ignoreIndex, glogits) =>
      call("crossEntropyBackward", [logits, targets, lse, gLoss, rows, cols, ignoreIndex, glogits], [glogits]),
    copyStrided: (src: DataArray, offset, shape, strides, out: DataArray) => {
      if (src instanceof Uint8Array || shape.length > MAX_COPY_RANK) {
        onCpu([src, out]);
        jsBackend.copyStrided(src, offset, shape, strides, out);
        return;
      }
      call("copyStrided", [src, offset, [...shape], [...strides], out], [out]);
    },
    adamw: (p, g, m, v, lr, beta1, beta2, eps, weightDecay, step) =>
      call("adamw", [p, g, m, v, lr, beta1, beta2, eps, weightDecay, step], [p, m, v]),
    quantMatmul: (dtype: QuantDType, layout: QuantLayout, x, m, k, w, n, out) => {
      if (dtype !== "Q8_0" || layout !== "rows") {
        onCpu([x, w, out]);
        jsBackend.quantMatmul(dtype, layout, x, m, k, w, n, out);
        return;
      }
      call("quantMatmul", [dtype, layout, x, m, k, w, n, out], [out]);
    },
    // The fused causal attention (training) runs on js until it has a WGSL kernel of its own.
    causalAttention: (args, out) => call("causalAttention", [args, out], [out, args.probs]),
    causalAttentionBackward: (args) => call("causalAttentionBackward", [args], [args.gq, args.gk, args.gv]),
    preferredQuantLayout: () => "rows",
    quantKernelName: () => "webgpu (Q8_0; other dtypes on js)",
    linearHalf: (dtype, x, m, k, bits, n, out) => call("linearHalf", [dtype, x, m, k, bits, n, out], [out]),
    attention: (a) => call("attention", [a], [a.out]),
  };
  return backend;
}

let loaded: WebGPUSyncBackend | null = null;

/** The synchronous webgpu backend if one was loaded in this process, else null (nothing is opened). */
export function loadedWebGPUSyncBackend(): WebGPUSyncBackend | null {
  return loaded;
}

/**
 * Opens the GPU in a worker thread (once per process) and returns the synchronous backend, or
 * throws a clear error: "<why>: no WebGPU adapter: …" when there is no GPU or no `webgpu` package.
 */
export function loadWebGPUSyncBackend(why: string): WebGPUSyncBackend {
  if (loaded) return loaded;
  const lazy = webgpuLazyReadback();
  const channel = new WorkerChannel(webgpuTimeoutSeconds() * 1000, webgpuResidentBytes());
  try {
    channel.request({ kind: "open" }, "opening the GPU");
  } catch (e) {
    channel.close();
    const reason = (e as Error).message.replace(/^no WebGPU adapter \((.*)\)$/s, "$1");
    throw new Error(`tsgpt: ${why} asks for the webgpu backend, but there is no WebGPU adapter: ${reason}`);
  }
  loaded = createSyncBackend(channel, lazy);
  // CPU reads of tensors marked with deviceArray() read back their bytes first (device_arrays.ts).
  setDeviceSyncHook((memory) => channel.mirrors.readBackMemory(memory));
  return loaded;
}
