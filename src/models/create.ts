// One entry point from a config (or a preset name) to a fresh, randomly initialised model.
import { initEmptyWeights } from "../nn/module.js";
import type { CausalLM } from "./causal_lm.js";
import type { ModelConfig } from "./config.js";
import { validateConfig } from "./config.js";
import { TransformerLM } from "./transformer.js";
import { type PresetOverrides, presetConfig } from "./presets.js";

export interface CreateModelOptions {
  /** Seed of the initial weights (default 1337): the same seed gives the same model. */
  seed?: number;
  /**
   * Shape-only parameters (PyTorch's meta device, accelerate's init_empty_weights): nothing is
   * allocated and no random number drawn. For loading: the model computes nothing until every
   * weight is put in with loadStateDict(state, { assign: true }) (modelFromCheckpoint does). Default false.
   */
  emptyWeights?: boolean;
}

/** A new model for `config`, weights drawn from N(0, 0.02²) (residual projections scaled down). */
export function createModel(config: ModelConfig, opts: CreateModelOptions = {}): CausalLM {
  validateConfig(config);
  const build = () => new TransformerLM(config, opts);
  return opts.emptyWeights ? initEmptyWeights(build) : build();
}

/** A new model from a named preset (see presets.ts); the seed may be given with the overrides. */
export function modelFromPreset(name: string, overrides: PresetOverrides & CreateModelOptions = {}): CausalLM {
  return createModel(presetConfig(name, overrides), { seed: overrides.seed });
}
