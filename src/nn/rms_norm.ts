// RMSNorm over the last dim (Llama): x / sqrt(mean(x²) + eps) · weight. No mean, no bias.
import { type Tensor, rmsNorm } from "../tensor/index.js";
import { ones } from "./init.js";
import { positiveInt } from "../util/validate.js";
import { Module, Parameter } from "./module.js";

export class RMSNorm extends Module {
  readonly weight: Parameter;

  constructor(
    readonly dim: number,
    readonly eps = 1e-6,
  ) {
    super();
    positiveInt("RMSNorm: dim", dim);
    this.weight = this.registerParameter("weight", new Parameter(ones([dim])));
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}
