// The resident-buffer cache of the synchronous webgpu backend (sync_backend.ts explains the
// design): arrays the GPU already holds are not uploaded again, and a CPU write between two
// calls, or an output a kernel writes on the worker's CPU, is never missed. The cache's
// bookkeeping (mirror_cache.ts) is tested without a GPU; the rest needs an adapter (lavapipe
// on Linux without a GPU) and is skipped, with the reason, without one.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { AttentionArgs, MatmulArgs } from "../../src/backend/backend.js";
import { jsBackend } from "../../src/backend/js.js";
import { MirrorCache, type MirrorChannel } from "../../src/backend/webgpu/mirror_cache.js";
import { type WebGPUSyncBackend, loadWebGPUSyncBackend, webgpuResidentBytes } from "../../src/backend/webgpu/sync_backend.js";
import { rng } from "../helpers/random.js";

const rand = rng(97531);
const randomF32 = (n: number): Float32Array => Float32Array.from({ length: n }, () => rand());
/** A channel for the cache alone: nothing is in flight, and nothing is GPU-newer unless a test says so. */
const idle: MirrorChannel = {
  drain: () => {},
  readBack: () => assert.fail("nothing should be read back here"),
};

describe("the mirror cache (no GPU needed)", () => {
  test("an array is staged when new and non-zero, or after a CPU write; never when unchanged", () => {
    const cache = new MirrorCache(1 << 20, idle);
    const zeros = new Float32Array(8);
    const data = Float32Array.from([1, 2, 3, 4]);
    const z = cache.prepare(zeros);
    const d = cache.prepare(data);
    let u = cache.takeUpdate(new Set([z, d]));
    assert.deepEqual(
      u.created.map((c) => c.id),
      [z, d],
    );
    assert.deepEqual(u.dirty, [d], "zeros match a new (zero) mirror: nothing to upload");
    assert.deepEqual([...new Float32Array(u.created[1]!.mirror, 0, 4)], [1, 2, 3, 4]);
    assert.equal(cache.prepare(data), d);
    assert.deepEqual(cache.takeUpdate(new Set([d])).dirty, [], "unchanged: the GPU copy is current");
    data[2] = 30;
    cache.prepare(data);
    u = cache.takeUpdate(new Set([d]));
    assert.deepEqual(u.dirty, [d], "a CPU write is found by comparing bytes");
    assert.equal(cache.counters.stagedBytes, 32);
  });

  test("an array zeroed on the CPU is sent as 'zeroed', not uploaded", () => {
    const cache = new MirrorCache(1 << 20, idle);
    const g = Float32Array.from([1, 2, 3, 4]);
    const id = cache.prepare(g);
    cache.takeUpdate(new Set([id]));
    g.fill(0);
    cache.prepare(g);
    const u = cache.takeUpdate(new Set([id]));
    assert.deepEqual(u.zeroed, [id]);
    assert.deepEqual(u.dirty, []);
  });

  test("entries are the memory, not the view object: a new view of the same bytes is the same entry", () => {
    const cache = new MirrorCache(1 << 20, idle);
    const storage = randomF32(16);
    const a = cache.prepare(storage.subarray(0, 8));
    assert.equal(cache.prepare(storage.subarray(0, 8)), a);
    assert.equal(cache.prepare(new Float32Array(storage.buffer, 0, 8)), a);
    assert.notEqual(cache.prepare(storage.subarray(8, 16)), a, "another range is another entry");
  });

  test("over the budget the least recently used entries are freed, never those of the current call", () => {
    const cache = new MirrorCache(64, idle); // room for two arrays of 8 floats
    const [x, y, z] = [randomF32(8), randomF32(8), randomF32(8)];
    const ix = cache.prepare(x),
      iy = cache.prepare(y);
    cache.takeUpdate(new Set([ix, iy]));
    cache.prepare(x); // x used again: y is now the oldest
    const iz = cache.prepare(z);
    const u = cache.takeUpdate(new Set([ix, iz]));
    assert.deepEqual(u.freed, [iy]);
    assert.deepEqual(cache.size, { entries: 2, bytes: 64 });
    const iy2 = cache.prepare(y);
    assert.notEqual(iy2, iy, "an evicted array comes back as a new entry");
    assert.ok(cache.takeUpdate(new Set([iy2])).dirty.includes(iy2), "and is uploaded again");
  });

  test("a budget of 0 keeps nothing: every array is uploaded at every call", () => {
    const cache = new MirrorCache(0, idle);
    const x = new Float32Array(4);
    const a = cache.prepare(x);
    assert.deepEqual(cache.takeUpdate(new Set([a])).dirty, [a]);
    assert.equal(cache.prepare(x), a);
    assert.deepEqual(cache.takeUpdate(new Set([a])).dirty, [a], "unchanged, and uploaded again all the same");
    const y = new Float32Array(4);
    const b = cache.prepare(y);
    const u = cache.takeUpdate(new Set([b]));
    assert.deepEqual(u.freed, [a], "entries of earlier calls are dropped");
    assert.deepEqual(u.dirty, [b]);
  });

  test("TSGPT_WEBGPU_RESIDENT_MB is checked", () => {
    assert.equal(webgpuResidentBytes({}), 1024 * 2 ** 20);
    assert.equal(webgpuResidentBytes({ TSGPT_WEBGPU_RESIDENT_MB: "0" }), 0);
    assert.equal(webgpuResidentBytes({ TSGPT_WEBGPU_RESIDENT_MB: "1.5" }), 1.5 * 2 ** 20);
    assert.throws(
      () => webgpuResidentBytes({ TSGPT_WEBGPU_RESIDENT_MB: "-1" }),
      /TSGPT_WEBGPU_RESIDENT_MB must be a number of megabytes ≥ 0, got "-1"/,
    );
    assert.throws(() => webgpuResidentBytes({ TSGPT_WEBGPU_RESIDENT_MB: "lots" }), /got "lots"/);
  });
});

