// Gradient checking: every differentiable op's backward() against central finite differences.
//
// `runGradSuite(backendName)` registers one test per case with node:test, running the ops on
// the chosen backend, so the same suite checks `js` and `native`. The scalar being
// differentiated is L = Σ out ⊙ R with a fixed random R (so every output element matters);
// the numerical derivative (L(x + ε) − L(x − ε)) / 2ε is taken with L summed in float64.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  Generator,
  type Tensor,
  tensor,
  randn,
  rand,
  noGrad,
  setBackend,
  getBackend,
  type BackendName,
  add,
  sub,
  mul,
  div,
  pow,
  maximum,
  minimum,
  matmul,
  softmax,
  logSoftmax,
  crossEntropy,
  embedding,
  layerNorm,
  rmsNorm,
  dropout,
  linear,
  cat,
  stack,
  split,
  chunk,
  where,
  maskedFill,
  clamp,
  indexSelect,
  gather,
  triu,
  tril,
  logsumexp,
  variance,
  std,
  sum,
  mean,
  max,
  min,
} from "../../src/tensor/index.js";

export interface GradCase {
  name: string;
  /** Fresh float32 inputs; all of them are checked. */
  inputs: () => Tensor[];
  fn: (...xs: Tensor[]) => Tensor;
  eps?: number;
  /** Tolerance: |analytic − numeric| ≤ atol + rtol·|numeric|. */
  atol?: number;
  rtol?: number;
}

/** Random values with |x| ≥ 0.1 (away from the kinks of relu, abs, clamp at 0). */
function awayFromZero(shape: number[], gen: Generator): Tensor {
  const t = randn(shape, { generator: gen });
  const v = t.data() as Float32Array;
  for (let i = 0; i < v.length; i++) if (Math.abs(v[i]) < 0.1) v[i] = v[i] < 0 ? v[i] - 0.1 : v[i] + 0.1;
  return t;
}

/** Loss L = Σ out·R in float64. */
function weightedSum(out: Tensor, r: Float64Array): number {
  const v = out.data();
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * r[i];
  return s;
}

/** Checks one case; throws an AssertionError naming the input and element that disagree. */
export function checkGrad(c: GradCase): void {
  const eps = c.eps ?? 1e-2;
  const atol = c.atol ?? 2e-3;
  const rtol = c.rtol ?? 1e-2;
  const inputs = c.inputs().map((t) => t.detach().contiguous().requiresGrad_(true));
  const out = c.fn(...inputs);
  const rGen = new Generator(999);
  const r = new Float64Array(out.numel);
  rGen.fillNormal(r);
  // Analytic: backward with gradient R.
  out.backward(tensor(Float32Array.from(r), { shape: out.shape.slice() }));
  inputs.forEach((x, k) => {
    const analytic = x.grad ? (x.grad.data() as Float32Array) : new Float32Array(x.numel);
    const values = x.storage as Float32Array;
    for (let i = 0; i < x.numel; i++) {
      const orig = values[i];
      values[i] = orig + eps;
      const plus = noGrad(() => weightedSum(c.fn(...inputs), r));
      values[i] = orig - eps;
      const minus = noGrad(() => weightedSum(c.fn(...inputs), r));
      values[i] = orig;
      const numeric = (plus - minus) / (2 * eps);
      const diff = Math.abs(analytic[i] - numeric);
      if (!(diff <= atol + rtol * Math.abs(numeric))) {
        assert.fail(`${c.name}: input ${k} element ${i}: analytic ${analytic[i]} vs numeric ${numeric} (diff ${diff.toExponential(2)})`);
      }
    }
  });
}

