// GPT-2 as a class of its own name (transformers' GPT2LMHeadModel). The model is the one
// TransformerLM, built from GPT-2's description in src/arch/gpt2.ts: read that file for what
// makes GPT-2 GPT-2 (LayerNorm, learned positions, a fused c_attn, GELU, a tied head).
import { ModuleDict, SelfAttention } from "../nn/index.js";
import type { GPT2Config } from "../arch/index.js";
import { TransformerBlock, TransformerLM, type TransformerOptions } from "./transformer.js";

export class GPT2LMHeadModel extends TransformerLM {
  constructor(config: GPT2Config, opts: TransformerOptions = {}) {
    super({ ...config, model_type: "gpt2" }, opts);
  }

  /** The body ("transformer." in HF names): wte, wpe, h, ln_f. */
  get transformer(): ModuleDict {
    return this.getSubmodule("transformer") as ModuleDict;
  }
}

/** @deprecated The body is a ModuleDict under "transformer"; kept for one release. */
export const GPT2Model = ModuleDict;
/** @deprecated Every family's block is TransformerBlock; kept for one release. */
export const GPT2Block = TransformerBlock;
/** @deprecated Attention lives in TransformerBlock (and nn's SelfAttention); kept for one release. */
export const GPT2Attention = SelfAttention;
