// Neural-network functions (PyTorch's torch.nn.functional): softmax, logSoftmax,
// crossEntropy, embedding, layerNorm, rmsNorm, dropout, linear. Each calls one fused backend
// kernel forward and one backward, so they are fast and numerically stable.
import { getBackend } from "../backend/index.js";
import { deviceArray } from "../backend/device_arrays.js";
import { record } from "./autograd.js";
import { type Generator, defaultGenerator } from "./random.js";
import { normDim, numelOf, sameShape, shapeStr, type Shape } from "./shape.js";
import { Tensor, assertTensor } from "./tensor.js";
import { add, mul, neg, where, eq } from "./ops/elementwise.js";
import { matmul } from "./ops/linalg.js";
import { gather } from "./ops/indexing.js";
import { mean } from "./ops/reduce.js";
import { contiguous, permute, reshape, squeeze, t as transpose2d, transpose, unsqueeze } from "./ops/views.js";
import { numberInRange } from "../util/validate.js";

function requireFloat(op: string, name: string, x: Tensor): void {
  assertTensor(op, name, x);
  if (x.dtype !== "float32") throw new TypeError(`${op}: ${name} must be float32, got ${x.dtype}`);
}

// ---------------------------------------------------------------------------------------
// softmax / logSoftmax
// ---------------------------------------------------------------------------------------

function softmaxImpl(op: "softmax" | "logSoftmax", x: Tensor, dim: number): Tensor {
  requireFloat(op, "input", x);
  if (dim === undefined) throw new TypeError(`${op}: dim is required`);
  const d = normDim(op, dim, x.ndim);
  const last = Math.max(x.ndim - 1, 0);
  // The kernel works on the last axis: move `dim` there and back (views).
  if (d !== last) return transpose(softmaxImpl(op, transpose(x, d, last), last), d, last);
  const log = op === "logSoftmax";
  const cols = x.ndim === 0 ? 1 : x.shape[last];
  const rows = cols === 0 ? 0 : x.numel / cols;
  const xs = x.deviceData() as Float32Array;
  const ys = deviceArray(xs.length);
  getBackend().softmax(xs, rows, cols, ys, log);
  const out = new Tensor(ys, x.shape);
  return record(out, op, [x], (g) => {
    const gx = deviceArray(xs.length);
    getBackend().softmaxBackward(ys, g.deviceData() as Float32Array, rows, cols, gx, log);
    return [new Tensor(gx, x.shape)];
  });
}

/** exp(x) / sum(exp(x)) along `dim`, computed stably. */
export function softmax(x: Tensor, dim: number): Tensor {
  return softmaxImpl("softmax", x, dim);
}

/** log(softmax(x)) along `dim`, without the round trip through exp. */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return softmaxImpl("logSoftmax", x, dim);
}

// ---------------------------------------------------------------------------------------
// crossEntropy
// ---------------------------------------------------------------------------------------

export interface CrossEntropyOptions {
  /** Targets equal to this are skipped (no loss, no gradient, not counted by "mean"). Default -100. */
  ignoreIndex?: number;
  /** "mean" (default: over non-ignored targets), "sum", or "none" (one loss per target). */
  reduction?: "mean" | "sum" | "none";
  /** Mixes the one-hot target with the uniform distribution (0 = off, the default). */
  labelSmoothing?: number;
  /**
   * The backward pass writes the logits' gradient over the logits' own buffer instead of a new
   * one (a training loop's largest buffer, batch × time × vocab, is then never doubled). Only
   * for callers that do not read the logits after backward(). Default false.
   */
  overwriteLogits?: boolean;
}

