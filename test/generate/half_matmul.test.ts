// Linear layers with 16-bit weights: widening block by block and multiplying must give the
// product of the widened f32 matrix, on every backend, for one input row (decode) and many
// (prefill), with shapes that split into several blocks and a ragged last one.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { jsBackend } from "../../src/backend/js.js";
import { loadNativeBackend } from "../../src/backend/native.js";
import type { Backend } from "../../src/backend/backend.js";
import { halfEmbedding, halfLinear, type HalfMatrix } from "../../src/generate/half_matmul.js";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../../src/tensor/half.js";
import { Generator } from "../../src/tensor/random.js";

function randomHalf(dtype: "F16" | "BF16", rows: number, cols: number, seed: number): HalfMatrix {
  const rng = new Generator(seed);
  const f = Float32Array.from({ length: rows * cols }, () => rng.random() * 2 - 1);
  return { dtype, rows, cols, bits: dtype === "BF16" ? f32ToBf16(f) : f32ToF16(f) };
}

function widened(w: HalfMatrix): Float32Array {
  return w.dtype === "BF16" ? bf16ToF32(w.bits) : f16ToF32(w.bits);
}

/** x · Wᵀ in float64, the reference. */
function reference(x: Float32Array, m: number, w: Float32Array, n: number, k: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += x[i * k + c]! * w[j * k + c]!;
      out[i * n + j] = s;
    }
  return out;
}

const backends: [string, Backend | null][] = [
  ["js", jsBackend],
  ["native", loadNativeBackend()],
];

for (const [name, be] of backends) {
  describe(`halfLinear (${name})`, { skip: be ? false : "native addon not built" }, () => {
    // k = 1000 gives 65 rows per block: n = 150 is two full blocks and a ragged one of 20.
    for (const dtype of ["BF16", "F16"] as const) {
      for (const m of [1, 3]) {
        test(`${dtype}, m = ${m}: equals the product with the widened weights`, () => {
          const k = 1000,
            n = 150;
          const w = randomHalf(dtype, n, k, 7);
          const rng = new Generator(11 + m);
          const x = Float32Array.from({ length: m * k }, () => rng.random() * 2 - 1);
          const out = new Float32Array(m * n).fill(NaN);
          halfLinear(be!, x, m, w, out);
          const ref = reference(x, m, widened(w), n, k);
          let worst = 0;
          for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i]! - ref[i]!));
          assert.ok(worst < 1e-3, `max |diff| = ${worst}`);
        });
      }
    }
  });
}

test("halfEmbedding widens the looked-up rows and rejects bad ids", () => {
  const w = randomHalf("BF16", 10, 6, 3);
  const full = widened(w);
  const out = new Float32Array(2 * 6);
  halfEmbedding(w, Int32Array.of(7, 2), out);
  assert.deepEqual(out, Float32Array.from([...full.subarray(42, 48), ...full.subarray(12, 18)]));
  assert.throws(
    () => halfEmbedding(w, Int32Array.of(10), new Float32Array(6)),
    /index 10 at position 0 is out of range for a vocabulary of 10/,
  );
  assert.throws(() => halfEmbedding(w, Int32Array.of(-1), new Float32Array(6)), /index -1/);
});
