// Element-wise ops, broadcasting, dtype rules, reductions, matmul, losses and autograd basics,
// on hand-checkable values.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  tensor,
  zeros,
  ones,
  full,
  arange,
  randn,
  where,
  matmul,
  crossEntropy,
  embedding,
  softmax,
  logSoftmax,
  noGrad,
  isGradEnabled,
  manualSeed,
  sum,
  max,
  maskedFill,
  type Tensor,
} from "../../src/tensor/index.js";

function near(actual: Tensor | number, expected: number | number[], tol = 1e-6): void {
  const v = typeof actual === "number" ? [actual] : Array.from(actual.data());
  const e = typeof expected === "number" ? [expected] : expected;
  assert.equal(v.length, e.length);
  e.forEach((x, i) => assert.ok(Math.abs(v[i] - x) <= tol * Math.max(1, Math.abs(x)), `element ${i}: ${v[i]} vs ${x}`));
}

test("broadcasting follows numpy rules", () => {
  const a = tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.deepEqual(a.add(tensor([10, 20, 30])).tolist(), [
    [11, 22, 33],
    [14, 25, 36],
  ]);
  assert.deepEqual(a.mul(tensor([[2], [3]])).tolist(), [
    [2, 4, 6],
    [12, 15, 18],
  ]);
  assert.deepEqual(
    tensor([[1], [2]])
      .sub(tensor([1, 2, 3]))
      .tolist(),
    [
      [0, -1, -2],
      [1, 0, -1],
    ],
  );
  assert.deepEqual(a.add(1).tolist(), [
    [2, 3, 4],
    [5, 6, 7],
  ]);
  // Views (transposed, expanded) broadcast without copies.
  assert.deepEqual(
    a
      .t()
      .add(tensor([[100], [200], [300]]))
      .tolist(),
    [
      [101, 104],
      [202, 205],
      [303, 306],
    ],
  );
  assert.throws(() => a.add(tensor([1, 2])), /add: shapes \[2, 3\] and \[2\] cannot be broadcast together/);
});

test("dtype rules: no silent conversion", () => {
  const i = tensor([1, 2, 3]);
  const f = tensor([0.5, 1.5, 2.5]);
  assert.equal(i.add(i).dtype, "int32");
  assert.equal(i.mul(2).dtype, "int32");
  assert.equal(i.div(2).dtype, "float32"); // true division, like torch
  near(i.div(2), [0.5, 1, 1.5]);
  assert.throws(
    () => i.add(f),
    (e: Error) => e instanceof TypeError && /add: dtype mismatch: int32 and float32/.test(e.message),
  );
  assert.throws(() => i.add(1.5), /int32 tensor with the non-integer 1.5/);
  assert.throws(() => i.exp(), /exp: expected a float32 tensor, got int32/);
  assert.throws(() => tensor([true]).add(tensor([true])), /bool/);
  assert.deepEqual(i.neg().tolist(), [-1, -2, -3]);
  assert.deepEqual(f.add(1).tolist(), [1.5, 2.5, 3.5]);
  assert.deepEqual(f.int().tolist(), [0, 1, 2]);
  assert.deepEqual(tensor([-1.7]).to("int32").tolist(), [-1]);
  assert.deepEqual(f.bool().tolist(), [true, true, true]);
  assert.throws(() => tensor([Number.NaN]).int(), /cannot be converted/);
  assert.throws(() => i.requiresGrad_(), /only float32/);
});

test("math functions on known values", () => {
  near(tensor([0, 1]).float().exp(), [1, Math.E]);
  near(tensor([1, 4]).float().sqrt(), [1, 2]);
  near(tensor([4]).float().rsqrt(), [0.5]);
  near(tensor([-2, 3]).float().abs(), [2, 3]);
  near(tensor([-1, 2]).float().relu(), [0, 2]);
  near(tensor([0]).float().sigmoid(), [0.5]);
  near(tensor([2]).float().pow(3), [8]);
  near(tensor([1, 2]).float().silu(), [1 / (1 + Math.exp(-1)), 2 / (1 + Math.exp(-2))]);
  near(tensor([-5, 0.5, 5]).clamp(-1, 1), [-1, 0.5, 1]);
  near(tensor([-5, 0.5, 5]).clamp(null, 1), [-5, 0.5, 1]);
  assert.deepEqual(tensor([-5, 3]).clamp(0).tolist(), [0, 3]);
  near(
    tensor([1, -2])
      .float()
      .maximum(tensor([0.5, 0.5])),
    [1, 0.5],
  );
});

