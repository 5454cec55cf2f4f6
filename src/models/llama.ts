// Llama as a class of its own name (transformers' LlamaForCausalLM). The model is the one
// TransformerLM, built from Llama's description in src/arch/llama.ts: read that file for what
// makes Llama Llama (RMSNorm, RoPE, SwiGLU, grouped-query attention, an untied head).
import { ModuleDict } from "../nn/index.js";
import type { LlamaConfig } from "../arch/index.js";
import { TransformerBlock, TransformerLM, type TransformerOptions } from "./transformer.js";

export class LlamaForCausalLM extends TransformerLM {
  constructor(config: LlamaConfig, opts: TransformerOptions = {}) {
    super({ ...config, model_type: "llama" }, opts);
  }

  /** The body ("model." in HF names): embed_tokens, layers, norm. */
  get model(): ModuleDict {
    return this.getSubmodule("model") as ModuleDict;
  }
}

/** @deprecated The body is a ModuleDict under "model"; kept for one release. */
export const LlamaModel = ModuleDict;
/** @deprecated Every family's block is TransformerBlock; kept for one release. */
export const LlamaDecoderLayer = TransformerBlock;
