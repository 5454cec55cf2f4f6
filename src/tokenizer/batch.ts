// Batch encoding: many texts → rectangular id arrays with attention masks, ready to become
// tensors (a later layer converts; this file stays free of src/tensor).
//
//   encodeBatch(sp, ["Hello", "Hello world"], { padding: "longest", padId: 0 })
//   → { inputIds: [[15043, 0], [15043, 3186]], attentionMask: [[1, 0], [1, 1]], lengths: [1, 2] }

import type { SentencePieceProcessor } from "./processor.js";
import { nonNegativeInt, positiveInt } from "../util/validate.js";

export interface BatchEncodeOptions {
  /** "longest": pad to the longest sequence; "max_length": pad to maxLength; false: no padding. */
  padding?: "longest" | "max_length" | false;
  /** Length for padding "max_length" and for truncation. */
  maxLength?: number;
  /** Cut sequences longer than maxLength (from the end, or the start with truncationSide "left"). */
  truncation?: boolean;
  truncationSide?: "right" | "left";
  /** Where the padding goes: "right" (default) or "left" (for generation). */
  paddingSide?: "right" | "left";
  /** Id used for padding; defaults to the model's pad id. Required when the model has none. */
  padId?: number;
  addBos?: boolean;
  addEos?: boolean;
}

export interface BatchEncoding {
  inputIds: number[][];
  /** 1 for real tokens, 0 for padding. */
  attentionMask: number[][];
  /** Number of real tokens in each row. */
  lengths: number[];
}

/** The processor methods batching needs (so tests and other tokenizers can stand in). */
export type BatchTokenizer = Pick<SentencePieceProcessor, "encodeAsIds" | "padId">;

export function encodeBatch(sp: BatchTokenizer, texts: readonly string[], options: BatchEncodeOptions = {}): BatchEncoding {
  if (!Array.isArray(texts)) throw new TypeError(`encodeBatch: expected an array of strings, got ${typeof texts}`);
  texts.forEach((t, i) => {
    if (typeof t !== "string") throw new TypeError(`encodeBatch: texts[${i}] is ${t === null ? "null" : typeof t}, expected a string`);
  });
  const padding = options.padding ?? false;
  if (padding !== false && padding !== "longest" && padding !== "max_length") {
    throw new RangeError(`encodeBatch: padding must be "longest", "max_length" or false, got ${JSON.stringify(padding)}`);
  }
  const { maxLength } = options;
  if (maxLength !== undefined) positiveInt("encodeBatch: maxLength", maxLength);
  if ((padding === "max_length" || options.truncation) && maxLength === undefined) {
    throw new Error(`encodeBatch: ${options.truncation ? "truncation" : 'padding "max_length"'} needs maxLength`);
  }

  let rows = texts.map((t) => sp.encodeAsIds(t, { addBos: options.addBos, addEos: options.addEos }));
  if (options.truncation) {
    rows = rows.map((ids) =>
      ids.length <= maxLength! ? ids : options.truncationSide === "left" ? ids.slice(ids.length - maxLength!) : ids.slice(0, maxLength),
    );
  }
  const lengths = rows.map((r) => r.length);
  if (padding === false) {
    return { inputIds: rows, attentionMask: rows.map((r) => r.map(() => 1)), lengths };
  }

  const target = padding === "longest" ? Math.max(0, ...lengths) : maxLength!;
  rows.forEach((r, i) => {
    if (r.length > target) {
      throw new Error(`encodeBatch: texts[${i}] has ${r.length} tokens, more than maxLength ${target}; pass truncation: true to cut it`);
    }
  });
  const padId = resolvePadId(sp, options.padId);
  const left = options.paddingSide === "left";
  if (options.paddingSide !== undefined && options.paddingSide !== "left" && options.paddingSide !== "right") {
    throw new RangeError(`encodeBatch: paddingSide must be "right" or "left", got ${JSON.stringify(options.paddingSide)}`);
  }
  const inputIds: number[][] = [];
  const attentionMask: number[][] = [];
  for (const r of rows) {
    const pad = new Array<number>(target - r.length).fill(padId);
    const zeros = new Array<number>(target - r.length).fill(0);
    const ones = new Array<number>(r.length).fill(1);
    inputIds.push(left ? [...pad, ...r] : [...r, ...pad]);
    attentionMask.push(left ? [...zeros, ...ones] : [...ones, ...zeros]);
  }
  return { inputIds, attentionMask, lengths };
}

function resolvePadId(sp: BatchTokenizer, padId: number | undefined): number {
  if (padId !== undefined) {
    return nonNegativeInt("encodeBatch: padId", padId);
  }
  if (sp.padId >= 0) return sp.padId;
  throw new Error("encodeBatch: padding needs a pad id, but the model has no <pad> piece; pass { padId } (e.g. the eos or unk id)");
}