test("comparisons give bool masks; ids.ne(padId) is the attention mask", () => {
  const padId = 0;
  const ids = tensor([
    [5, 8, 2, 0, 0],
    [7, 3, 0, 0, 0],
  ]);
  const mask = ids.ne(padId);
  assert.equal(mask.dtype, "bool");
  assert.deepEqual(mask.tolist(), [
    [true, true, true, false, false],
    [true, true, false, false, false],
  ]);
  assert.deepEqual(mask.int().sum(1).tolist(), [3, 2]); // sequence lengths
  assert.deepEqual(tensor([1, 2, 3]).float().gt(1.5).tolist(), [false, true, true]);
  assert.deepEqual(
    tensor([1, 2])
      .le(tensor([[1], [2]]))
      .tolist(),
    [
      [true, false],
      [true, true],
    ],
  );
  assert.deepEqual(
    mask
      .logicalNot()
      .logicalAnd(tensor([true, true, true, true, false]))
      .tolist(),
    [
      [false, false, false, true, false],
      [false, false, true, true, false],
    ],
  );
  // Masking attention scores: padded keys get -inf, softmax ignores them.
  const scores = zeros([2, 5]).maskedFill(mask.logicalNot(), -Infinity);
  near(softmax(scores, -1).select(0, 0), [1 / 3, 1 / 3, 1 / 3, 0, 0]);
  assert.throws(() => maskedFill(zeros([2, 5]), ids, 0), /bool/);
  assert.throws(
    () =>
      zeros([2]).maskedFill(
        tensor([
          [true, false],
          [true, true],
        ]),
        0,
      ),
    /does not broadcast/,
  );
});

test("where with tensors and scalars", () => {
  const c = tensor([true, false, true]);
  assert.deepEqual(where(c, tensor([1, 2, 3]), tensor([10, 20, 30])).tolist(), [1, 20, 3]);
  assert.deepEqual(where(c, 1, 0).tolist(), [1, 0, 1]);
  near(where(c, tensor([1.5, 2, 3]), 0), [1.5, 0, 3]);
  assert.throws(() => where(tensor([1, 0]), 1, 0), /bool/);
});

test("reductions over dims with keepdim", () => {
  const a = tensor([
    [1, 5, 3],
    [4, 2, 6],
  ]).float();
  near(a.sum(), 21);
  assert.deepEqual(a.sum(0).tolist(), [5, 7, 9]);
  assert.deepEqual(a.sum(-1, true).shape, [2, 1]);
  assert.deepEqual(a.sum([0, 1]).shape, []);
  near(a.mean(1), [3, 4]);
  const { values, indices } = a.max(1);
  assert.deepEqual(values.tolist(), [5, 6]);
  assert.deepEqual(indices.tolist(), [1, 2]);
  assert.equal(indices.dtype, "int32");
  assert.deepEqual(a.min(0, true).values.tolist(), [[1, 2, 3]]);
  assert.equal(max(a).item(), 6);
  assert.equal(a.argmax().item(), 5);
  assert.deepEqual(a.argmin(1).tolist(), [0, 1]);
  near(a.var(1), [4, 4]);
  near(a.var(1, { correction: 0 }), [8 / 3, 8 / 3]);
  near(a.logsumexp(1), [Math.log(Math.exp(1) + Math.exp(5) + Math.exp(3)), Math.log(Math.exp(4) + Math.exp(2) + Math.exp(6))]);
  near(tensor([1000, 1000]).float().logsumexp(0), 1000 + Math.log(2)); // stable
  assert.equal(tensor([-Infinity, -Infinity]).logsumexp(0).item(), -Infinity);
  assert.deepEqual(
    tensor([
      [1, 2],
      [3, 4],
    ])
      .sum(0)
      .tolist(),
    [4, 6],
  );
  assert.equal(
    tensor([
      [1, 2],
      [3, 4],
    ]).sum().dtype,
    "int32",
  );
  assert.deepEqual(
    tensor([
      [1, 7],
      [3, 4],
    ])
      .max(0)
      .values.tolist(),
    [3, 7],
  );
  assert.throws(() => a.sum(2), /dim 2 is out of range/);
  assert.throws(() => tensor([1, 2]).mean(), /float32/);
  assert.throws(() => zeros([0]).max(), /empty/);
});

test("matmul shapes, vectors and errors", () => {
  const a = tensor([
    [1, 2],
    [3, 4],
  ]).float();
  const b = tensor([
    [5, 6],
    [7, 8],
  ]).float();
  assert.deepEqual(matmul(a, b).tolist(), [
    [19, 22],
    [43, 50],
  ]);
  assert.deepEqual(a.matmul(b.t()).tolist(), [
    [17, 23],
    [39, 53],
  ]);
  assert.deepEqual(matmul(tensor([1, 1]).float(), a).tolist(), [4, 6]);
  assert.deepEqual(matmul(a, tensor([1, 1]).float()).tolist(), [3, 7]);
  assert.equal(matmul(tensor([1, 2]).float(), tensor([3, 4]).float()).item(), 11);
  assert.deepEqual(matmul(zeros([4, 1, 2, 3]), zeros([5, 3, 7])).shape, [4, 5, 2, 7]);
  assert.throws(
    () => matmul(zeros([2, 3]), zeros([4, 5])),
    (e: Error) => e.message === "matmul: shapes [2, 3] and [4, 5] cannot be multiplied (3 != 4)",
  );
  assert.throws(() => matmul(zeros([2, 2, 3]), zeros([3, 3, 1])), /batch dims/);
  assert.throws(() => matmul(tensor([[1]]), tensor([[1]])), /float32/);
  // Non-contiguous operands give the same answer as contiguous copies.
  manualSeed(3);
  const x = randn([3, 4, 5]);
  const y = randn([5, 4]);
  near(matmul(x.transpose(0, 1), y), Array.from(matmul(x.transpose(0, 1).contiguous(), y).data()), 1e-6);
});

