// Creating tensors: PyTorch-style functions, dtype inference, and clear errors on bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Tensor,
  tensor,
  zeros,
  ones,
  empty,
  full,
  zerosLike,
  onesLike,
  fullLike,
  arange,
  linspace,
  eye,
  fromHalfBits,
  toHalfBits,
} from "../../src/tensor/index.js";

test("tensor() infers dtype and shape from nested arrays", () => {
  const i = tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.equal(i.dtype, "int32");
  assert.deepEqual(i.shape, [2, 3]);
  assert.deepEqual(i.tolist(), [
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.equal(tensor([1, 2.5]).dtype, "float32");
  assert.equal(tensor([true, false]).dtype, "bool");
  assert.deepEqual(tensor([true, false]).tolist(), [true, false]);
  const s = tensor(3.5);
  assert.deepEqual(s.shape, []);
  assert.equal(s.item(), 3.5);
  assert.deepEqual(tensor([]).shape, [0]);
  assert.equal(tensor(new Float32Array([1, 2])).dtype, "float32");
  assert.equal(tensor(new Int32Array([1, 2])).dtype, "int32");
  assert.deepEqual(tensor(new Float32Array(6), { shape: [2, 3] }).shape, [2, 3]);
  assert.equal(tensor([1, 2], { dtype: "float32" }).dtype, "float32");
  assert.deepEqual(tensor([0, 3], { dtype: "bool" }).tolist(), [false, true]);
  // A copy: changing the source does not change the tensor.
  const src = new Float32Array([1, 2]);
  const t = tensor(src);
  src[0] = 9;
  assert.equal(t.data()[0], 1);
});

test("full() follows PyTorch: size number or array, dtype from the fill value", () => {
  assert.equal(full([2, 2], 7).dtype, "int32");
  assert.equal(full(3, 0.5).dtype, "float32");
  assert.deepEqual(full(3, 0.5).shape, [3]);
  assert.equal(full([1], true).dtype, "bool");
  assert.equal(full([2], 7, { dtype: "float32" }).dtype, "float32");
  assert.equal(full([2], -Infinity).dtype, "float32");
  const p = full([2, 3], 1.5, { requiresGrad: true });
  assert.equal(p.requiresGrad, true);
  assert.deepEqual(p.tolist(), [
    [1.5, 1.5, 1.5],
    [1.5, 1.5, 1.5],
  ]);
  assert.throws(() => full([2], 1.5, { dtype: "int32" }), /not an integer/);
  assert.throws(() => full([2], 1, { dtype: "int32", requiresGrad: true }), /float32/);
  assert.throws(() => full([2], 1, { device: "cuda" as "cpu" }), /device/);
});

test("zeros / ones / empty / *Like / arange / linspace / eye", () => {
  assert.deepEqual(zeros([2, 2]).tolist(), [
    [0, 0],
    [0, 0],
  ]);
  assert.equal(zeros(3).dtype, "float32");
  assert.deepEqual(ones(2, { dtype: "int32" }).tolist(), [1, 1]);
  assert.deepEqual(empty([0, 3]).shape, [0, 3]);
  const i = tensor([[1, 2]]);
  assert.equal(zerosLike(i).dtype, "int32");
  assert.deepEqual(onesLike(i).tolist(), [[1, 1]]);
  assert.deepEqual(fullLike(i, 4).tolist(), [[4, 4]]);
  assert.equal(fullLike(i, 4, { dtype: "float32" }).dtype, "float32");
  assert.deepEqual(arange(4).tolist(), [0, 1, 2, 3]);
  assert.equal(arange(4).dtype, "int32");
  assert.deepEqual(arange(1, 7, 2).tolist(), [1, 3, 5]);
  assert.deepEqual(arange(3, 0, -1).tolist(), [3, 2, 1]);
  assert.equal(arange(0, 1, 0.25).dtype, "float32");
  assert.deepEqual(arange(0, 1, 0.25).tolist(), [0, 0.25, 0.5, 0.75]);
  assert.deepEqual(linspace(0, 1, 5).tolist(), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(eye(2).tolist(), [
    [1, 0],
    [0, 1],
  ]);
});

test("bad sizes and data give clear errors", () => {
  assert.throws(
    () => zeros([2, Number.NaN]),
    (e: Error) => e instanceof RangeError && /zeros: size must contain non-negative integers, got \[2, NaN\]/.test(e.message),
  );
  assert.throws(() => ones([-1]), RangeError);
  assert.throws(() => full([1.5], 0), RangeError);
  assert.throws(() => zeros("3" as unknown as number), TypeError);
  assert.throws(
    () => tensor([[1, 2], [3]]),
    (e: Error) => e instanceof RangeError && /ragged nested array: expected length 2 at \[1\], got 1/.test(e.message),
  );
  assert.throws(() => tensor([[1, 2], 3] as unknown as number[][]), /ragged/);
  assert.throws(() => tensor([1, true]), /mix booleans and numbers/);
  assert.throws(() => tensor(["a"] as unknown as number[]), TypeError);
  assert.throws(() => tensor([2 ** 31]), /does not fit in int32/);
  assert.throws(() => tensor([1.5], { dtype: "int32" }), /not an integer/);
  assert.throws(() => tensor([1], { dtype: "float16" as "float32" }), /storage format/);
  assert.throws(() => tensor(new Float32Array(5), { shape: [2, 3] }), /needs 6 values/);
  assert.throws(() => arange(0, 5, 0), /step/);
  assert.throws(() => arange(Number.NaN), RangeError);
});

test("Tensor accessors: size, numel, ndim, item, data views", () => {
  const t = tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]).float();
  assert.equal(t.numel, 6);
  assert.equal(t.ndim, 2);
  assert.equal(t.size(-1), 3);
  assert.deepEqual(t.size(), [2, 3]);
  assert.equal(t.device, "cpu");
  assert.ok(t.data() instanceof Float32Array);
  assert.equal(t.data(), t.storage); // contiguous: a view, not a copy
  assert.ok(tensor([true]).data() instanceof Uint8Array);
  assert.throws(() => t.item(), /one-element/);
  assert.throws(() => t.size(2), RangeError);
  assert.ok(t.transpose(0, 1).data() !== t.storage);
  assert.ok(t instanceof Tensor);
});

test("toString prints like PyTorch", () => {
  assert.equal(
    tensor([
      [1, 2],
      [3, 4],
    ]).toString(),
    "tensor([[1, 2],\n        [3, 4]], dtype=int32)",
  );
  assert.equal(tensor([1.5, -2]).toString(), "tensor([ 1.5000, -2.0000])");
  assert.equal(tensor([1, 2]).float().toString(), "tensor([1., 2.])");
  assert.equal(tensor(true).toString(), "tensor(True)");
  assert.equal(zeros([2], { requiresGrad: true }).toString(), "tensor([0., 0.], requires_grad=True)");
  assert.match(zeros(2000).toString(), /0\., 0\., 0\., \.\.\., 0\., 0\., 0\.\]/);
  assert.equal(zeros([0, 3]).toString(), "tensor([], size=(0, 3))");
});

test("float16 / bfloat16 storage loads to float32 and saves back", () => {
  // 0x3C00 = 1.0, 0xC000 = -2.0, 0x3555 ≈ 0.33325 in IEEE half; 0x3F80 = 1.0 in bfloat16.
  const h = fromHalfBits(new Uint16Array([0x3c00, 0xc000, 0x3555, 0x0000]), [2, 2], "float16");
  assert.equal(h.dtype, "float32");
  assert.deepEqual(h.tolist(), [
    [1, -2],
    [0.333251953125, 0],
  ]);
  assert.deepEqual(Array.from(toHalfBits(h, "float16")), [0x3c00, 0xc000, 0x3555, 0x0000]);
  const bf = fromHalfBits(new Uint16Array([0x3f80, 0x4040]), [2], "bfloat16");
  assert.deepEqual(bf.tolist(), [1, 3]);
  assert.deepEqual(Array.from(toHalfBits(bf, "bfloat16")), [0x3f80, 0x4040]);
  assert.throws(() => fromHalfBits(new Uint16Array(3), [2, 2], "float16"), /needs 4 values/);
});
