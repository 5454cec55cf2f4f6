// Llama-like models (llama, qwen2, …) in GGUF, as llama.cpp names them, mapped to and from
// Hugging Face names. The metadata prefix is the family's GGUF architecture name (`llama.*`,
// `qwen2.*`), with the key names llama.cpp reads for it.
//
//   token_embd.weight              model.embed_tokens.weight
//   blk.N.attn_norm.weight         model.layers.N.input_layernorm.weight
//   blk.N.attn_{q,k,v}.weight      model.layers.N.self_attn.{q,k,v}_proj.weight
//   blk.N.attn_output.weight       model.layers.N.self_attn.o_proj.weight
//   blk.N.ffn_norm.weight          model.layers.N.post_attention_layernorm.weight
//   blk.N.ffn_{gate,up,down}.weight  model.layers.N.mlp.{gate,up,down}_proj.weight
//   output_norm.weight             model.norm.weight
//   output.weight                  lm_head.weight (absent when tied to the embedding)
//
// For llama, GGUF (like llama2.c) rotates adjacent pairs: attn_q / attn_k rows are permuted on the
// way in and out (rotary_permute.ts). Families llama.cpp runs with NeoX RoPE (qwen2) keep
// Hugging Face's rows. Qwen2's q/k/v biases are blk.N.attn_{q,k,v}.bias. The config comes from the
// `<arch>.*` keys, the vocabulary from `tokenizer.ggml.*`; other metadata (general.name, ...) is
// kept in `checkpoint.metadata`.
import type { MistralConfig, Qwen3Config } from "../arch/index.js";
import type { Checkpoint, LlamaConfig, StorageDType } from "./types.js";
import { GGUFReader, writeGGUF, type GGUFValue } from "./gguf.js";
import { GGUF_FAMILIES, SLIDING_WINDOW, checkpointFromGGUF, ggufNameOfHF } from "./gguf_llama_read.js";

import { halvesToPairs } from "./rotary_permute.js";
import { convertFloat } from "./dtypes.js";
import { readVocab } from "./vocab.js";
import { ROPE_FREQS, ropeFreqFactors } from "./gguf_rope_freqs.js";
import type { TensorSource } from "./safetensors.js";
import { architectureOf } from "../arch/index.js";

export { checkpointFromGGUF, ggufNameOfHF, hfNameOfGGUF } from "./gguf_llama_read.js";

/** Reads a GGUF file of a llama-like family into HF names (llama's q/k permuted to rotate-halves). */
export function readGGUFCheckpoint(path: string): Checkpoint {
  return checkpointFromGGUF(GGUFReader.open(path));
}

export interface SaveGGUFOptions {
  /** Store 2-D float weights in this dtype (norm vectors always stay F32, as llama.cpp expects). */
  dtype?: "F32" | "F16" | "BF16";
}

/**
 * llama.cpp's general.file_type (LLAMA_FTYPE_*) for the dtype most weights have: ALL_F32 = 0,
 * MOSTLY_F16 = 1, Q4_0 = 2, Q4_1 = 3, Q8_0 = 7, Q5_0 = 8, Q4_K_S = 14, Q6_K = 18, BF16 = 32.
 */
const FILE_TYPES: Partial<Record<StorageDType, number>> = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q8_0: 7,
  Q5_0: 8,
  Q4_K: 14,
  Q6_K: 18,
  BF16: 32,
};

const u32 = (value: number): GGUFValue => ({ type: "u32", value });
const f32 = (value: number): GGUFValue => ({ type: "f32", value });

/** Whether GGUF export supports this config's family (checked before any work is done). */
export function checkGGUFExportable(config: { model_type: string }, source: string): void {
  const family = GGUF_FAMILIES.find((a) => a.modelType === config.model_type);
  if (!family) {
    const known = GGUF_FAMILIES.map((a) => a.modelType).join(", ");
    throw new Error(`${source}: GGUF export supports ${known} models, this checkpoint is ${config.model_type}`);
  }
}