/**
 * Cross-entropy of unnormalised `logits` against class indices `targets` (int32), like
 * torch.nn.functional.cross_entropy: logits (N, C) with targets (N), logits (C) with a 0-D
 * target, or logits (N, C, d1, ...) with targets (N, d1, ...). For a language model, flatten
 * first: crossEntropy(logits.view(-1, V), targets.view(-1)).
 */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  requireFloat("crossEntropy", "logits", logits);
  assertTensor("crossEntropy", "targets", targets);
  if (targets.dtype !== "int32") throw new TypeError(`crossEntropy: targets must be int32 class indices, got ${targets.dtype}`);
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const reduction = opts.reduction ?? "mean";
  const smoothing = opts.labelSmoothing ?? 0;
  if (!["mean", "sum", "none"].includes(reduction)) {
    throw new TypeError(`crossEntropy: reduction must be "mean", "sum" or "none", got ${JSON.stringify(reduction)}`);
  }
  if (!Number.isInteger(ignoreIndex)) throw new TypeError(`crossEntropy: ignoreIndex must be an integer, got ${ignoreIndex}`);
  numberInRange("crossEntropy: labelSmoothing", smoothing, 0, 1);

  // Expected target shape: logits' shape without the class dim (dim 1, or dim 0 for 1-D logits).
  if (logits.ndim === 0) throw new RangeError("crossEntropy: logits must have at least 1 dimension (the classes)");
  const classDim = logits.ndim === 1 ? 0 : 1;
  const expected = logits.shape.filter((_, i) => i !== classDim);
  if (!sameShape(expected, targets.shape)) {
    throw new RangeError(
      `crossEntropy: logits shape ${shapeStr(logits.shape)} and targets shape ${shapeStr(targets.shape)} do not match (expected targets of shape ${shapeStr(expected)})`,
    );
  }
  const classes = logits.shape[classDim];
  // Rows × classes: move the class dim last (a no-op for the usual (N, C)).
  let rows2d = logits;
  if (logits.ndim > 2) {
    const order = [0, ...logits.shape.map((_, i) => i).slice(2), 1];
    rows2d = contiguous(permute(logits, order));
  }
  rows2d = reshape(rows2d, [-1, classes]);
  const flatTargets = reshape(targets, [-1]);
  const perRow =
    smoothing > 0
      ? smoothedRowLosses(rows2d, flatTargets, ignoreIndex, smoothing)
      : rowLosses(rows2d, flatTargets, ignoreIndex, opts.overwriteLogits === true);
  if (reduction === "none") return reshape(perRow, targets.shape);
  const total = sumRows(perRow);
  if (reduction === "sum") return total;
  let count = 0;
  for (const t of flatTargets.data()) if (t !== ignoreIndex) count++;
  return mul(total, 1 / count); // NaN when every target is ignored, as in PyTorch
}

/** Per-row losses from the fused kernel (0 for ignored rows). */
function rowLosses(logits: Tensor, targets: Tensor, ignoreIndex: number, overwrite: boolean): Tensor {
  const [rows, cols] = logits.shape;
  const xs = logits.deviceData() as Float32Array;
  const ts = targets.data() as Int32Array;
  // Checked here so every backend reports a bad target the same way.
  ts.forEach((t, r) => {
    if (t !== ignoreIndex && (t < 0 || t >= cols)) {
      throw new RangeError(`crossEntropy: target ${t} at row ${r} is out of range for ${cols} classes (ignoreIndex is ${ignoreIndex})`);
    }
  });
  const losses = deviceArray(rows);
  const lse = deviceArray(rows);
  getBackend().crossEntropy(xs, ts, rows, cols, ignoreIndex, losses, lse);
  return record(new Tensor(losses, [rows]), "crossEntropy", [logits], (g) => {
    const gx = overwrite ? xs : deviceArray(xs.length);
    getBackend().crossEntropyBackward(xs, ts, lse, g.deviceData() as Float32Array, rows, cols, ignoreIndex, gx);
    return [new Tensor(gx, logits.shape)];
  });
}

/** Per-row losses with label smoothing: (1-ε)·nll + ε·mean over classes of -log p. */
function smoothedRowLosses(logits: Tensor, targets: Tensor, ignoreIndex: number, eps: number): Tensor {
  const ts = targets.data() as Int32Array;
  const cols = logits.shape[1];
  const safe = new Int32Array(ts.length);
  ts.forEach((t, r) => {
    if (t === ignoreIndex) return; // stays 0: a valid index whose loss is masked below
    if (t < 0 || t >= cols) throw new RangeError(`crossEntropy: target ${t} at row ${r} is out of range for ${cols} classes`);
    safe[r] = t;
  });
  const logp = logSoftmax(logits, -1);
  const nll = neg(squeeze(gather(logp, 1, unsqueeze(new Tensor(safe, [ts.length]), 1)), 1));
  const uniform = neg(mean(logp, -1));
  const loss = add(mul(nll, 1 - eps), mul(uniform, eps));
  return where(eq(targets, ignoreIndex), 0, loss);
}

/** Sum of a 1-D float tensor, accumulated in float64 (the reduction of a loss). */
function sumRows(x: Tensor): Tensor {
  const v = x.data() as Float32Array;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  const out = new Tensor(new Float32Array([s]), []);
  return record(out, "sum", [x], (g) => [new Tensor(new Float32Array(v.length).fill(g.item()), x.shape)]);
}

// ---------------------------------------------------------------------------------------
// embedding, linear
// ---------------------------------------------------------------------------------------

