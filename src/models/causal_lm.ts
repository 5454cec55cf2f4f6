// What every language model here is: a Module with a config and a forward pass that maps
// token ids to next-token logits, and to a loss when labels are given (Hugging Face's
// *ForCausalLM contract).
import { Tensor, crossEntropy } from "../tensor/index.js";
import type { Module } from "../nn/index.js";
import type { ModelConfig } from "./config.js";

export interface CausalLMOutput {
  /** (B, T, vocab) next-token logits at every position. */
  logits: Tensor;
  /** Mean cross-entropy over the non-ignored labels, when labels were given. */
  loss?: Tensor;
}

export interface ForwardOptions {
  /** (B, T) 1 for real tokens, 0 for padding (int32, bool or float). Pads are never attended to. */
  attentionMask?: Tensor;
  /** (B, T) or (T) int32 positions; default from the mask (cumsum − 1) or 0 … T−1. */
  positionIds?: Tensor;
  /**
   * (B, T) int32 targets, usually the input ids themselves; −100 marks positions without loss
   * (pads). Shifted inside like Hugging Face: logits at t are scored against labels at t + 1.
   */
  labels?: Tensor;
}

export interface CausalLM extends Module {
  config: ModelConfig;
  forward(inputIds: Tensor, opts?: ForwardOptions): CausalLMOutput;
}

/** The label value that contributes no loss (PyTorch's and HF's ignore_index). */
export const IGNORE_INDEX = -100;

/**
 * HF's causal-LM loss: crossEntropy(logits[:, :-1], labels[:, 1:]), mean over non-ignored
 * labels. Computed without slicing the big logits tensor: the labels are shifted left by one
 * instead and the last position of each row gets IGNORE_INDEX, which gives the same sum and
 * the same count.
 *
 * `keyValid` (B·T, 1 = real token) makes pad positions produce no loss even when the label
 * after them is real: in a left-padded row HF would score the last pad's logits against the
 * first real token, a term that carries no information; here it is dropped.
 */
export function causalLMLoss(logits: Tensor, labels: Tensor, keyValid: Uint8Array | null = null): Tensor {
  const [B, T, V] = logits.shape as [number, number, number];
  if (labels.ndim !== 2 || labels.shape[0] !== B || labels.shape[1] !== T) {
    throw new RangeError(`forward: labels must have shape [${B}, ${T}] like the input ids, got [${labels.shape.join(", ")}]`);
  }
  if (labels.dtype !== "int32") throw new TypeError(`forward: labels must be int32, got ${labels.dtype}`);
  const src = labels.data() as Int32Array;
  const shifted = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      shifted[i] = t + 1 < T && (!keyValid || keyValid[i]) ? src[i + 1]! : IGNORE_INDEX;
    }
  }
  return crossEntropy(logits.reshape(B * T, V), new Tensor(shifted, [B * T]), { ignoreIndex: IGNORE_INDEX });
}

/** Checks input ids: int32 of shape (B, T) with T within the context. */
export function checkInputIds(inputIds: Tensor, context: number): [number, number] {
  if (!(inputIds instanceof Tensor)) throw new TypeError("forward: inputIds must be a Tensor");
  if (inputIds.dtype !== "int32") throw new TypeError(`forward: inputIds must be int32, got ${inputIds.dtype}`);
  if (inputIds.ndim !== 2) throw new RangeError(`forward: inputIds must have shape (B, T), got [${inputIds.shape.join(", ")}]`);
  const [B, T] = inputIds.shape as [number, number];
  if (T > context) throw new RangeError(`forward: sequence length ${T} exceeds the model's context of ${context}`);
  return [B, T];
}
