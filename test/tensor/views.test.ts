// Shapes and views: which ops share storage, and the values they show.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tensor, arange, zeros, cat, stack, split, chunk, indexSelect, gather, triu, tril, ones } from "../../src/tensor/index.js";

const m = () => arange(6).reshape(2, 3); // [[0,1,2],[3,4,5]]

test("reshape / view share storage; -1 is inferred", () => {
  const a = arange(12);
  const b = a.view(3, -1);
  assert.deepEqual(b.shape, [3, 4]);
  assert.equal(b.storage, a.storage);
  assert.deepEqual(a.reshape([2, 2, 3]).tolist(), [
    [
      [0, 1, 2],
      [3, 4, 5],
    ],
    [
      [6, 7, 8],
      [9, 10, 11],
    ],
  ]);
  assert.deepEqual(m().flatten().tolist(), [0, 1, 2, 3, 4, 5]);
  assert.throws(() => a.view(5, -1), /invalid for input of shape \[12\]/);
  assert.throws(() => a.reshape(-1, -1), /only one dimension can be -1/);
  // A transposed view cannot be viewed flat, but reshape copies.
  const t = m().t();
  assert.throws(() => t.view(6), /not compatible/);
  assert.deepEqual(t.reshape(6).tolist(), [0, 3, 1, 4, 2, 5]);
  // Splitting a dim of a non-contiguous tensor is still a view (PyTorch's rule).
  const p = arange(24).reshape(2, 3, 4).permute(1, 0, 2);
  assert.equal(p.view(3, 2, 2, 2).storage, p.storage);
});

test("transpose / permute / t / mT are views", () => {
  const t = m().transpose(0, 1);
  assert.deepEqual(t.tolist(), [
    [0, 3],
    [1, 4],
    [2, 5],
  ]);
  assert.equal(t.isContiguous(), false);
  assert.equal(t.contiguous().isContiguous(), true);
  assert.deepEqual(m().t().tolist(), t.tolist());
  const x = arange(24).reshape(2, 3, 4);
  assert.deepEqual(x.permute(2, 0, 1).shape, [4, 2, 3]);
  assert.equal(x.permute(2, 0, 1).tolist().toString(), x.permute([2, 0, 1]).tolist().toString());
  assert.deepEqual(x.mT.shape, [2, 4, 3]);
  assert.equal(x.permute(2, 0, 1).select(0, 1).select(0, 1).select(0, 2).item(), x.select(0, 1).select(0, 2).select(0, 1).item());
  assert.throws(() => x.permute(0, 1), /got 2 dims/);
  assert.throws(() => x.permute(0, 0, 1), /repeated/);
  assert.throws(() => x.t(), /at most 2 dims/);
});

test("unsqueeze / squeeze / expand", () => {
  const v = tensor([1, 2, 3]);
  assert.deepEqual(v.unsqueeze(0).shape, [1, 3]);
  assert.deepEqual(v.unsqueeze(-1).shape, [3, 1]);
  assert.deepEqual(zeros([1, 3, 1]).squeeze().shape, [3]);
  assert.deepEqual(zeros([1, 3, 1]).squeeze(-1).shape, [1, 3]);
  assert.deepEqual(zeros([2, 3]).squeeze(0).shape, [2, 3]);
  const e = v.unsqueeze(0).expand(2, -1);
  assert.deepEqual(e.tolist(), [
    [1, 2, 3],
    [1, 2, 3],
  ]);
  assert.deepEqual(e.strides, [0, 1]);
  assert.deepEqual(
    tensor([[1], [2]])
      .expand([2, 2, 3])
      .tolist(),
    [
      [
        [1, 1, 1],
        [2, 2, 2],
      ],
      [
        [1, 1, 1],
        [2, 2, 2],
      ],
    ],
  );
  assert.throws(() => v.expand(2, 4), /cannot expand shape \[3\] to \[2, 4\]/);
  assert.throws(() => v.unsqueeze(3), RangeError);
});

