// Lazy readback of the synchronous webgpu backend (backend/device_arrays.ts explains why it is
// exact): outputs the tensor layer allocated for kernels stay on the GPU until the CPU reads
// them, calls with only such outputs are posted without waiting, and every way the CPU can
// reach the bytes (a tensor read, another view of the memory, an eviction, a backend switch)
// brings them back first. The cache's bookkeeping is tested without a GPU; the rest needs an
// adapter (lavapipe on Linux without a GPU) and is skipped, with the reason, without one.
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { deviceArray, isDeviceArray, syncForCpu } from "../../src/backend/device_arrays.js";
import { getBackend, setBackend } from "../../src/backend/index.js";
import { MirrorCache, type MirrorChannel } from "../../src/backend/webgpu/mirror_cache.js";
import { type WebGPUSyncBackend, loadWebGPUSyncBackend, webgpuLazyReadback } from "../../src/backend/webgpu/sync_backend.js";
import { randn, exp } from "../../src/tensor/index.js";
import { rng } from "../helpers/random.js";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

const rand = rng(8642);
const randomF32 = (n: number): Float32Array => Float32Array.from({ length: n }, () => rand());

describe("the mirror cache's GPU-newer entries (no GPU needed)", () => {
  /**
   * A cache over a fake channel whose "GPU" holds bytes per entry (a read back writes them into
   * the entry's mirror), and `onGpu(a, bytes)`: `a` passed to a kernel whose result stays on the GPU.
   */
  function fakeGpu(budget: number) {
    const mirrors = new Map<number, SharedArrayBuffer>();
    const gpuBytes = new Map<number, Float32Array>();
    const reads: number[][] = [];
    const channel: MirrorChannel = {
      drain: () => {},
      readBack: (ids) => {
        reads.push(ids);
        for (const id of ids) new Float32Array(mirrors.get(id)!).set(gpuBytes.get(id)!);
      },
    };
    const cache = new MirrorCache(budget, channel);
    const onGpu = (a: Float32Array, bytes: number[]): number => {
      const id = cache.prepare(a);
      for (const c of cache.takeUpdate(new Set([id])).created) mirrors.set(c.id, c.mirror);
      cache.markGpuNewer(a);
      gpuBytes.set(id, Float32Array.from(bytes));
      return id;
    };
    return { cache, reads, onGpu };
  }

  test("a GPU-newer array is neither compared nor uploaded, and a CPU read brings its bytes back", () => {
    const { cache, reads, onGpu } = fakeGpu(1 << 20);
    const out = new Float32Array(4);
    const id = onGpu(out, [1, 2, 3, 4]);
    const compared = cache.counters.comparedBytes;
    assert.equal(cache.prepare(out), id, "passed again: the same entry");
    assert.equal(cache.counters.comparedBytes, compared, "not compared: the GPU copy is the newest");
    assert.deepEqual(cache.takeUpdate(new Set([id])).dirty, [], "and not uploaded");
    assert.deepEqual([...out], [0, 0, 0, 0], "the CPU array is stale until read back");
    cache.readBackMemory(out.buffer);
    assert.deepEqual(reads, [[id]]);
    assert.deepEqual([...out], [1, 2, 3, 4]);
    cache.readBackMemory(out.buffer);
    assert.equal(reads.length, 1, "read back once: the entry is current again");
  });

  test("another view of the same memory, and an eviction, read the GPU-newer bytes back first", () => {
    const { cache, reads, onGpu } = fakeGpu(64); // room for 16 floats
    const storage = new Float32Array(8);
    const id = onGpu(storage, [1, 2, 3, 4, 5, 6, 7, 8]);
    const hid = cache.prepare(storage.subarray(4, 8));
    assert.deepEqual(reads, [[id]], "the whole array came back before its second half was staged");
    const staged = cache.takeUpdate(new Set([hid])).created.find((c) => c.id === hid)!;
    assert.deepEqual([...new Float32Array(staged.mirror, 0, 4)], [5, 6, 7, 8]);
    // Eviction: a new GPU-newer entry, then enough other arrays to push it out.
    const y = new Float32Array(8);
    const yid = onGpu(y, new Array(8).fill(7));
    const bid = cache.prepare(randomF32(16));
    assert.ok(cache.takeUpdate(new Set([bid])).freed.includes(yid), "y was evicted");
    assert.deepEqual(reads.at(-1), [yid], "after being read back");
    assert.deepEqual([...y], [7, 7, 7, 7, 7, 7, 7, 7]);
  });

  test("the cache keeps no array alive: a loop that never yields can still free what it stops using", () => {
    // A WeakRef keeps its target until the current job ends, and a training loop is one job:
    // a cache holding WeakRefs would keep every array the loop ever passed.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const cache = new MirrorCache(1 << 20, { drain: () => {}, readBack: () => {} });
    gc();
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 16; i++) {
      const a = new Float32Array(2 << 20); // 8 MB each, 128 MB in all
      a[0] = i;
      cache.takeUpdate(new Set([cache.prepare(a)])); // over the budget: its mirror is evicted at the next call
    }
    cache.takeUpdate(new Set());
    // Freed memory is swept on another thread: collect and wait (without ending this job) until
    // it shows, for up to 5 s.
    const nap = new Int32Array(new SharedArrayBuffer(4));
    let grown = Number.POSITIVE_INFINITY;
    for (let tries = 0; tries < 100 && grown >= 40; tries++) {
      gc();
      grown = (process.memoryUsage().arrayBuffers - before) / 2 ** 20;
      if (grown >= 40) Atomics.wait(nap, 0, 0, 50);
    }
    assert.ok(grown < 40, `${grown.toFixed(0)} MB of array memory still held after the loop`);
  });

  test("TSGPT_WEBGPU_LAZY is checked", () => {
    assert.equal(webgpuLazyReadback({}), true);
    assert.equal(webgpuLazyReadback({ TSGPT_WEBGPU_LAZY: "0" }), false);
    assert.equal(webgpuLazyReadback({ TSGPT_WEBGPU_LAZY: "1" }), true);
    assert.throws(() => webgpuLazyReadback({ TSGPT_WEBGPU_LAZY: "yes" }), /TSGPT_WEBGPU_LAZY must be 0 \(off\) or 1 \(on\), got "yes"/);
  });
});