/** Rows of `weight` (vocab × dim) picked by int32 `ids` of any shape → (...ids.shape, dim). */
export function embedding(ids: Tensor, weight: Tensor): Tensor {
  assertTensor("embedding", "ids", ids);
  if (ids.dtype !== "int32") throw new TypeError(`embedding: ids must be an int32 tensor, got ${ids.dtype}`);
  requireFloat("embedding", "weight", weight);
  if (weight.ndim !== 2) throw new RangeError(`embedding: weight must be 2-D (vocab, dim), got shape ${shapeStr(weight.shape)}`);
  const [vocab, dim] = weight.shape;
  const idv = ids.data() as Int32Array;
  idv.forEach((id, i) => {
    if (id < 0 || id >= vocab) throw new RangeError(`embedding: index ${id} at position ${i} is out of range for a vocabulary of ${vocab}`);
  });
  const out = deviceArray(idv.length * dim);
  getBackend().embedding(weight.deviceData() as Float32Array, vocab, dim, idv, out);
  return record(new Tensor(out, [...ids.shape, dim]), "embedding", [weight], (g) => {
    const gw = deviceArray(vocab * dim);
    getBackend().embeddingBackward(g.deviceData() as Float32Array, idv, dim, gw);
    return [new Tensor(gw, weight.shape)];
  });
}

/** x @ weightᵀ + bias, with weight (out, in) as in torch.nn.Linear. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  requireFloat("linear", "weight", weight);
  if (weight.ndim === 2 && x.ndim >= 2 && x.dtype === "float32" && (!bias || (bias.ndim === 1 && bias.dtype === "float32"))) {
    return linearRows(x, weight, bias ?? null);
  }
  const y = matmul(x, weight.ndim === 2 ? transpose2d(weight) : weight);
  return bias ? add(y, bias) : y;
}

/**
 * linear as one op over the rows of x (…, in): the leading dims are flattened to N rows, so
 * y = x·Wᵀ + b is one matrix product (the bias is written first and the product added to it),
 * and the backward pass is two: dx = dy·W and dW = dyᵀ·x over all N rows at once (not one
 * product per batch item summed afterwards), plus db = the column sums of dy.
 */
function linearRows(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  const [outF, inF] = weight.shape as [number, number];
  if (x.shape[x.ndim - 1] !== inF) {
    throw new RangeError(
      `linear: input shape ${shapeStr(x.shape)} and weight shape ${shapeStr(weight.shape)} do not match (${x.shape[x.ndim - 1]} != ${inF})`,
    );
  }
  if (bias && bias.shape[0] !== outF) throw new RangeError(`linear: bias shape ${shapeStr(bias.shape)} does not match ${outF} outputs`);
  const n = x.numel / inF;
  const backend = getBackend();
  const xs = x.deviceData() as Float32Array;
  const ws = weight.deviceData() as Float32Array;
  const y = deviceArray(n * outF);
  // The bias broadcast to every row by the backend (a stride-0 copy), so on a GPU it is
  // written there and never uploaded.
  if (bias && n > 0) backend.copyStrided(bias.deviceData(), 0, [n, outF], [0, 1], y);
  const product = (
    m: number,
    cols: number,
    k: number,
    a: Float32Array,
    transA: boolean,
    b: Float32Array,
    transB: boolean,
    c: Float32Array,
    acc: boolean,
  ) => {
    if (c.length === 0) return;
    backend.matmul({
      batch: 1,
      m,
      n: cols,
      k,
      a,
      aOffset: 0,
      aBatchStride: 0,
      transA,
      b,
      bOffset: 0,
      bBatchStride: 0,
      transB,
      c,
      accumulate: acc,
    });
  };
  product(n, outF, inF, xs, false, ws, true, y, bias !== null); // y (N × out) = x · Wᵀ (+ b)
  const shape = [...x.shape.slice(0, -1), outF];
  return record(new Tensor(y, shape), "linear", [x, weight, bias], (g, needs) => {
    const gs = g.deviceData() as Float32Array;
    let gx: Tensor | null = null;
    let gw: Tensor | null = null;
    let gb: Tensor | null = null;
    if (needs[0]) {
      const d = deviceArray(n * inF);
      product(n, inF, outF, gs, false, ws, false, d, false); // dx (N × in) = dy · W
      gx = new Tensor(d, x.shape);
    }
    if (needs[1]) {
      const d = deviceArray(outF * inF);
      product(outF, inF, n, gs, true, xs, false, d, false); // dW (out × in) = dyᵀ · x
      gw = new Tensor(d, weight.shape);
    }
    if (needs[2]) {
      const d = deviceArray(outF);
      backend.reduce("sum", gs, 1, n, outF, d); // db = Σ over rows of dy
      gb = new Tensor(d, [outF]);
    }
    return [gx, gw, gb];
  });
}

// ---------------------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------------------

