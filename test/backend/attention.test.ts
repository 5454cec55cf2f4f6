// Backend.attention (causal + padding mask, grouped-query heads, over a KV cache): the js
// reference against hand-computed cases and a float64 oracle written as the decoder used to
// compute it (Q · Kᵀ, mask with -inf, softmax, · V); the native kernel against the js reference
// on decode and prefill shapes (past one 128-step chunk), every SIMD level, 1 and 2 threads;
// bad arguments throw, naming the argument, on both backends.
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import type { AttentionArgs, Backend } from "../../src/backend/backend.js";
import { jsBackend } from "../../src/backend/js.js";
import {
  availableSimdLevels,
  cpuFeatures,
  getNumThreads,
  loadNativeBackend,
  nativeUnavailableReason,
  setNumThreads,
  setSimdLevel,
} from "../../src/backend/native.js";
import { rng } from "../helpers/random.js";

const native = loadNativeBackend();
const skip = native ? false : `native addon not built: ${nativeUnavailableReason()}`;
const rand = rng(1357);

interface Shape {
  batch: number;
  steps: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  capacity: number;
  start: number;
}

/** Random queries and cache; slot s of row b is valid unless `invalid(b, s)`. */
function makeCase(sh: Shape, invalid: (b: number, s: number) => boolean = () => false): AttentionArgs {
  const fill = (n: number) => Float32Array.from({ length: n }, () => rand() * 2);
  const kvLen = sh.batch * sh.kvHeads * sh.capacity * sh.headDim,
    qLen = sh.batch * sh.steps * sh.heads * sh.headDim;
  const valid = new Uint8Array(sh.batch * sh.capacity);
  for (let b = 0; b < sh.batch; b++) for (let s = 0; s < sh.start + sh.steps; s++) valid[b * sh.capacity + s] = invalid(b, s) ? 0 : 1;
  return {
    ...sh,
    q: fill(qLen),
    keys: fill(kvLen),
    values: fill(kvLen),
    valid,
    scale: 1 / Math.sqrt(sh.headDim),
    out: new Float32Array(qLen).fill(Number.NaN),
  };
}

function run(be: Backend, a: AttentionArgs): Float32Array {
  const out = new Float32Array(a.out.length).fill(Number.NaN);
  be.attention({ ...a, out });
  return out;
}

/** The decoder's former algorithm, in float64: scores = Q·Kᵀ·scale, future/padding → -inf, softmax, · V. */
function oracle(a: AttentionArgs): Float64Array {
  const hd = a.headDim,
    group = a.heads / a.kvHeads,
    out = new Float64Array(a.out.length);
  for (let b = 0; b < a.batch; b++) {
    for (let t = 0; t < a.steps; t++) {
      for (let h = 0; h < a.heads; h++) {
        const qo = ((b * a.steps + t) * a.heads + h) * hd,
          kv = (b * a.kvHeads + Math.floor(h / group)) * a.capacity * hd;
        const len = a.start + a.steps;
        const scores = new Float64Array(len).fill(-Infinity);
        for (let s = 0; s <= a.start + t; s++) {
          if (!a.valid[b * a.capacity + s]) continue;
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += a.q[qo + i]! * a.keys[kv + s * hd + i]!;
          scores[s] = dot * a.scale;
        }
        const max = Math.max(...scores);
        if (max === -Infinity) continue; // no slot visible: 0
        const e = scores.map((v) => Math.exp(v - max));
        const sum = e.reduce((x, y) => x + y, 0);
        for (let s = 0; s < len; s++) for (let i = 0; i < hd; i++) out[qo + i] += (e[s]! / sum) * a.values[kv + s * hd + i]!;
      }
    }
  }
  return out;
}

function assertClose(actual: Float32Array, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i]! - expected[i]!) <= tol * (1 + Math.abs(expected[i]!)))) {
      assert.fail(`${what}: element ${i}: ${actual[i]} vs ${expected[i]}`);
    }
  }
}

