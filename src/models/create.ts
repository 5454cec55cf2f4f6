// One entry point from a config (or a preset name) to a fresh, randomly initialised model.
import type { CausalLM } from "./causal_lm.js";
import type { ModelConfig } from "./config.js";
import { validateConfig } from "./config.js";
import { GPT2LMHeadModel } from "./gpt2.js";
import { LlamaForCausalLM } from "./llama.js";
import { PresetOverrides, presetConfig } from "./presets.js";

export interface CreateModelOptions {
  /** Seed of the initial weights (default 1337): the same seed gives the same model. */
  seed?: number;
}

/** A new model for `config`, weights drawn from N(0, 0.02²) (residual projections scaled down). */
export function createModel(config: ModelConfig, opts: CreateModelOptions = {}): CausalLM {
  validateConfig(config);
  if (config.model_type === "llama") return new LlamaForCausalLM(config, opts);
  return new GPT2LMHeadModel(config, opts);
}

/** A new model from a named preset (see presets.ts); the seed may be given with the overrides. */
export function modelFromPreset(name: string, overrides: PresetOverrides & CreateModelOptions = {}): CausalLM {
  return createModel(presetConfig(name, overrides), { seed: overrides.seed });
}
