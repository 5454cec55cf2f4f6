// The fused masked causal softmax and grouped-query attention against compositions of plain
// tensor ops (matmul, maskedFill, softmax, repeated k/v), values and gradients.
import { test } from "node:test";
import assert from "node:assert/strict";
import { attentionContext, maskedCausalSoftmax, scaledDotProductAttention } from "../../src/nn/index.js";
import { Generator, Tensor, cat, randn, softmax, tensor } from "../../src/tensor/index.js";
import { assertClose } from "../models/tiny.js";

const gen = new Generator(42);
const B = 2,
  T = 5,
  hd = 4;
// Row 0 left-padded by two, row 1 right-padded by one.
const MASK = tensor(
  [
    [0, 0, 1, 1, 1],
    [1, 1, 1, 1, 0],
  ],
  { dtype: "int32" },
);

/** Boolean (B, 1, T, T) tensor: true where query t must not see key j. */
function blocked(mask: Tensor | null): Tensor {
  const m = mask ? (mask.data() as Int32Array) : new Int32Array(B * T).fill(1);
  const out = new Uint8Array(B * T * T);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let j = 0; j < T; j++) {
        out[(b * T + t) * T + j] = j > t || !m[b * T + j] ? 1 : 0;
      }
  return new Tensor(out, [B, 1, T, T]);
}

/** Reference attention: repeat k/v per query head, −1e30 on blocked scores, softmax, then zero fully blocked rows. */
function reference(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null): Tensor {
  const rep = q.shape[1]! / k.shape[1]!;
  const repeat = (x: Tensor) => cat(Array.from({ length: x.shape[1]! }, (_, h) => Array(rep).fill(x.narrow(1, h, 1))).flat(), 1);
  const block = blocked(mask);
  const s = q
    .matmul(repeat(k).mT)
    .mul(1 / Math.sqrt(hd))
    .maskedFill(block, -1e30);
  const allBlocked = block.logicalNot().sum(-1, true).eq(0); // (B, 1, T, 1)
  const att = softmax(s, -1).maskedFill(allBlocked, 0);
  const y = att.matmul(repeat(v)); // (B, nH, T, hd)
  return y.transpose(1, 2).reshape(B, T, -1);
}

for (const [nH, nKV] of [
  [2, 2],
  [4, 2],
  [3, 1],
]) {
  for (const withMask of [false, true]) {
    test(`attention with ${nH} heads, ${nKV} kv heads${withMask ? ", padded" : ""}: values and gradients equal the reference`, () => {
      const mk = (h: number) => randn([B, h, T, hd], { generator: gen, requiresGrad: true });
      const q = mk(nH),
        k = mk(nKV),
        v = mk(nKV);
      const mask = withMask ? MASK : null;
      const ctx = attentionContext(B, T, mask);
      const y = scaledDotProductAttention(q, k, v, ctx);
      const yRef = reference(q, k, v, mask);
      assertClose(y.data(), yRef.data(), 1e-5, "values");
      assert.ok((y.data() as Float32Array).every(Number.isFinite));
      const w = randn(y.shape, { generator: gen });
      y.mul(w).sum().backward();
      const got = [q, k, v].map((x) => x.grad!.data().slice());
      for (const x of [q, k, v]) x.zeroGrad();
      yRef.mul(w).sum().backward();
      [q, k, v].forEach((x, i) => assertClose(got[i]!, x.grad!.data(), 1e-5, `gradient ${"qkv"[i]}`));
    });
  }
}

test("a query that sees no key (leading pad) gets zero weights and no NaN, also in backward", () => {
  const scores = randn([B, 1, T, T], { generator: gen, requiresGrad: true });
  const ctx = attentionContext(B, T, MASK);
  const att = maskedCausalSoftmax(scores, 0.5, ctx);
  const a = att.tolist() as number[][][][];
  assert.deepEqual(a[0]![0]![0], [0, 0, 0, 0, 0]);
  assert.deepEqual(a[0]![0]![1], [0, 0, 0, 0, 0]);
  assert.ok(Math.abs(a[0]![0]![2]![2]! - 1) < 1e-7); // the first real token sees only itself
  assert.ok(Math.abs(a[1]![0]![4]!.reduce((s, x) => s + x, 0) - 1) < 1e-6);
  assert.equal(a[1]![0]![4]![4], 0); // the trailing pad is never seen
  att.sum().backward();
  assert.ok((scores.grad!.data() as Float32Array).every(Number.isFinite));
});

test("positions come from the mask (cumsum − 1, clamped at 0) or from positionIds", () => {
  assert.deepEqual([...attentionContext(B, T, MASK).positions], [0, 0, 0, 1, 2, 0, 1, 2, 3, 3]);
  assert.deepEqual([...attentionContext(B, T).positions], [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
  assert.equal(
    attentionContext(
      B,
      T,
      tensor(
        [
          [1, 1, 1, 1, 1],
          [1, 1, 1, 1, 1],
        ],
        { dtype: "int32" },
      ),
    ).keyValid,
    null,
  );
  const pos = tensor([3, 4, 5, 6, 7], { dtype: "int32" });
  assert.deepEqual([...attentionContext(B, T, null, pos).positions], [3, 4, 5, 6, 7, 3, 4, 5, 6, 7]);
  assert.throws(() => attentionContext(B, T, tensor([[1, 1]], { dtype: "int32" })), /attentionMask must have shape \[2, 5\]/);
  assert.throws(() => attentionContext(B, T, null, tensor([1, 2], { dtype: "int32" })), /positionIds must have shape/);
});