let gpu: WebGPUSyncBackend | null = null;
let reason = "";
try {
  gpu = webgpuLazyReadback() ? loadWebGPUSyncBackend("the lazy readback tests") : null;
  if (!gpu) reason = "TSGPT_WEBGPU_LAZY=0";
} catch (e) {
  reason = (e as Error).message;
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= 1e-5 * (1 + Math.abs(want[i]!))))
      assert.fail(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
  }
}

describe("lazy readback on the GPU", { skip: gpu ? false : `webgpu unavailable: ${reason}` }, () => {
  const before = getBackend().name;
  after(() => setBackend(before));

  test("a tensor op's result stays on the GPU, posted without a wait, until the CPU reads the tensor", () => {
    setBackend("webgpu");
    const x = randn([64, 32]);
    const want = Array.from(x.data(), Math.exp); // x read on the CPU: from now on it is read back after every write
    const s0 = gpu!.transferStats();
    const y = exp(x);
    const s1 = gpu!.transferStats();
    assert.ok(isDeviceArray(y.deviceStorage), "the result was allocated for kernels");
    assert.equal(s1.requests - s0.requests, 1, "one kernel posted");
    assert.equal(s1.waits - s0.waits, 0, "without waiting for it");
    // Without the read-back hook in Tensor.storage / data(), this would read zeros.
    assertClose(y.data(), want, "exp(x) read through data()");
    const s2 = gpu!.transferStats();
    assert.equal(s2.readbackBytes - s1.readbackBytes, 64 * 32 * 4, "read back when asked for, once");
    assert.equal(isDeviceArray(y.deviceStorage), false, "handed out by data(): from now on read back after every write");
    assertClose(exp(y).data(), want.map(Math.exp), "a kernel reading it again");
  });

  test("item(), a view of the same memory, and a backend switch all see the GPU's bytes", () => {
    setBackend("webgpu");
    const x = randn([40]);
    const xs = Array.from(x.cpuData());
    const y = exp(x);
    assert.ok(Math.abs(y.select(0, 3).item() - Math.exp(xs[3]!)) < 1e-5, "item() of one element of a view");
    const z = exp(y.slice(0, 10, 20)); // a kernel reading part of y's memory
    assertClose(
      z.cpuData(),
      xs.slice(10, 20).map((v) => Math.exp(Math.exp(v))),
      "exp of a slice of a GPU-newer tensor",
    );
    const w = exp(x);
    setBackend("js"); // every GPU-newer array comes back before the CPU backend runs
    assertClose(w.deviceStorage, xs.map(Math.exp), "the raw storage after switching to js");
  });

  test("an array the CPU wrote after reading it back goes up again", () => {
    setBackend("webgpu");
    const x = randn([16]);
    const y = exp(x);
    const ys = y.cpuStorage() as Float32Array; // current now; written below without a hook
    ys.fill(1);
    assertClose(exp(y).cpuData(), new Array(16).fill(Math.E), "exp of the rewritten array");
  });

  test("an op in place on GPU-newer arrays (a gradient accumulating) stays on the GPU", () => {
    setBackend("webgpu");
    const x = randn([300]);
    const xs = Array.from(x.cpuData());
    const acc = exp(x); // GPU-newer
    const g = exp(exp(x)); // GPU-newer
    // The worker's counters arrive with its replies: a call that waits brings them up to date.
    const plain = (): void => gpu!.unary("exp", new Float32Array(4), new Float32Array(4));
    plain();
    const s0 = gpu!.transferStats();
    const a = acc.deviceStorage as Float32Array;
    // acc += g, out aliasing the first input: the input binding is copied from acc's buffer on the GPU.
    gpu!.binary("add", a, 0, [1], g.deviceStorage as Float32Array, 0, [1], a, [300]);
    assert.equal(gpu!.transferStats().waits - s0.waits, 0, "posted without waiting");
    plain();
    const s1 = gpu!.transferStats();
    assert.equal(s1.readbackBytes - s0.readbackBytes, 16, "nothing read back but the plain call's 4 floats");
    assertClose(
      acc.cpuData(),
      xs.map((v) => Math.exp(v) + Math.exp(Math.exp(v))),
      "acc after the add",
    );
  });

  test("a posted call's error is thrown by the next call that waits, naming the call", () => {
    const a = deviceArray(6),
      b = deviceArray(6),
      c = deviceArray(2); // 2×2 needs 4 elements: the worker rejects it
    gpu!.matmul({
      ...{ batch: 1, m: 2, n: 2, k: 3, a, aOffset: 0, aBatchStride: 0, transA: false },
      ...{ b, bOffset: 0, bBatchStride: 0, transB: false, c, accumulate: false },
    });
    assert.throws(() => gpu!.syncAll(), /c has 2 elements, needs 4 \(in webgpu matmul, run without waiting and reported here\)/);
    // The backend goes on working after the error.
    const x = randomF32(8);
    const out = new Float32Array(8);
    gpu!.unary("exp", x, out);
    assertClose(out, Array.from(x, Math.exp), "exp after the failure");
  });

  test("an evicted GPU-newer array is read back before its buffer is freed", () => {
    setBackend("webgpu");
    const x = randn([256]);
    const xs = Array.from(x.cpuData());
    const y = exp(x);
    gpu!.setResidentBudget(8 * 1024); // a few small arrays
    try {
      for (let i = 0; i < 8; i++) exp(randn([512])); // pushes y out
      syncForCpu(y.deviceStorage);
      assertClose(y.deviceStorage, xs.map(Math.exp), "y after its eviction");
    } finally {
      gpu!.setResidentBudget(1024 * 2 ** 20);
    }
  });

  test("a plain Float32Array (not allocated for kernels) is read back at every call", () => {
    const x = randomF32(32);
    const out = new Float32Array(32);
    const s0 = gpu!.transferStats();
    gpu!.unary("exp", x, out);
    assert.equal(gpu!.transferStats().waits - s0.waits, 1, "waited");
    assertClose(out, Array.from(x, Math.exp), "exp");
  });
});