// Decode, prefill, prefill after a cached prefix, grouped-query heads, past one chunk of 128 steps.
const SHAPES: Array<[string, Shape]> = [
  ["decode", { batch: 2, steps: 1, heads: 4, kvHeads: 4, headDim: 16, capacity: 40, start: 37 }],
  ["decode, grouped-query", { batch: 1, steps: 1, heads: 6, kvHeads: 2, headDim: 24, capacity: 70, start: 64 }],
  ["prefill", { batch: 2, steps: 9, heads: 3, kvHeads: 3, headDim: 8, capacity: 9, start: 0 }],
  ["prefill after a prefix, grouped-query", { batch: 3, steps: 5, heads: 8, kvHeads: 2, headDim: 12, capacity: 20, start: 11 }],
  ["long prefill (two chunks)", { batch: 1, steps: 150, heads: 2, kvHeads: 1, headDim: 32, capacity: 160, start: 3 }],
];
// Left padding in row 0 (slots 0..2), a hole in row 1, nothing valid before step 2 of row 2.
const PADDING = (b: number, s: number) => (b === 0 && s < 3) || (b === 1 && s === 5) || (b === 2 && s < 13);

describe("Backend.attention", () => {
  test("js: one visible slot gives its value; equal scores average the values; nothing visible gives 0", () => {
    const sh = { batch: 1, steps: 1, heads: 1, kvHeads: 1, headDim: 2, capacity: 3, start: 2 };
    const keys = Float32Array.of(1, 0, 1, 0, 1, 0),
      values = Float32Array.of(1, 2, 3, 4, 5, 6);
    const args = (valid: number[]): AttentionArgs => ({
      ...sh,
      q: Float32Array.of(0.5, 7),
      keys,
      values,
      valid: Uint8Array.from(valid),
      scale: 1,
      out: new Float32Array(2).fill(Number.NaN),
    });
    assert.deepEqual([...run(jsBackend, args([0, 1, 0]))], [3, 4]);
    assert.deepEqual([...run(jsBackend, args([1, 0, 1]))], [3, 4]); // (1 + 5) / 2, (2 + 6) / 2
    assert.deepEqual([...run(jsBackend, args([0, 0, 0]))], [0, 0]);
  });

  for (const [name, sh] of SHAPES) {
    test(`js matches the float64 oracle: ${name}`, () => {
      for (const mask of [undefined, PADDING]) {
        const a = makeCase(sh, mask);
        assertClose(run(jsBackend, a), oracle(a), 1e-6, `${name}${mask ? " padded" : ""}`);
      }
    });
  }

  describe("native against js", { skip }, () => {
    const threads0 = native ? getNumThreads() : 1;
    const level0 = native ? cpuFeatures() : "";
    after(() => {
      if (!native) return;
      setSimdLevel(level0);
      setNumThreads(threads0);
    });
    for (const [name, sh] of SHAPES) {
      test(`${name}: every SIMD level, 1 and 2 threads, with and without padding`, () => {
        for (const mask of [undefined, PADDING]) {
          const a = makeCase(sh, mask);
          const expected = run(jsBackend, a);
          for (const level of availableSimdLevels()) {
            setSimdLevel(level);
            for (const threads of [1, 2]) {
              setNumThreads(threads);
              assertClose(run(native!, a), expected, 1e-5, `${name} ${level}/${threads}t${mask ? " padded" : ""}`);
            }
          }
        }
      });
    }
  });

  for (const [name, be] of [
    ["js", jsBackend],
    ["native", native],
  ] as const) {
    test(`${name}: bad arguments throw, naming the argument`, { skip: be ? false : skip }, () => {
      const good = makeCase({ batch: 2, steps: 2, heads: 4, kvHeads: 2, headDim: 4, capacity: 5, start: 3 });
      be!.attention(good);
      const range = (re: RegExp) => (e: Error) => e instanceof RangeError && re.test(e.message);
      const bad = (patch: Partial<AttentionArgs>) => () => be!.attention({ ...good, ...patch });
      for (const name of ["q", "keys", "values", "out"] as const) {
        assert.throws(bad({ [name]: good[name].subarray(1) }), range(new RegExp(`\\b${name} has \\d+ elements, needs at least`)), name);
      }
      assert.throws(bad({ valid: good.valid.subarray(1) }), range(/\bvalid has 9 elements, needs at least 10/));
      assert.throws(bad({ kvHeads: 3 }), range(/kvHeads/));
      assert.throws(bad({ kvHeads: 0 }), range(/kvHeads/));
      assert.throws(bad({ start: 4 }), range(/capacity/));
      assert.throws(bad({ steps: -1 }), range(/\bsteps\b/));
      assert.throws(bad({ headDim: 2.5 }), range(/\bheadDim\b/));
      assert.throws(bad({ scale: Number.NaN }), range(/\bscale\b/));
      assert.throws(bad({ valid: new Float32Array(10) as unknown as Uint8Array }), TypeError);
    });
  }
});