/** Checks that x ends with `normalized` and returns (rows, cols) for the kernels. */
function normRows(op: string, x: Tensor, normalized: Shape): [number, number] {
  const n = normalized.length;
  if (n === 0 || x.ndim < n || !sameShape(x.shape.slice(x.ndim - n), normalized)) {
    throw new RangeError(`${op}: input shape ${shapeStr(x.shape)} does not end with the normalized shape ${shapeStr(normalized)}`);
  }
  const cols = numelOf(normalized);
  return [cols === 0 ? 0 : x.numel / cols, cols];
}

function checkParam(op: string, name: string, p: Tensor | null | undefined, shape: Shape): Tensor | null {
  if (p === undefined || p === null) return null;
  requireFloat(op, name, p);
  if (!sameShape(p.shape, shape)) {
    throw new RangeError(`${op}: ${name} shape ${shapeStr(p.shape)} does not match the normalized shape ${shapeStr(shape)}`);
  }
  return p;
}

/**
 * Layer normalisation over the trailing `normalizedShape` dims:
 * (x - mean) / sqrt(var + eps) * weight + bias (biased variance), like F.layer_norm.
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: number | readonly number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  requireFloat("layerNorm", "input", x);
  const shape = typeof normalizedShape === "number" ? [normalizedShape] : normalizedShape.slice();
  const [rows, cols] = normRows("layerNorm", x, shape);
  const w = checkParam("layerNorm", "weight", weight, shape);
  const b = checkParam("layerNorm", "bias", bias, shape);
  const xs = x.deviceData() as Float32Array;
  const ws = w ? (w.deviceData() as Float32Array) : null;
  const out = deviceArray(xs.length);
  const meanBuf = deviceArray(rows);
  const rstd = deviceArray(rows);
  getBackend().layerNorm(xs, ws, b ? (b.deviceData() as Float32Array) : null, rows, cols, eps, out, meanBuf, rstd);
  return record(new Tensor(out, x.shape), "layerNorm", [x, w, b], (g, needs) => {
    const gx = deviceArray(xs.length);
    const gw = needs[1] ? deviceArray(cols) : null;
    const gb = needs[2] ? deviceArray(cols) : null;
    getBackend().layerNormBackward(xs, ws, meanBuf, rstd, g.deviceData() as Float32Array, rows, cols, gx, gw, gb);
    return [needs[0] ? new Tensor(gx, x.shape) : null, gw ? new Tensor(gw, shape) : null, gb ? new Tensor(gb, shape) : null];
  });
}

/**
 * RMS normalisation (Llama): x / sqrt(mean(x²) + eps) * weight, over the trailing dims of
 * weight's shape (the last dim when weight is null).
 */
export function rmsNorm(x: Tensor, weight?: Tensor | null, eps = 1e-6): Tensor {
  requireFloat("rmsNorm", "input", x);
  const shape = weight ? weight.shape.slice() : [x.shape[x.ndim - 1] ?? 1];
  const [rows, cols] = normRows("rmsNorm", x, shape);
  const w = checkParam("rmsNorm", "weight", weight, shape);
  const xs = x.deviceData() as Float32Array;
  const ws = w ? (w.deviceData() as Float32Array) : null;
  const out = deviceArray(xs.length);
  const rstd = deviceArray(rows);
  getBackend().rmsNorm(xs, ws, rows, cols, eps, out, rstd);
  return record(new Tensor(out, x.shape), "rmsNorm", [x, w], (g, needs) => {
    const gx = deviceArray(xs.length);
    const gw = needs[1] ? deviceArray(cols) : null;
    getBackend().rmsNormBackward(xs, ws, rstd, g.deviceData() as Float32Array, rows, cols, gx, gw);
    return [needs[0] ? new Tensor(gx, x.shape) : null, gw ? new Tensor(gw, shape) : null];
  });
}

// ---------------------------------------------------------------------------------------
// Dropout
// ---------------------------------------------------------------------------------------

export interface DropoutOptions {
  /** Random stream for the mask (default: the global generator seeded by manualSeed). */
  generator?: Generator;
}

/**
 * Zeroes each element with probability p and scales the rest by 1/(1-p) when `training`;
 * returns x unchanged otherwise. The mask comes from the seeded generator, so it is the
 * same on every backend.
 */
export function dropout(x: Tensor, p = 0.5, training = true, opts: DropoutOptions = {}): Tensor {
  requireFloat("dropout", "input", x);
  numberInRange("dropout: p", p, 0, 1);
  if (!training || p === 0) return x;
  if (p === 1) return mul(x, 0);
  const gen = opts.generator ?? defaultGenerator;
  const scale = 1 / (1 - p);
  const mask = new Float32Array(x.numel);
  for (let i = 0; i < mask.length; i++) mask[i] = gen.random() >= p ? scale : 0;
  return mul(x, new Tensor(mask, x.shape));
}
