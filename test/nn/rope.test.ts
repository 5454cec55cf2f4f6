// Rotary embeddings in HF's rotate-halves form, against the formula written with tensor ops:
// x·cos + rotate_half(x)·sin, with rotate_half(x) = cat(−x2, x1).
import { test } from "node:test";
import assert from "node:assert/strict";
import { RotaryEmbedding } from "../../src/nn/index.js";
import { Generator, Tensor, cat, randn } from "../../src/tensor/index.js";
import { assertClose } from "../models/tiny.js";

test("rope equals x·cos + rotate_half(x)·sin (float64 angles) and moves heads before time", () => {
  const gen = new Generator(3);
  const B = 2,
    T = 6,
    H = 3,
    hd = 8,
    theta = 500;
  const rope = new RotaryEmbedding(hd, 16, theta);
  const positions = Int32Array.from([0, 1, 2, 3, 4, 5, 0, 0, 0, 1, 2, 15]);
  const x = randn([B, T, H, hd], { generator: gen, requiresGrad: true });
  const y = rope.apply(x, positions);
  assert.deepEqual(y.shape, [B, H, T, hd]);

  const cosv = new Float32Array(B * T * hd),
    sinv = new Float32Array(B * T * hd);
  for (let r = 0; r < B * T; r++)
    for (let i = 0; i < hd; i++) {
      const angle = positions[r]! * Math.pow(theta, -(2 * (i % (hd / 2))) / hd);
      cosv[r * hd + i] = Math.cos(angle);
      sinv[r * hd + i] = Math.sin(angle);
    }
  const cos = new Tensor(cosv, [B, T, 1, hd]),
    sin = new Tensor(sinv, [B, T, 1, hd]);
  const rotateHalf = (t: Tensor) => cat([t.narrow(-1, hd / 2, hd / 2).neg(), t.narrow(-1, 0, hd / 2)], -1);
  const ref = x.mul(cos).add(rotateHalf(x).mul(sin)).transpose(1, 2);
  assertClose(y.data(), ref.contiguous().data(), 2e-5, "values");

  const w = randn(y.shape, { generator: gen });
  y.mul(w).sum().backward();
  const got = x.grad!.data().slice();
  x.zeroGrad();
  ref.mul(w).sum().backward();
  assertClose(got, x.grad!.data(), 2e-5, "gradient");
});

test("rope rejects positions outside the table and odd head sizes", () => {
  const rope = new RotaryEmbedding(4, 8);
  const x = randn([1, 2, 1, 4]);
  assert.throws(() => rope.apply(x, Int32Array.from([0, 8])), /position 8 is outside the model's context \[0, 8\)/);
  assert.throws(() => new RotaryEmbedding(5, 8), /even/);
});
