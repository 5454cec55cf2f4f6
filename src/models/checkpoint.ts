// Between models and Checkpoints (the format-independent weights in HF names, see
// src/formats/types.ts). Loading converts F16 / BF16 to float32; saving writes F32.
//
// Loading builds the model with empty (shape-only) weights, then puts the checkpoint's tensors
// in (PyTorch's meta device + load_state_dict(assign=True), as transformers' from_pretrained):
// no weight is allocated twice, and no random number is drawn for a weight about to be
// overwritten. The model gets its own copy of F32 arrays (the Checkpoint stays the caller's),
// unless { shareWeights: true }; widened F16 / BF16 and dequantized arrays are used as made.
//
// With { keepQuantized: true } the quantized linear weights (Q8_0, Q4_0, Q4_K, …) are not
// widened: each such (still empty) Linear is replaced by a frozen QuantizedLinear holding the
// bytes as they are — the base of QLoRA. Their f32 weights never exist, so a model that does not
// fit in memory in f32 loads at its quantized size. Embeddings and norms are widened to f32.
// Tied weights are stored once, as Hugging Face does: GPT-2 never stores lm_head.weight, and a
// tied Llama stores only model.embed_tokens.weight.
import { Tensor, fromHalfBits } from "../tensor/index.js";
import type { Checkpoint, StoredTensor } from "../formats/types.js";
import type { CausalLM } from "./causal_lm.js";
import { Linear } from "../nn/linear.js";
import { QuantizedLinear } from "../quant/quantized_linear.js";
import { dequantize } from "../quant/quantize.js";
import { type QuantizedTensor, isQuantDType } from "../quant/types.js";
import { canonicalName, checkTensors, isIgnoredTensor, parseModelConfig } from "../arch/index.js";
import { createModel } from "./create.js";

/** A float32 tensor from a stored one (F32 shared, F16 / BF16 widened). */
export function storedToTensor(name: string, t: StoredTensor, source: string): Tensor {
  switch (t.dtype) {
    case "F32":
      return new Tensor(t.data as Float32Array, t.shape.slice());
    case "F16":
      return fromHalfBits(t.data as Uint16Array, t.shape, "float16");
    case "BF16":
      return fromHalfBits(t.data as Uint16Array, t.shape, "bfloat16");
    default:
      throw new Error(
        `${source}: tensor '${name}' has dtype ${t.dtype}; a trainable model needs F32, F16 or BF16 weights (dequantize first)`,
      );
  }
}

export interface ModelFromCheckpointOptions {
  /** Keep quantized linear weights quantized, as frozen QuantizedLinear layers (default false: dequantize to f32). */
  keepQuantized?: boolean;
  /**
   * Let the model's parameters use the checkpoint's F32 arrays instead of copies (default false).
   * Halves the peak memory of loading an F32 checkpoint; the Checkpoint must then not be used
   * for another model (training or merging changes its arrays).
   */
  shareWeights?: boolean;
}

/** Builds the model a checkpoint describes and loads its weights (shapes checked). */
export function modelFromCheckpoint(ckpt: Checkpoint, options: ModelFromCheckpointOptions = {}): CausalLM {
  const source = ckpt.source?.path ?? "checkpoint";
  const config = parseModelConfig({ ...ckpt.config }, source);
  // Names and shapes are checked against the architecture's description before anything is built.
  const shapes = new Map<string, number[]>();
  for (const [name, stored] of ckpt.tensors) {
    if (!isIgnoredTensor(config, name)) shapes.set(canonicalName(config, name, ckpt.tensors), stored.shape);
  }
  checkTensors(config, shapes, source);
  // Empty weights: every parameter is shape-only until the checkpoint's tensor is assigned to it.
  const model = createModel(config, { emptyWeights: true });
  const linears = new Map(model.namedModules().filter((e): e is [string, Linear] => e[1] instanceof Linear));
  const state = new Map<string, Tensor>();
  for (const [name, stored] of ckpt.tensors) {
    if (isIgnoredTensor(config, name)) continue;
    const key = canonicalName(config, name, ckpt.tensors);
    if (options.keepQuantized && isQuantDType(stored.dtype)) {
      const layer = key.endsWith(".weight") ? linears.get(key.slice(0, -".weight".length)) : undefined;
      if (layer) {
        keepQuantizedLinear(model, key.slice(0, -".weight".length), layer, stored as unknown as QuantizedTensor, name, source);
        continue;
      }
      state.set(key, storedToTensor(name, dequantize(stored), source));
      continue;
    }
    // An F32 tensor would share the checkpoint's array: copy it unless the caller gives it away.
    const own = stored.dtype === "F32" && !options.shareWeights ? { ...stored, data: (stored.data as Float32Array).slice() } : stored;
    state.set(key, storedToTensor(name, own, source));
  }
  try {
    model.loadStateDict(state, { assign: true });
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  return model;
}

/** Puts a QuantizedLinear holding `weight` in place of the empty Linear at `moduleName` (its empty bias moves over, assigned later). */
function keepQuantizedLinear(
  model: CausalLM,
  moduleName: string,
  layer: Linear,
  weight: QuantizedTensor,
  name: string,
  source: string,
): void {
  if (weight.shape.length !== 2 || weight.shape[0] !== layer.outFeatures || weight.shape[1] !== layer.inFeatures) {
    throw new Error(
      `${source}: '${name}' has shape [${weight.shape.join(", ")}] but the model expects [${layer.outFeatures}, ${layer.inFeatures}]`,
    );
  }
  try {
    model.replaceModule(moduleName, new QuantizedLinear(weight, layer.bias));
  } catch (e) {
    throw new Error(`${source}: '${name}': ${(e as Error).message}`);
  }
}

/** The model's weights as a Checkpoint of F32 tensors with HF names (copies, safe to keep). */
export function modelToCheckpoint(model: CausalLM, extras: Partial<Omit<Checkpoint, "config" | "tensors">> = {}): Checkpoint {
  const tensors = new Map<string, StoredTensor>();
  for (const [name, p] of model.namedParameters()) {
    tensors.set(name, { dtype: "F32", shape: p.shape.slice(), data: (p.cpuData() as Float32Array).slice() });
  }
  return {
    source: { path: "(in memory)", format: "hf" },
    ...extras,
    config: { ...model.config },
    tensors,
  };
}