/** Writes a checkpoint of a llama-like family as GGUF (atomically), with its vocabulary when one is known. */
export function writeGGUFCheckpoint(path: string, checkpoint: Checkpoint, options: SaveGGUFOptions = {}): void {
  checkGGUFExportable(checkpoint.config, checkpoint.source.path);
  const c = checkpoint.config as LlamaConfig | MistralConfig | Qwen3Config;
  const family = architectureOf(c);
  const A = family.ggufArch;
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  const headKeys: Array<[string, GGUFValue]> =
    c.head_dim === undefined
      ? []
      : [
          [`${A}.attention.key_length`, u32(headDim)],
          [`${A}.attention.value_length`, u32(headDim)],
        ];

  const tensors: Array<[string, TensorSource]> = [];
  const dtypeCounts = new Map<StorageDType, number>();
  for (const [name, t] of checkpoint.tensors) {
    if (name === "lm_head.weight" && c.tie_word_embeddings) continue;
    const gname = ggufNameOfHF(name, family);
    if (gname === null) throw new Error(`tensor ${name} has no GGUF name (not a ${family.hfClass} weight)`);
    const isFloat = t.dtype === "F32" || t.dtype === "F16" || t.dtype === "BF16";
    const dtype: StorageDType = !isFloat ? t.dtype : t.shape.length === 1 ? "F32" : (options.dtype ?? t.dtype);
    if (t.shape.length > 1) dtypeCounts.set(dtype, (dtypeCounts.get(dtype) ?? 0) + 1);
    const permuted = family.ggufPairsRotary;
    const heads = !permuted
      ? 0
      : gname.endsWith(".attn_q.weight")
        ? c.num_attention_heads
        : gname.endsWith(".attn_k.weight")
          ? c.num_key_value_heads
          : 0;
    tensors.push([
      gname,
      {
        dtype,
        shape: [...t.shape],
        load: () => {
          let out = dtype === t.dtype ? t : convertFloat(t, dtype as "F32" | "F16" | "BF16");
          if (heads) out = halvesToPairs(out, heads);
          return out.data;
        },
      },
    ]);
  }
  if (c.model_type === "llama" && c.rope_scaling) {
    const factors = ropeFreqFactors(headDim, c.rope_theta, c.rope_scaling);
    tensors.push([ROPE_FREQS, { dtype: "F32", shape: [factors.length], load: () => factors }]);
  }
  for (const [name, t] of checkpoint.extras ?? []) {
    if (name === ROPE_FREQS && c.model_type === "llama" && c.rope_scaling) continue;
    if (checkpoint.source.format === "gguf") tensors.push([name, t]); // GGUF-only tensors go back where they came from
  }
  const mainDtype = [...dtypeCounts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "F32";

  const kept = checkpoint.source.format === "gguf" ? ([...(checkpoint.metadata ?? [])] as Array<[string, GGUFValue]>) : [];
  const metadata: Array<[string, GGUFValue]> = [
    ["general.architecture", { type: "string", value: A }],
    ...kept.filter(([k]) => k.startsWith("general.")),
    ["general.file_type", u32(FILE_TYPES[mainDtype] ?? 0)],
    [`${A}.context_length`, u32(c.max_position_embeddings)],
    [`${A}.embedding_length`, u32(c.hidden_size)],
    [`${A}.block_count`, u32(c.num_hidden_layers)],
    [`${A}.feed_forward_length`, u32(c.intermediate_size)],
    [`${A}.rope.dimension_count`, u32(headDim)],
    [`${A}.attention.head_count`, u32(c.num_attention_heads)],
    [`${A}.attention.head_count_kv`, u32(c.num_key_value_heads)],
    ...headKeys,
    [`${A}.attention.layer_norm_rms_epsilon`, f32(c.rms_norm_eps)],
    [`${A}.rope.freq_base`, f32(c.rope_theta)],
    ...(c.model_type === "mistral" && c.sliding_window !== null
      ? [[`${A}.${SLIDING_WINDOW}`, u32(c.sliding_window)] as [string, GGUFValue]]
      : []),
    ...kept.filter(([k]) => !k.startsWith("general.") && !k.startsWith("tokenizer.")),
    ...vocabMetadata(checkpoint),
    ...kept.filter(([k]) => k.startsWith("tokenizer.")),
  ];
  writeGGUF(path, { metadata, tensors });
}

function vocabMetadata(checkpoint: Checkpoint): Array<[string, GGUFValue]> {
  let v = checkpoint.vocab;
  if (!v && checkpoint.tokenizerPath) v = readVocab(checkpoint.tokenizerPath);
  if (!v) return [];
  const out: Array<[string, GGUFValue]> = [
    ["tokenizer.ggml.model", { type: "string", value: v.model }],
    ["tokenizer.ggml.tokens", { type: "array", value: { elementType: "string", values: v.tokens } }],
  ];
  if (v.scores) out.push(["tokenizer.ggml.scores", { type: "array", value: { elementType: "f32", values: [...v.scores] } }]);
  if (v.tokenTypes) out.push(["tokenizer.ggml.token_type", { type: "array", value: { elementType: "i32", values: [...v.tokenTypes] } }]);
  if (v.bosId !== undefined) out.push(["tokenizer.ggml.bos_token_id", u32(v.bosId)]);
  if (v.eosId !== undefined) out.push(["tokenizer.ggml.eos_token_id", u32(v.eosId)]);
  if (v.unkId !== undefined) out.push(["tokenizer.ggml.unknown_token_id", u32(v.unkId)]);
  if (v.padId !== undefined) out.push(["tokenizer.ggml.padding_token_id", u32(v.padId)]);
  return out;
}
