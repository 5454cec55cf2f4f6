// Memory: 1,000 training steps of a small MLP must not grow memory without bound. backward()
// frees the graph (saved tensors, closures), so each step's intermediates become garbage.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Generator, randn, randint, matmul, crossEntropy, noGrad, type Tensor } from "../../src/tensor/index.js";

// node:test runs without --expose-gc; enable it at run time and fetch the gc function.
setFlagsFromString("--expose_gc");
const gc = runInNewContext("gc") as () => void;

function usedBytes(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

test("1,000 training steps keep memory flat", () => {
  const g = new Generator(0);
  const w1 = randn([8, 32], { generator: g }).mul(0.3).requiresGrad_();
  const b1 = randn([32], { generator: g }).mul(0.1).requiresGrad_();
  const w2 = randn([32, 4], { generator: g }).mul(0.3).requiresGrad_();
  const params: Tensor[] = [w1, b1, w2];
  const x = randn([16, 8], { generator: g });
  const y = randint(0, 4, [16], { generator: g });

  // Keeping every loss tensor (a classic leak in PyTorch when the graph stays attached) must
  // not keep the graphs alive here: backward() released them.
  const history: Tensor[] = [];
  const step = (): number => {
    const h = matmul(x, w1).add(b1).gelu();
    const loss = crossEntropy(matmul(h, w2), y);
    for (const p of params) p.zeroGrad();
    loss.backward();
    history.push(loss);
    noGrad(() => {
      for (const p of params) p.add_(p.grad!, -0.1);
    });
    return loss.item();
  };

  const first = step();
  for (let i = 0; i < 99; i++) step();
  const before = usedBytes();
  let last = first;
  for (let i = 0; i < 900; i++) last = step();
  const after = usedBytes();
  assert.ok(last < first, `loss should go down: ${first} → ${last}`);
  // One step's graph holds ~20 KB of activations and gradients: kept alive for 900 steps that
  // would be ~18 MB. What remains per kept loss is a few hundred bytes.
  const growth = after - before;
  assert.equal(history.length, 1000);
  assert.ok(growth < 3_000_000, `memory grew by ${growth} bytes over 900 steps`);
});

test("dispose() releases a tensor's storage and graph links", () => {
  const t = randn([1000]).requiresGrad_();
  const u = t.mul(2);
  u.dispose();
  assert.equal(u.storage.length, 0);
  assert.equal(u.gradFn, null);
});