/** The cases: one or more per differentiable op. */
export function gradCases(): GradCase[] {
  const g = new Generator(1234);
  const n =
    (...shape: number[]) =>
    () => [randn(shape, { generator: g })];
  const pos =
    (...shape: number[]) =>
    () => [add(mul(rand(shape, { generator: g }), 1.5), 0.5)];
  const nz =
    (...shape: number[]) =>
    () => [awayFromZero(shape, g)];
  const two = (a: number[], b: number[]) => () => [randn(a, { generator: g }), randn(b, { generator: g })];
  // Two inputs whose elements differ by at least 0.1 wherever they meet (no ties within ε).
  const apart = (a: number[], b: number[]) => () => {
    const y = randn(b, { generator: g });
    return [add(y, awayFromZero(a, g)), y];
  };
  const ids = tensor([
    [1, 0, 3],
    [2, 2, 4],
  ]);
  const cases: GradCase[] = [
    // Arithmetic with broadcasting, tensors and scalars.
    { name: "add broadcast", inputs: two([2, 3], [3]), fn: (a, b) => add(a, b) },
    { name: "sub broadcast", inputs: two([2, 1], [1, 3]), fn: (a, b) => sub(a, b) },
    { name: "mul broadcast", inputs: two([2, 3, 2], [3, 1]), fn: (a, b) => mul(a, b) },
    { name: "div", inputs: () => [randn([2, 3], { generator: g }), pos(2, 3)()[0]], fn: (a, b) => div(a, b) },
    { name: "scalar ops", inputs: n(2, 3), fn: (a) => sub(2, mul(add(a, 1), 3)).div(4) },
    { name: "rdiv scalar", inputs: pos(4), fn: (a) => div(1, a) },
    { name: "pow tensor", inputs: () => [pos(2, 3)()[0], randn([3], { generator: g })], fn: (a, b) => pow(a, b) },
    { name: "pow scalar", inputs: n(5), fn: (a) => pow(a, 3) },
    { name: "maximum", inputs: apart([2, 3], [2, 3]), fn: (a, b) => maximum(a, b) },
    { name: "minimum", inputs: apart([2, 3], [3]), fn: (a, b) => minimum(a, b) },
    // Unary math.
    { name: "neg", inputs: n(2, 3), fn: (a) => a.neg() },
    { name: "exp", inputs: n(2, 3), fn: (a) => a.exp() },
    { name: "log", inputs: pos(2, 3), fn: (a) => a.log() },
    { name: "sqrt", inputs: pos(2, 3), fn: (a) => a.sqrt() },
    { name: "rsqrt", inputs: pos(2, 3), fn: (a) => a.rsqrt() },
    { name: "abs", inputs: nz(2, 3), fn: (a) => a.abs() },
    { name: "tanh", inputs: n(2, 3), fn: (a) => a.tanh() },
    { name: "sigmoid", inputs: n(2, 3), fn: (a) => a.sigmoid() },
    { name: "relu", inputs: nz(2, 3), fn: (a) => a.relu() },
    { name: "gelu", inputs: n(2, 4), fn: (a) => a.gelu() },
    { name: "gelu tanh", inputs: n(2, 4), fn: (a) => a.gelu({ approximate: "tanh" }) },
    { name: "silu", inputs: n(2, 4), fn: (a) => a.silu() },
    { name: "square", inputs: n(2, 3), fn: (a) => a.square() },
    { name: "sin", inputs: n(2, 3), fn: (a) => a.sin() },
    { name: "cos", inputs: n(2, 3), fn: (a) => a.cos() },
    { name: "clamp", inputs: nz(3, 4), fn: (a) => clamp(a, -0.5, 0.6) },
    // Reductions.
    { name: "sum all", inputs: n(2, 3), fn: (a) => sum(a) },
    { name: "sum dims keepdim", inputs: n(2, 3, 4), fn: (a) => sum(a, [0, 2], true) },
    { name: "mean dim", inputs: n(2, 3, 4), fn: (a) => mean(a, -1) },
    { name: "max dim", inputs: n(3, 4), fn: (a) => max(a, 1).values },
    { name: "min dim keepdim", inputs: n(3, 4), fn: (a) => min(a, 0, true).values },
    { name: "max all", inputs: n(3, 4), fn: (a) => max(a) },
    { name: "logsumexp", inputs: n(3, 4), fn: (a) => logsumexp(a, 1) },
    { name: "var", inputs: n(3, 4), fn: (a) => variance(a, 1) },
    { name: "std all biased", inputs: n(3, 4), fn: (a) => std(a, null, { correction: 0 }) },
    // Linear algebra.
    { name: "matmul 2d", inputs: two([3, 4], [4, 2]), fn: (a, b) => matmul(a, b) },
    { name: "matmul batched broadcast", inputs: two([2, 3, 4], [4, 5]), fn: (a, b) => matmul(a, b) },
    { name: "matmul broadcast batch dims", inputs: two([2, 1, 3, 4], [3, 4, 2]), fn: (a, b) => matmul(a, b) },
    { name: "matmul vector", inputs: two([4], [4, 3]), fn: (a, b) => matmul(a, b) },
    { name: "matmul matrix-vector", inputs: two([3, 4], [4]), fn: (a, b) => matmul(a, b) },
    { name: "matmul dot", inputs: two([4], [4]), fn: (a, b) => matmul(a, b) },
    { name: "matmul transposed views", inputs: two([4, 3], [5, 4]), fn: (a, b) => matmul(a.t(), b.t()) },
    { name: "linear", inputs: () => [...two([2, 3, 4], [5, 4])(), randn([5], { generator: g })], fn: (x, w, b) => linear(x, w, b) },
    // Softmax family and losses.
    { name: "softmax last", inputs: n(3, 5), fn: (a) => softmax(a, -1) },
    { name: "softmax dim 0", inputs: n(3, 5), fn: (a) => softmax(a, 0) },
    { name: "logSoftmax", inputs: n(3, 5), fn: (a) => logSoftmax(a, 1) },
    { name: "crossEntropy mean ignoreIndex", inputs: n(4, 5), fn: (a) => crossEntropy(a, tensor([1, -100, 4, 0])) },
    { name: "crossEntropy sum", inputs: n(4, 5), fn: (a) => crossEntropy(a, tensor([1, 2, 4, 0]), { reduction: "sum" }) },
    { name: "crossEntropy none", inputs: n(4, 5), fn: (a) => crossEntropy(a, tensor([1, 2, 4, 0]), { reduction: "none" }) },
    {
      name: "crossEntropy (N, C, d)",
      inputs: n(2, 4, 3),
      fn: (a) =>
        crossEntropy(
          a,
          tensor([
            [0, 3, 1],
            [2, 2, -100],
          ]),
        ),
    },
    { name: "crossEntropy labelSmoothing", inputs: n(3, 5), fn: (a) => crossEntropy(a, tensor([1, -100, 4]), { labelSmoothing: 0.1 }) },
    { name: "embedding", inputs: n(5, 3), fn: (w) => embedding(ids, w) },
    {
      name: "layerNorm affine",
      inputs: () => [randn([2, 3, 4], { generator: g }), randn([4], { generator: g }), randn([4], { generator: g })],
      fn: (x, w, b) => layerNorm(x, [4], w, b),
    },
    { name: "layerNorm 2 dims plain", inputs: n(2, 3, 4), fn: (x) => layerNorm(x, [3, 4]) },
    { name: "rmsNorm", inputs: () => [randn([3, 4], { generator: g }), randn([4], { generator: g })], fn: (x, w) => rmsNorm(x, w, 1e-5) },
    { name: "dropout (fixed mask)", inputs: n(4, 5), fn: (a) => dropout(a, 0.3, true, { generator: new Generator(7) }) },
    // Views and data movement.
    { name: "reshape", inputs: n(2, 6), fn: (a) => a.reshape(3, 4).mul(tensor([1, 2, 3, 4]).float()) },
    { name: "transpose + contiguous", inputs: n(2, 3, 4), fn: (a) => a.transpose(0, 2).contiguous() },
    { name: "permute + reshape (copy)", inputs: n(2, 3, 4), fn: (a) => a.permute(2, 0, 1).reshape(4, 6) },
    { name: "slice with step", inputs: n(5, 3), fn: (a) => a.slice(0, 1, 5, 2) },
    { name: "narrow + select", inputs: n(4, 3), fn: (a) => a.narrow(1, 1, 2).select(0, -1) },
    { name: "expand", inputs: n(3, 1), fn: (a) => a.expand(2, 3, 4) },
    { name: "unsqueeze squeeze flatten", inputs: n(2, 3), fn: (a) => a.unsqueeze(1).unsqueeze(-1).squeeze(1).flatten() },
    { name: "cat", inputs: two([2, 3], [2, 2]), fn: (a, b) => cat([a, b, a], 1) },
    { name: "stack", inputs: two([2, 3], [2, 3]), fn: (a, b) => stack([a, b], 1) },
    {
      name: "split + chunk",
      inputs: n(5, 2),
      fn: (a) => {
        const [p, q] = split(a, [2, 3]);
        const [r] = chunk(a, 2, 0);
        return cat([p.mul(2), q, r], 0);
      },
    },
    { name: "indexSelect", inputs: n(4, 3), fn: (a) => indexSelect(a, 0, tensor([3, 0, 3])) },
    {
      name: "gather",
      inputs: n(3, 4),
      fn: (a) =>
        gather(
          a,
          1,
          tensor([
            [0, 0],
            [3, 1],
            [2, 2],
          ]),
        ),
    },
    { name: "triu tril", inputs: n(2, 4, 4), fn: (a) => add(triu(a, 1), tril(a).mul(2)) },
    {
      name: "where",
      inputs: two([2, 3], [3]),
      fn: (a, b) =>
        where(
          tensor([
            [true, false, true],
            [false, false, true],
          ]),
          a,
          b,
        ),
    },
    { name: "maskedFill", inputs: n(2, 3), fn: (a) => maskedFill(a, tensor([true, false, false]), -1e4) },
    { name: "clone + float", inputs: n(3), fn: (a) => a.clone().float().mul(a) },
  ];
  return cases;
}

/** Registers the gradient checks for one backend (skipped when it is unavailable). */
export function runGradSuite(backendName: BackendName, skip: false | string = false): void {
  describe(`gradients vs finite differences (${backendName} backend)`, { skip }, () => {
    for (const c of gradCases()) {
      test(c.name, () => {
        const prev = getBackend().name;
        setBackend(backendName);
        try {
          checkGrad(c);
        } finally {
          setBackend(prev);
        }
      });
    }
  });
}