test("crossEntropy: mean over non-ignored targets, sum, none", () => {
  const logits = tensor([
    [2, 1, 0],
    [0, 0, 0],
    [1, 3, 1],
  ]).float();
  const lse = (r: number[]) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
  const l0 = lse([2, 1, 0]) - 2;
  const l2 = lse([1, 3, 1]) - 1;
  const targets = tensor([0, -100, 2]);
  near(crossEntropy(logits, targets), (l0 + l2) / 2);
  near(crossEntropy(logits, targets, { reduction: "sum" }), l0 + l2);
  near(crossEntropy(logits, targets, { reduction: "none" }), [l0, 0, l2]);
  near(crossEntropy(logits, tensor([0, 5, 2]), { ignoreIndex: 5 }), (l0 + l2) / 2);
  // Agrees with -logSoftmax picked at the targets.
  const lp = logSoftmax(logits, 1);
  near(crossEntropy(logits, tensor([0, 1, 2]), { reduction: "none" }), [-lp.data()[0], -lp.data()[4], -lp.data()[8]]);
  assert.ok(Number.isNaN(crossEntropy(logits, tensor([-100, -100, -100])).item()));
  assert.throws(() => crossEntropy(logits, tensor([0, 3, 1])), /target 3 at row 1 is out of range for 3 classes/);
  assert.throws(() => crossEntropy(logits, tensor([0, 1])), /logits shape \[3, 3\] and targets shape \[2\]/);
  assert.throws(() => crossEntropy(logits, tensor([0, 1, 2]).float()), /int32/);
});

test("embedding picks rows and rejects out-of-range ids", () => {
  const w = arange(6).float().reshape(3, 2);
  assert.deepEqual(embedding(tensor([[2, 0]]), w).tolist(), [
    [
      [4, 5],
      [0, 1],
    ],
  ]);
  assert.throws(() => embedding(tensor([3]), w), /index 3 at position 0 is out of range for a vocabulary of 3/);
  assert.throws(() => embedding(tensor([-1]), w), RangeError);
  assert.throws(() => embedding(tensor([1]).float(), w), /int32/);
});

test("autograd: accumulation, zeroGrad, detach, noGrad, errors", () => {
  const x = tensor([1, 2, 3], { dtype: "float32", requiresGrad: true });
  x.mul(x).sum().backward();
  assert.deepEqual(x.grad!.tolist(), [2, 4, 6]);
  x.mul(3).sum().backward(); // accumulates
  assert.deepEqual(x.grad!.tolist(), [5, 7, 9]);
  x.zeroGrad();
  assert.equal(x.grad, null);
  // A tensor used twice gets both contributions.
  const y = x.mul(2);
  y.add(y).sum().backward();
  assert.deepEqual(x.grad!.tolist(), [4, 4, 4]);
  // backward with an explicit gradient for a non-scalar.
  x.zeroGrad();
  x.mul(2).backward(tensor([1, 0, -1]).float());
  assert.deepEqual(x.grad!.tolist(), [2, 0, -2]);
  assert.throws(() => x.mul(2).backward(), /non-scalar/);
  assert.throws(() => x.mul(2).backward(tensor([1, 2]).float()), /does not match/);
  // detach and noGrad cut the graph.
  assert.equal(x.detach().requiresGrad, false);
  const z = noGrad(() => {
    assert.equal(isGradEnabled(), false);
    return x.mul(2);
  });
  assert.equal(isGradEnabled(), true);
  assert.equal(z.requiresGrad, false);
  assert.throws(() => z.sum().backward(), /does not require grad/);
  // The graph is freed after backward.
  const loss = x.exp().sum();
  loss.backward();
  assert.throws(() => loss.backward(), /already used/);
  // In-place updates of parameters only under noGrad.
  assert.throws(() => x.add_(1), /noGrad/);
  noGrad(() => x.add_(x.grad!, -0.1));
  assert.ok(x.isLeaf && !loss.isLeaf);
  // Gradients do not flow into int / bool inputs or constants.
  const w = full([2, 2], 0.5, { requiresGrad: true });
  const out = matmul(ones([1, 2]), w).sum();
  out.backward();
  assert.deepEqual(w.grad!.tolist(), [
    [1, 1],
    [1, 1],
  ]);
  assert.equal(sum(arange(3)).requiresGrad, false);
});