test("slice / narrow / select with negative indices and steps", () => {
  const a = arange(10);
  assert.deepEqual(a.slice(0, 2, 8, 3).tolist(), [2, 5]);
  assert.deepEqual(a.slice(0, -3).tolist(), [7, 8, 9]);
  assert.deepEqual(a.slice(0, 5, 100).tolist(), [5, 6, 7, 8, 9]);
  assert.deepEqual(a.slice(0, 8, 2).tolist(), []);
  assert.deepEqual(m().slice(1, 1).tolist(), [
    [1, 2],
    [4, 5],
  ]);
  assert.deepEqual(m().narrow(1, 1, 2).tolist(), [
    [1, 2],
    [4, 5],
  ]);
  assert.deepEqual(m().select(1, -1).tolist(), [2, 5]);
  assert.throws(() => m().narrow(1, 2, 2), /out of range/);
  assert.throws(() => m().select(0, 2), /index 2 is out of range for dim 0 of size 2/);
  assert.throws(() => a.slice(0, 0, 5, 0), /step/);
  // Writes through a view land in the base tensor.
  const base = zeros([2, 3]);
  base.slice(1, 1, 3).fill_(7);
  assert.deepEqual(base.tolist(), [
    [0, 7, 7],
    [0, 7, 7],
  ]);
});

test("cat / stack / split / chunk", () => {
  const a = tensor([[1, 2]]);
  const b = tensor([
    [3, 4],
    [5, 6],
  ]);
  assert.deepEqual(cat([a, b]).tolist(), [
    [1, 2],
    [3, 4],
    [5, 6],
  ]);
  assert.deepEqual(cat([b, b], 1).tolist(), [
    [3, 4, 3, 4],
    [5, 6, 5, 6],
  ]);
  assert.deepEqual(stack([a, a], 0).shape, [2, 1, 2]);
  assert.deepEqual(stack([tensor([1, 2]), tensor([3, 4])], -1).tolist(), [
    [1, 3],
    [2, 4],
  ]);
  assert.throws(() => cat([a, tensor([[1, 2, 3]])]), /cat: shapes \[1, 2\] and \[1, 3\]/);
  assert.throws(() => cat([a, a.float()]), /dtype mismatch/);
  assert.throws(() => stack([a, b]), /same shape/);
  const parts = split(arange(7), 3);
  assert.deepEqual(
    parts.map((p) => p.tolist()),
    [[0, 1, 2], [3, 4, 5], [6]],
  );
  assert.deepEqual(
    split(arange(7), [2, 5]).map((p) => p.numel),
    [2, 5],
  );
  assert.throws(() => split(arange(7), [2, 4]), /do not add up/);
  assert.deepEqual(
    chunk(arange(6), 4).map((p) => p.tolist()),
    [
      [0, 1],
      [2, 3],
      [4, 5],
    ],
  );
  assert.deepEqual(
    arange(6)
      .reshape(2, 3)
      .chunk(3, 1)
      .map((p) => p.shape),
    [
      [2, 1],
      [2, 1],
      [2, 1],
    ],
  );
});

test("indexSelect / gather with range checks", () => {
  assert.deepEqual(indexSelect(m(), 1, tensor([2, 0])).tolist(), [
    [2, 0],
    [5, 3],
  ]);
  assert.deepEqual(
    m()
      .indexSelect(0, tensor([1, 1]))
      .tolist(),
    [
      [3, 4, 5],
      [3, 4, 5],
    ],
  );
  assert.deepEqual(gather(m(), 1, tensor([[2], [0]])).tolist(), [[2], [3]]);
  assert.deepEqual(gather(m(), 0, tensor([[1, 0, 1]])).tolist(), [[3, 1, 5]]);
  assert.throws(() => indexSelect(m(), 1, tensor([3])), /index 3 \(at position 0\) is out of range for dim 1 of size 3/);
  assert.throws(() => gather(m(), 1, tensor([[-1], [0]])), /out of range/);
  assert.throws(() => gather(m(), 1, tensor([[0.5]]).float()), /int32/);
  assert.throws(() => gather(m(), 1, tensor([0])), /does not fit/);
});

test("triu / tril (causal masks)", () => {
  const o = ones([3, 3]);
  assert.deepEqual(tril(o).tolist(), [
    [1, 0, 0],
    [1, 1, 0],
    [1, 1, 1],
  ]);
  assert.deepEqual(triu(o, 1).tolist(), [
    [0, 1, 1],
    [0, 0, 1],
    [0, 0, 0],
  ]);
  assert.deepEqual(ones([2, 3], { dtype: "bool" }).tril(-1).tolist(), [
    [false, false, false],
    [true, false, false],
  ]);
  assert.deepEqual(arange(8).reshape(2, 2, 2).triu().tolist(), [
    [
      [0, 1],
      [0, 3],
    ],
    [
      [4, 5],
      [0, 7],
    ],
  ]);
  assert.throws(() => tril(arange(3)), /at least 2 dims/);
});