let gpu: WebGPUSyncBackend | null = null;
let reason = "";
try {
  gpu = loadWebGPUSyncBackend("the resident-buffer tests");
} catch (e) {
  reason = (e as Error).message;
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= 1e-4 * (1 + Math.abs(want[i]!))))
      assert.fail(`${what}: element ${i} is ${got[i]}, the js backend gives ${want[i]}`);
  }
}

describe("resident buffers on the GPU", { skip: gpu ? false : `webgpu unavailable: ${reason}` }, () => {
  const m = 24,
    n = 40,
    k = 32;
  const product = (a: Float32Array, b: Float32Array, c: Float32Array): MatmulArgs => ({
    batch: 1,
    m,
    n,
    k,
    a,
    aOffset: 0,
    aBatchStride: m * k,
    transA: false,
    b,
    bOffset: 0,
    bBatchStride: k * n,
    transB: false,
    c,
    accumulate: false,
  });
  const uploaded = (): number => gpu!.transferStats().uploadBytes;

  test("an array the GPU holds is not uploaded again; after a CPU write it is, and the result follows it", () => {
    const [a, b, c, want] = [randomF32(m * k), randomF32(k * n), new Float32Array(m * n), new Float32Array(m * n)];
    gpu!.matmul(product(a, b, c));
    jsBackend.matmul(product(a, b, want));
    assertClose(c, want, "first product");
    const before = uploaded();
    gpu!.matmul(product(a, b, c));
    assert.equal(uploaded() - before, 0, "a, b and c are resident and unchanged");
    assertClose(c, want, "second product");
    a[5] = 3; // a CPU write nobody announces
    const before2 = uploaded();
    gpu!.matmul(product(a, b, c));
    assert.equal(uploaded() - before2, a.byteLength, "only a goes up again");
    jsBackend.matmul(product(a, b, want));
    assertClose(c, want, "after the write");
  });

  test("an accumulator zeroed on the CPU (gradients between steps) restarts from zero without an upload", () => {
    const [a, b, c, want] = [randomF32(m * k), randomF32(k * n), randomF32(m * n), new Float32Array(m * n)];
    const acc = (c: Float32Array): MatmulArgs => ({ ...product(a, b, c), accumulate: true });
    gpu!.matmul(acc(c));
    c.fill(0);
    const before = uploaded();
    gpu!.matmul(acc(c));
    assert.equal(uploaded() - before, 0);
    jsBackend.matmul(acc(want));
    assertClose(c, want, "a·b accumulated into zeros");
  });

  test("an output is read back at every call, so the CPU reads what the GPU wrote", () => {
    const x = randomF32(100);
    const y = new Float32Array(100);
    gpu!.unary("exp", x, y);
    y[0] = 123; // overwritten on the CPU, then the GPU writes it again
    gpu!.unary("exp", x, y);
    assertClose(y, x.map(Math.exp), "exp");
  });

  test("an op in place (out = x) reads the old values and leaves the new ones resident", () => {
    const x = randomF32(300);
    const want = x.map((v) => Math.exp(Math.exp(v)));
    gpu!.unary("exp", x, x);
    gpu!.unary("exp", x, x);
    assertClose(x, want, "exp ∘ exp in place");
  });

  test("an output the worker writes on its CPU (a comparison's byte mask) is uploaded fresh when a kernel reads it", () => {
    const headDim = 4,
      capacity = 4;
    const valid = new Uint8Array(capacity); // all zeros: resident as zeros
    const scores = Float32Array.from([1, -1, 2, 3]);
    // gt narrows the shader's f32 result into the Uint8Array on the worker's CPU.
    gpu!.binary("gt", scores, 0, [1], new Float32Array([0]), 0, [0], valid, [capacity]);
    assert.deepEqual([...valid], [1, 0, 1, 1]);
    const args = (out: Float32Array): AttentionArgs => ({
      batch: 1,
      steps: 1,
      heads: 1,
      kvHeads: 1,
      headDim,
      q: Float32Array.from([0.5, -0.2, 0.1, 0.3]),
      keys: Float32Array.from({ length: capacity * headDim }, (_, i) => Math.sin(i)),
      values: Float32Array.from({ length: capacity * headDim }, (_, i) => Math.cos(i)),
      capacity,
      valid,
      start: capacity - 1,
      scale: 0.5,
      out,
    });
    const [got, want] = [new Float32Array(headDim), new Float32Array(headDim)];
    gpu!.attention(args(got));
    jsBackend.attention(args(want));
    assertClose(got, want, "attention over the mask");
  });
});
