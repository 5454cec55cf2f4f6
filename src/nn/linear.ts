// Linear layer: y = x Wᵀ + b with W stored (out, in), as torch.nn.Linear and HF checkpoints.
// Built inside initEmptyWeights (nn/module.ts) its weight and bias are shape-only: nothing is
// allocated and no random number is drawn, because loading is about to put the real values in.
import { type Tensor, linear } from "../tensor/index.js";
import { type InitOptions, normalInit, zeros } from "./init.js";
import { Module, Parameter, buildingEmptyWeights } from "./module.js";
import { positiveInt } from "../util/validate.js";

export interface LinearOptions extends InitOptions {
  /** Whether the layer adds a bias (default true, like PyTorch). */
  bias?: boolean;
}

export class Linear extends Module {
  readonly weight: Parameter; // (out, in), decays
  readonly bias: Parameter | null; // (out), never decays

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    positiveInt("Linear: inFeatures", inFeatures);
    positiveInt("Linear: outFeatures", outFeatures);
    const empty = buildingEmptyWeights();
    const shape = [outFeatures, inFeatures];
    const weight = empty ? Parameter.meta(shape, { decay: true }) : new Parameter(normalInit(shape, opts), { decay: true });
    this.weight = this.registerParameter("weight", weight);
    const hasBias = opts.bias ?? true;
    this.bias = this.registerParameter(
      "bias",
      !hasBias ? null : empty ? Parameter.meta([outFeatures]) : new Parameter(zeros([outFeatures])),
    );
  }

  /** (..., in) → (..., out). The backend multiplies by Wᵀ without copying it. */
  forward(x: Tensor): Tensor {
    if (this.weight.isMeta)
      throw new Error(
        `Linear(${this.inFeatures}, ${this.outFeatures}): the weight is shape-only (built with initEmptyWeights); load it first`,
      );
    return linear(x, this.weight, this.bias);
  }
}
