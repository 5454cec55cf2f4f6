// Quantizing a whole checkpoint: which tensors get which dtype, following llama.cpp's
// llama-quantize rules where tsgpt has the same types:
//   - 1-D tensors (norm weights, biases) stay F32: they are tiny and precision-sensitive.
//   - 2-D weights get the requested dtype when their row length is a multiple of its block;
//     otherwise a fallback: Q4_K → Q4_0 (llama.cpp picks Q5_0, which tsgpt does not have),
//     then F16 when even 32 does not divide the row (llama.cpp does the same).
//   - The token embedding gets the requested dtype too, unless `embeddings` says otherwise
//     (with tied embeddings it is also the output head).
import type { Checkpoint, StorageDType, StoredTensor } from "../formats/types.js";
import { convertFloat } from "../formats/dtypes.js";
import { type QuantDType, isQuantDType } from "./types.js";
import { canQuantize, dequantize, quantizeTensor } from "./quantize.js";

export interface QuantizeCheckpointOptions {
  /** dtype of the token embedding: "same" as the other weights (default), or kept as F16 / F32. */
  embeddings?: "same" | "F16" | "F32";
  /** Called once per tensor with the dtype it got. */
  onTensor?: (name: string, from: StorageDType, to: string) => void;
}

const EMBEDDING_NAMES = new Set(["model.embed_tokens.weight", "transformer.wte.weight", "wte.weight"]);

/** The dtype a weight of this shape gets when `dtype` is asked for. */
export function plannedDType(dtype: QuantDType, shape: readonly number[]): QuantDType | "F16" | "F32" {
  if (shape.length < 2) return "F32";
  const cols = shape[shape.length - 1]!;
  if (canQuantize(dtype, cols)) return dtype;
  if (dtype === "Q4_K" && canQuantize("Q4_0", cols)) return "Q4_0";
  return "F16";
}

/** A copy of the checkpoint with its weights quantized (tensors are StoredTensor-shaped; Q4_K / Q8_ROW dtypes included). */
export function quantizeCheckpoint(ckpt: Checkpoint, dtype: QuantDType, options: QuantizeCheckpointOptions = {}): Checkpoint {
  const tensors = new Map<string, StoredTensor>();
  for (const [name, t] of ckpt.tensors) {
    let to: string = plannedDType(dtype, t.shape);
    if (EMBEDDING_NAMES.has(name) && options.embeddings && options.embeddings !== "same") to = options.embeddings;
    let out: StoredTensor;
    if (isQuantDType(t.dtype)) out = t; // already quantized: keep as it is
    else if (isQuantDType(to)) out = quantizeTensor(t, to, name) as unknown as StoredTensor;
    else out = convertFloat(t, to as "F16" | "F32");
    options.onTensor?.(name, t.dtype, out.dtype);
    tensors.set(name, out);
  }
  return { ...ckpt, tensors };
}

/** A copy with every quantized tensor dequantized to F32 (and 16-bit floats widened), for the f32 decoder. */
export function dequantizeCheckpoint(ckpt: Checkpoint): Checkpoint {
  const tensors = new Map<string, StoredTensor>();
  for (const [name, t] of ckpt.tensors) {
    tensors.set(name, isQuantDType(t.dtype) ? dequantize(t) : t.dtype === "F16" || t.dtype === "BF16" ? convertFloat(t, "F32") : t);
  }
  return { ...ckpt, tensors };
}

/** Bytes of the weights as stored. */
export function weightBytes(ckpt: Checkpoint): number {
  let n = 0;
  for (const t of ckpt.tensors.values()) n += t.data.byteLength;
  return n;
}
