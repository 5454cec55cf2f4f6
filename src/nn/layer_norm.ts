// LayerNorm over the last dim (GPT-2): (x - mean) / sqrt(var + eps) · weight + bias.
import { type Tensor, layerNorm } from "../tensor/index.js";
import { ones, zeros } from "./init.js";
import { positiveInt } from "../util/validate.js";
import { Module, Parameter } from "./module.js";

export interface LayerNormOptions {
  eps?: number; // default 1e-5
  bias?: boolean; // default true; nanoGPT's bias=False drops it
}

export class LayerNorm extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly eps: number;

  constructor(
    readonly dim: number,
    opts: LayerNormOptions = {},
  ) {
    super();
    positiveInt("LayerNorm: dim", dim);
    this.eps = opts.eps ?? 1e-5;
    this.weight = this.registerParameter("weight", new Parameter(ones([dim])));
    this.bias = this.registerParameter("bias", (opts.bias ?? true) ? new Parameter(zeros([dim])) : null);
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.dim, this.weight, this.bias, this.eps);
  }
}
