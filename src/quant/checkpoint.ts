// Quantizing a whole checkpoint: which tensors get which dtype, following llama.cpp's
// llama-quantize (llama_tensor_get_type) where tsgpt has the same types:
//   - 1-D tensors (norm weights, biases) stay F32: they are tiny and precision-sensitive.
//   - The output head (lm_head.weight, or the token embedding when the model ties them) is the
//     tensor that rounding hurts most, so it gets Q6_K whatever 4-, 5- or 6-bit dtype is asked
//     for (Q4_0, Q4_1, Q4_K, Q5_0, Q6_K), and stays Q8_0 / Q8_ROW when those are asked for; Q8_0 also when its rows are not a
//     multiple of 256 (Q6_K's super-block). `output` overrides this (llama-quantize's
//     --output-tensor-type; "same" is --pure).
//   - Other 2-D weights get the requested dtype when their row length is a multiple of its block;
//     otherwise a fallback: Q4_K → Q5_0, Q6_K → Q8_0, then F16 when even 32 does not divide the
//     row (llama.cpp does the same; the 32-value types Q8_0, Q5_0, Q4_1, Q4_0 go to F16 directly).
//   - The token embedding of an untied model gets the requested dtype too. `embeddings` (F16 /
//     F32) overrides the token embedding's dtype, tied or not (llama-quantize's
//     --token-embedding-type, which also wins over the output rule).
// llama.cpp's Q4_K_M-style bumps (attn_v / ffn_down to Q6_K in some layers) are not applied:
// tsgpt's Q4_K is llama.cpp's Q4_K_S mixture minus its Q5_K layers (tsgpt has no Q5_K).
import { ARCHITECTURES, architectureOf } from "../arch/index.js";
import type { Checkpoint, StorageDType, StoredTensor } from "../formats/types.js";
import { convertFloat } from "../formats/dtypes.js";
import { type QuantDType, isQuantDType } from "./types.js";
import { canQuantize, dequantize, quantizeTensor } from "./quantize.js";

/** A dtype a tensor can be given: a quantized one or a float one. */
export type PlannedDType = QuantDType | "F16" | "F32";

export interface QuantizeCheckpointOptions {
  /** dtype of the token embedding: "same" as the other weights (default), or kept as F16 / F32. */
  embeddings?: "same" | "F16" | "F32";
  /**
   * dtype of the output head: "auto" (default) applies llama.cpp's rule above, "same" treats it
   * like any other weight (llama-quantize --pure), a dtype forces that one (with the usual
   * fallbacks when its rows do not fit the block).
   */
  output?: "auto" | "same" | PlannedDType;
  /** Called once per tensor with the dtype it got. */
  onTensor?: (name: string, from: StorageDType, to: string) => void;
}

// Which tensors are the token embedding and the output head, for every described architecture
// (GPT-2's bare OpenAI names included).
const EMBEDDING_NAMES = new Set([...ARCHITECTURES.map((a) => `${a.paths.global.token_embd}.weight`), "wte.weight"]);
const OUTPUT_NAMES = new Set(ARCHITECTURES.map((a) => `${a.paths.global.output}.weight`));
/** Q6_K's super-block: the output head needs rows of whole super-blocks to get Q6_K. */
const QK_K = 256;

/** What a tensor is, as far as the dtype rules care. */
export type TensorRole = "output" | "embedding" | "weight";

/** The role of tensor `name` in a checkpoint; `tied`: its token embedding is also its output head. */
export function tensorRole(name: string, tied: boolean): TensorRole {
  if (OUTPUT_NAMES.has(name)) return "output";
  if (EMBEDDING_NAMES.has(name)) return tied ? "output" : "embedding";
  return "weight";
}

/** The dtype a row of `cols` values gets when `dtype` is asked for, with llama.cpp's fallbacks. */
function withFallback(dtype: PlannedDType, cols: number): PlannedDType {
  if (!isQuantDType(dtype) || canQuantize(dtype, cols)) return dtype;
  const next = dtype === "Q4_K" ? "Q5_0" : dtype === "Q6_K" ? "Q8_0" : null;
  return next && canQuantize(next, cols) ? next : "F16";
}

/** llama.cpp's output-head dtype: Q6_K, or Q8_0 when 8 bits were asked for or the rows do not fit Q6_K. */
function outputDType(dtype: QuantDType, cols: number): QuantDType {
  if (dtype === "Q8_ROW") return dtype; // tsgpt's own 8-bit type: as good as Q8_0 here
  if (cols % QK_K !== 0 || dtype === "Q8_0") return "Q8_0";
  return "Q6_K";
}

/**
 * The dtype a tensor named `name` of this shape gets when `dtype` is asked for. `tied`: the
 * checkpoint's token embedding is its output head (isTied).
 */
export function plannedDType(
  dtype: QuantDType,
  name: string,
  shape: readonly number[],
  tied: boolean,
  options: Pick<QuantizeCheckpointOptions, "embeddings" | "output"> = {},
): PlannedDType {
  if (shape.length < 2) return "F32";
  const cols = shape[shape.length - 1]!;
  // An explicit embedding dtype wins, as llama-quantize's --token-embedding-type does.
  if (EMBEDDING_NAMES.has(name) && options.embeddings && options.embeddings !== "same") return options.embeddings;
  const output = options.output ?? "auto";
  if (tensorRole(name, tied) === "output" && output !== "same") {
    return withFallback(output === "auto" ? outputDType(dtype, cols) : output, cols);
  }
  return withFallback(dtype, cols);
}

/**
 * True when the checkpoint's token embedding is also its output head: it has no lm_head.weight,
 * or its config ties them (then a stored lm_head.weight is a copy that GGUF export drops).
 */
export function isTied(ckpt: Checkpoint): boolean {
  const arch = architectureOf(ckpt.config);
  return !ckpt.tensors.has(`${arch.paths.global.output}.weight`) || arch.layout(ckpt.config).tiedEmbeddings;
}

/** A copy of the checkpoint with its weights quantized (tensors are StoredTensor-shaped; Q4_K / Q8_ROW dtypes included). */
export function quantizeCheckpoint(ckpt: Checkpoint, dtype: QuantDType, options: QuantizeCheckpointOptions = {}): Checkpoint {
  const tensors = new Map<string, StoredTensor>();
  const tied = isTied(ckpt);
  for (const [name, t] of ckpt.tensors) {
    const to = plannedDType(dtype, name, t.shape, tied, options);
    let out: StoredTensor;
    if (isQuantDType(t.dtype))
      out = t; // already quantized: keep as it is
    else if (isQuantDType(to)) out = quantizeTensor(t, to, name) as unknown as StoredTensor;
    else out = convertFloat(t, to);
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
