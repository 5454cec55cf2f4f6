// The js backend's own pieces: erf accuracy, kernel conventions, and backend selection.
import { test } from "node:test";
import assert from "node:assert/strict";
import { erf, jsBackend } from "../../src/backend/js.js";
import { getBackend, setBackend, availableBackends } from "../../src/backend/index.js";

test("erf matches Python's math.erf to 1e-14", () => {
  // Values printed by Python 3's math.erf.
  const xs = [-7, -3.5, -3, -1, -0.5, 0, 1e-3, 0.3, 1, 2.9, 3, 3.1, 4.5, 6.5];
  const ref = [
    -1.0, -0.9999992569016276, -0.9999779095030014, -0.8427007929497149, -0.5204998778130465, 0.0, 0.0011283787909692365,
    0.3286267594591274, 0.8427007929497149, 0.9999589021219005, 0.9999779095030014, 0.9999883513426328, 0.9999999998033839, 1.0,
  ];
  xs.forEach((x, i) => assert.ok(Math.abs(erf(x) - ref[i]) < 1e-14, `erf(${x}) = ${erf(x)}, expected ${ref[i]}`));
});

test("matmul handles transposed operands and accumulation", () => {
  // A = [[1, 2], [3, 4]] stored transposed as [[1, 3], [2, 4]]; B = identity.
  const c = new Float32Array([10, 10, 10, 10]);
  jsBackend.matmul({
    batch: 1,
    m: 2,
    n: 2,
    k: 2,
    a: new Float32Array([1, 3, 2, 4]),
    aOffset: 0,
    aBatchStride: 0,
    transA: true,
    b: new Float32Array([1, 0, 0, 1]),
    bOffset: 0,
    bBatchStride: 0,
    transB: true,
    c,
    accumulate: true,
  });
  assert.deepEqual(Array.from(c), [11, 12, 13, 14]);
});

test("binary kernel broadcasts through strides; int32 arithmetic wraps like C", () => {
  const out = new Float32Array(6);
  jsBackend.binary("add", new Float32Array([1, 2, 3]), 0, [0, 1], new Float32Array([10, 20]), 0, [1, 0], out, [2, 3]);
  assert.deepEqual(Array.from(out), [11, 12, 13, 21, 22, 23]);
  const i = new Int32Array(1);
  jsBackend.binary("add", new Int32Array([2 ** 31 - 1]), 0, [0], new Int32Array([1]), 0, [0], i, [1]);
  assert.equal(i[0], -(2 ** 31));
  assert.throws(
    () => jsBackend.binary("pow", new Int32Array(1), 0, [0], new Int32Array(1), 0, [0], new Int32Array(1), [1]),
    /not supported on int32/,
  );
});

test("index kernels reject out-of-range indices", () => {
  assert.throws(() => jsBackend.embedding(new Float32Array(4), 2, 2, new Int32Array([2]), new Float32Array(2)), RangeError);
  assert.throws(
    () => jsBackend.crossEntropy(new Float32Array(2), new Int32Array([5]), 1, 2, -100, new Float32Array(1), new Float32Array(1)),
    RangeError,
  );
});

test("setBackend switches and reports unavailable backends clearly", () => {
  const prev = getBackend().name;
  setBackend("js");
  assert.equal(getBackend().name, "js");
  assert.ok(availableBackends().includes("js"));
  if (!availableBackends().includes("native")) assert.throws(() => setBackend("native"), /native backend/);
  assert.throws(() => setBackend("gpu" as "js"), /expected "js", "native" or "webgpu", got "gpu"/);
  setBackend(prev);
});
