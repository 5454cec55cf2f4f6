// What every checkpoint reader returns, whatever the file format on disk.
//
// Inside tsgpt, weights always use Hugging Face tensor names and conventions
// (LlamaForCausalLM / GPT2LMHeadModel). In particular Llama q_proj / k_proj rows follow
// HF's rotary layout (rotate halves); readers of llama2.c `.bin` and GGUF, whose rotary
// layout rotates adjacent pairs, permute those rows on load (and writers permute back).

/** Storage dtypes of a tensor in a file or in memory. */
export type StorageDType = "F32" | "F16" | "BF16" | "I32" | "I64" | "U8" | "BOOL" | "Q8_0" | "Q6_K" | "Q5_0" | "Q4_1" | "Q4_0" | "Q4_K";

export interface StoredTensor {
  dtype: StorageDType;
  /** Logical shape, row-major (out_features, in_features) for linear weights. */
  shape: number[];
  /**
   * The elements: Float32Array for F32, Uint16Array (raw bits) for F16 / BF16, Int32Array for I32,
   * BigInt64Array for I64, Uint8Array (raw blocks) for U8 / BOOL and the quantized dtypes
   * (Q8_0 / Q6_K / Q5_0 / Q4_1 / Q4_0 / Q4_K).
   */
  data: Float32Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array;
}

// Model configs are described with their architectures (src/arch/).
import type { GPT2Config, LlamaConfig, ModelConfig } from "../arch/index.js";
export type { GPT2Config, LlamaConfig, ModelConfig };

/** Generation defaults from generation_config.json (HF snake_case names). */
export interface GenerationDefaults {
  temperature?: number;
  top_k?: number;
  top_p?: number;
  min_p?: number;
  repetition_penalty?: number;
  max_new_tokens?: number;
  do_sample?: boolean;
  bos_token_id?: number;
  eos_token_id?: number | number[];
  pad_token_id?: number;
}

/**
 * A tokenizer vocabulary carried inside a weights file (GGUF's `tokenizer.ggml.*`). Pieces are
 * written as SentencePiece writes them (U+2581 for a space). Token types follow SentencePiece
 * (and GGUF): 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
 */
export interface EmbeddedVocab {
  /** GGUF's tokenizer.ggml.model: "llama" for a SentencePiece BPE vocabulary. */
  model: string;
  tokens: string[];
  scores?: Float32Array;
  tokenTypes?: Int32Array;
  bosId?: number;
  eosId?: number;
  unkId?: number;
  padId?: number;
}

/** A loaded checkpoint: config + named tensors (HF names) + where its tokenizer is. */
export interface Checkpoint {
  config: ModelConfig;
  tensors: Map<string, StoredTensor>;
  /** Path of a SentencePiece .model (or llama2.c tokenizer.bin) found beside the weights, if any. */
  tokenizerPath?: string;
  generation?: GenerationDefaults;
  /**
   * Format-specific arrays that are not model weights (llama2.c's precomputed RoPE tables), kept
   * only so that writing back to the same format reproduces the file byte for byte.
   */
  extras?: Map<string, StoredTensor>;
  /** A vocabulary stored in the weights file itself (GGUF), when there is one. */
  vocab?: EmbeddedVocab;
  /**
   * Format-level key/values that config and vocab do not already hold (GGUF metadata such as
   * general.name, as GGUFValue objects), kept so that a round trip to the same format loses nothing.
   */
  metadata?: Map<string, unknown>;
  /** Where it was read from and in which format, for messages and `tsgpt inspect`. */
  source: { path: string; format: "hf" | "llama2c" | "gguf" };
}
