// The feed-forward blocks of the two architectures.
//
//   GPT-2:  c_proj(gelu_tanh(c_fc(x)))                  (hidden → 4·hidden → hidden)
//   Llama:  down_proj(silu(gate_proj(x)) ⊙ up_proj(x))   (SwiGLU, hidden → intermediate → hidden)
import type { Tensor } from "../tensor/index.js";
import type { InitOptions } from "./init.js";
import { Linear } from "./linear.js";
import { Module } from "./module.js";

export interface MLPOptions extends InitOptions {
  bias?: boolean;
  /** Init std of the projection back into the residual stream (default `std`). */
  outStd?: number;
}

/** GPT-2's MLP with the tanh form of GELU ("gelu_new"). */
export class GeluMLP extends Module {
  readonly c_fc: Linear;
  readonly c_proj: Linear;

  constructor(hidden: number, inner: number, opts: MLPOptions = {}) {
    super();
    const lin = { bias: opts.bias ?? true, generator: opts.generator, std: opts.std };
    this.c_fc = this.registerModule("c_fc", new Linear(hidden, inner, lin));
    this.c_proj = this.registerModule("c_proj", new Linear(inner, hidden, { ...lin, std: opts.outStd ?? opts.std }));
  }

  forward(x: Tensor): Tensor {
    const h = this.c_fc.forward(x).gelu({ approximate: "tanh" }); // (B, T, 4C)
    return this.c_proj.forward(h); // (B, T, C)
  }
}

/** Llama's SwiGLU MLP. */
export class SwiGLUMLP extends Module {
  readonly gate_proj: Linear;
  readonly up_proj: Linear;
  readonly down_proj: Linear;

  constructor(hidden: number, intermediate: number, opts: MLPOptions = {}) {
    super();
    const lin = { bias: opts.bias ?? false, generator: opts.generator, std: opts.std };
    this.gate_proj = this.registerModule("gate_proj", new Linear(hidden, intermediate, lin));
    this.up_proj = this.registerModule("up_proj", new Linear(hidden, intermediate, lin));
    this.down_proj = this.registerModule("down_proj", new Linear(intermediate, hidden, { ...lin, std: opts.outStd ?? opts.std }));
  }

  forward(x: Tensor): Tensor {
    const gate = this.gate_proj.forward(x).silu(); // (B, T, I)
    const up = this.up_proj.forward(x); // (B, T, I)
    return this.down_proj.forward(gate.mul(up)); // (B, T, C)
  }
}
