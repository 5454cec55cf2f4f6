// Rotary embeddings on the webgpu backend run as tensor ops (rope.ts, rotateWithKernels), so q
// and k stay on the GPU; they must give the CPU loop's values and gradients. Skipped, with the
// reason, where no WebGPU adapter exists (lavapipe gives one on Linux without a GPU).
import { test } from "node:test";
import assert from "node:assert/strict";
import { RotaryEmbedding } from "../../src/nn/index.js";
import { Generator, getBackend, randn, setBackend } from "../../src/tensor/index.js";

let reason = "";
const before = getBackend().name;
try {
  setBackend("webgpu");
  setBackend(before);
} catch (e) {
  reason = (e as Error).message;
}

test("rope on webgpu equals the CPU loop, values and gradients", { skip: reason ? `webgpu unavailable: ${reason}` : false }, () => {
  const B = 2,
    T = 5,
    H = 3,
    hd = 8;
  const rope = new RotaryEmbedding(hd, 32, 10000);
  const positions = Int32Array.from([0, 1, 2, 3, 4, 7, 7, 8, 30, 31]);
  const run = (backend: "js" | "webgpu") => {
    setBackend(backend);
    try {
      const gen = new Generator(11);
      const x = randn([B, T, H, hd], { generator: gen, requiresGrad: true });
      const w = randn([B, H, T, hd], { generator: gen });
      const y = rope.apply(x, positions);
      y.mul(w).sum().backward();
      return { y: Array.from(y.data()), shape: y.shape, gx: Array.from(x.grad!.data()) };
    } finally {
      setBackend(before);
    }
  };
  const cpu = run("js");
  const gpu = run("webgpu");
  assert.deepEqual(gpu.shape, [B, H, T, hd]);
  const worst = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
  assert.ok(worst(gpu.y, cpu.y) <= 1e-6, `values differ by ${worst(gpu.y, cpu.y)}`);
  assert.ok(worst(gpu.gx, cpu.gx) <= 1e-5, `gradients differ by ${worst(gpu.gx, cpu.gx)}`);
});
