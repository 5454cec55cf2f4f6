// QuantizedLinear: a frozen linear layer whose weight stays quantized (Q8_0, Q4_0, Q4_K or
// Q8_ROW), the base layer of QLoRA (Dettmers et al., 2023): the model sits in memory at its
// quantized size, and LoRA factors beside it (nn/lora.ts) are all that train.
//
//   forward:  y = x·Wᵀ + b       quantized matmul (quant/kernels.ts; x is rounded to Q8 blocks)
//   backward: gx = gy·W          W decoded to f32 a block of rows at a time
//
// W gets no gradient and has no Parameter; only the optional bias is a (frozen) Parameter,
// so the layer's parameter names stay those of the Linear it replaces ("….bias").
//
// The backward pass never holds the whole f32 matrix for a big layer: gx = Σ_blocks
// gy[:, rows]·W[rows, :], each block of rows decoded into one scratch buffer of at most
// SCRATCH_FLOATS values and multiplied with the backend's matmul in accumulate mode. A small
// layer (all rows fit the scratch) is simply decoded whole.
import { getBackend } from "../backend/index.js";
import { Tensor, record } from "../tensor/index.js";
import { quantizedMatmul } from "./kernels.js";
import { dequantizeRow } from "./quantize.js";
import { type QuantizedTensor, isQuantDType, matrixShape } from "./types.js";
import { Module, Parameter } from "../nn/module.js";
import type { FrozenLinear } from "../nn/lora.js";

/** Largest f32 scratch (values) the backward decodes W into: 4 MiB. */
const SCRATCH_FLOATS = 1 << 20;

export class QuantizedLinear extends Module implements FrozenLinear {
  readonly frozenLinear = true as const;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** The quantized weight (out, in), frozen. */
  readonly qweight: QuantizedTensor;
  readonly bias: Parameter | null; // (out), frozen

  /** `bias`, when given, becomes a frozen Parameter (shares storage when it is f32 and contiguous). */
  constructor(weight: QuantizedTensor, bias: Tensor | null = null) {
    super();
    if (!isQuantDType(weight.dtype)) throw new TypeError(`QuantizedLinear: the weight is ${weight.dtype}, not a quantized dtype`);
    if (weight.shape.length !== 2)
      throw new RangeError(`QuantizedLinear: the weight must be 2-D (out, in), got [${weight.shape.join(", ")}]`);
    const { rows, cols } = matrixShape(weight); // checks the byte length
    this.outFeatures = rows;
    this.inFeatures = cols;
    this.qweight = weight;
    if (bias && (bias.ndim !== 1 || bias.shape[0] !== rows)) {
      throw new RangeError(`QuantizedLinear: bias of shape [${bias.shape.join(", ")}] does not fit ${rows} outputs`);
    }
    const b = bias ? (bias instanceof Parameter ? bias : new Parameter(bias)) : null;
    b?.requiresGrad_(false);
    this.bias = this.registerParameter("bias", b);
  }

  /** Bytes the weight takes in memory. */
  get weightBytes(): number {
    return this.qweight.data.byteLength;
  }

  /** (..., in) → (..., out). */
  forward(x: Tensor): Tensor {
    const k = this.inFeatures,
      n = this.outFeatures;
    if (x.ndim < 1 || x.shape[x.ndim - 1] !== k) {
      throw new RangeError(`QuantizedLinear: input of shape [${x.shape.join(", ")}] does not end in ${k} features`);
    }
    if (this.bias?.isMeta) throw new Error("QuantizedLinear: the bias is shape-only (built with initEmptyWeights); load it first");
    const xs = x.detach().float().contiguous();
    const m = xs.numel / k;
    const xData = (xs.storage as Float32Array).subarray(xs.offset, xs.offset + xs.numel);
    const out = new Float32Array(m * n);
    quantizedMatmul(xData, m, k, this.qweight, out); // (m, k)·Wᵀ → (m, n)
    const y = record(new Tensor(out, [...x.shape.slice(0, -1), n]), "quantized_linear", [x], (gy, needs) => [
      needs[0] ? this.inputGrad(gy, x.shape) : null,
    ]);
    return this.bias ? y.add(this.bias) : y;
  }

  /** gx (m, in) = gy (m, out) · W (out, in), W decoded one block of rows at a time. */
  private inputGrad(gy: Tensor, xShape: readonly number[]): Tensor {
    const k = this.inFeatures,
      n = this.outFeatures;
    const m = gy.numel / n;
    // gyᵀ (n, m): a block of W's rows then meets a contiguous block of gyᵀ's rows (transA below).
    const gyT = gy.float().contiguous().reshape([m, n]).transpose(0, 1).contiguous();
    const gyTData = gyT.storage as Float32Array;
    const rowsPerBlock = Math.max(1, Math.min(n, Math.floor(SCRATCH_FLOATS / k)));
    const scratch = new Float32Array(rowsPerBlock * k);
    const gx = new Float32Array(m * k);
    const backend = getBackend();
    for (let r0 = 0; r0 < n; r0 += rowsPerBlock) {
      const rb = Math.min(rowsPerBlock, n - r0);
      for (let r = 0; r < rb; r++) dequantizeRow(this.qweight, n, k, r0 + r, scratch.subarray(r * k));
      // gx (m, k) += gyᵀ[r0:r0+rb]ᵀ (m, rb) · W[r0:r0+rb] (rb, k)
      backend.matmul({
        batch: 1,
        m,
        n: k,
        k: rb,
        a: gyTData,
        aOffset: gyT.offset + r0 * m,
        aBatchStride: 0,
        transA: true,
        b: scratch,
        bOffset: 0,
        bBatchStride: 0,
        transB: false,
        c: gx,
        accumulate: r0 > 0,
      });
    }
    return new Tensor(gx, xShape.slice());
  }
}
