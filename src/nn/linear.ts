// Linear layer: y = x Wᵀ + b with W stored (out, in), as torch.nn.Linear and HF checkpoints.
import { Tensor, linear } from "../tensor/index.js";
import { InitOptions, normalInit, zeros } from "./init.js";
import { Module, Parameter } from "./module.js";

export interface LinearOptions extends InitOptions {
  /** Whether the layer adds a bias (default true, like PyTorch). */
  bias?: boolean;
}

export class Linear extends Module {
  readonly weight: Parameter; // (out, in), decays
  readonly bias: Parameter | null; // (out), never decays

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super();
    checkSize("Linear", "inFeatures", inFeatures);
    checkSize("Linear", "outFeatures", outFeatures);
    this.weight = this.registerParameter("weight", new Parameter(normalInit([outFeatures, inFeatures], opts), { decay: true }));
    this.bias = this.registerParameter("bias", (opts.bias ?? true) ? new Parameter(zeros([outFeatures])) : null);
  }

  /** (..., in) → (..., out). The backend multiplies by Wᵀ without copying it. */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

export function checkSize(layer: string, field: string, n: number): void {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`${layer}: ${field} must be a positive integer, got ${n}`);
}
