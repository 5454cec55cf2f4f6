// Between models and Checkpoints (the format-independent weights in HF names, see
// src/formats/types.ts). Loading converts F16 / BF16 to float32; saving writes F32.
// Tied weights are stored once, as Hugging Face does: GPT-2 never stores lm_head.weight, and a
// tied Llama stores only model.embed_tokens.weight.
import { Tensor, fromHalfBits } from "../tensor/index.js";
import type { Checkpoint, StoredTensor } from "../formats/types.js";
import type { CausalLM } from "./causal_lm.js";
import { validateConfig } from "./config.js";
import { createModel } from "./create.js";

/** Tensors some checkpoints carry that are not parameters (buffers HF used to save). */
function isIgnorable(name: string, model: CausalLM): boolean {
  if (/\.attn\.(masked_)?bias$/.test(name)) return true; // GPT-2's causal mask buffers
  if (name.endsWith(".rotary_emb.inv_freq")) return true; // Llama's RoPE buffer
  // A tied head may still be written out (some exporters do); the embedding is the weight used.
  return name === "lm_head.weight" && (model.config.model_type === "gpt2" || model.config.tie_word_embeddings === true);
}

/** A float32 tensor from a stored one (F32 shared, F16 / BF16 widened). */
export function storedToTensor(name: string, t: StoredTensor, source: string): Tensor {
  switch (t.dtype) {
    case "F32": return new Tensor(t.data as Float32Array, t.shape.slice());
    case "F16": return fromHalfBits(t.data as Uint16Array, t.shape, "float16");
    case "BF16": return fromHalfBits(t.data as Uint16Array, t.shape, "bfloat16");
    default:
      throw new Error(`${source}: tensor '${name}' has dtype ${t.dtype}; a trainable model needs F32, F16 or BF16 weights (dequantize first)`);
  }
}

/** Builds the model a checkpoint describes and loads its weights (shapes checked). */
export function modelFromCheckpoint(ckpt: Checkpoint): CausalLM {
  const source = ckpt.source?.path ?? "checkpoint";
  const model = createModel(validateConfig({ ...ckpt.config }, source));
  // GPT-2 files from the original OpenAI export lack the "transformer." prefix.
  const gpt2Bare = model.config.model_type === "gpt2" && !ckpt.tensors.has("transformer.wte.weight") && ckpt.tensors.has("wte.weight");
  const state = new Map<string, Tensor>();
  for (const [name, stored] of ckpt.tensors) {
    if (isIgnorable(name, model)) continue;
    const key = gpt2Bare && name !== "lm_head.weight" ? `transformer.${name}` : name;
    state.set(key, storedToTensor(name, stored, source));
  }
  const expected = new Set(model.namedParameters().map(([n]) => n));
  const missing = [...expected].filter((n) => !state.has(n));
  const unexpected = [...state.keys()].filter((n) => !expected.has(n));
  if (missing.length > 0) throw new Error(`${source}: tensor '${missing[0]}' is missing${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ""}`);
  if (unexpected.length > 0) throw new Error(`${source}: unexpected tensor '${unexpected[0]}' for a ${model.config.model_type} model${unexpected.length > 1 ? ` (and ${unexpected.length - 1} more)` : ""}`);
  try {
    model.loadStateDict(state);
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  return model;
}

/** The model's weights as a Checkpoint of F32 tensors with HF names (copies, safe to keep). */
export function modelToCheckpoint(model: CausalLM, extras: Partial<Omit<Checkpoint, "config" | "tensors">> = {}): Checkpoint {
  const tensors = new Map<string, StoredTensor>();
  for (const [name, p] of model.namedParameters()) {
    tensors.set(name, { dtype: "F32", shape: p.shape.slice(), data: (p.data() as Float32Array).slice() });
  }
  return {
    source: { path: "(in memory)", format: "hf" },
    ...extras,
    config: { ...model.config },
    tensors,
  };
}
