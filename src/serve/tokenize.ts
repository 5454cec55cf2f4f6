// POST /tokenize and /detokenize (the names vLLM uses), and batch encoding for the playground's
// tokenizer view.
//
//   /tokenize   {prompt, add_special_tokens?}          → {tokens, pieces, count, max_model_len}
//   /tokenize   {prompts: [...], padding?, max_length?, truncation?, padding_side?, pad_id?}
//               → {input_ids, attention_mask, lengths, pieces, pad_id, max_model_len}   (encodeBatch)
//   /detokenize {tokens}                               → {prompt}
import { encodeBatch, type BatchEncodeOptions } from "../tokenizer/index.js";
import type { ServerContext } from "./context.js";
import { ApiError, invalidField } from "./errors.js";
import { describe, optionalBoolean, optionalNumber, optionalString, type Body } from "./params.js";
import { checkIds } from "./prompt.js";
import { pieceOf } from "./token_text.js";

export function handleTokenize(ctx: ServerContext, body: Body): Record<string, unknown> {
  const addSpecial = optionalBoolean(body, "add_special_tokens") ?? true;
  const maxModelLen = ctx.generator.model.dims.context;
  if (body.prompts !== undefined && body.prompts !== null) return tokenizeBatch(ctx, body, addSpecial);
  const text = optionalString(body, "prompt") ?? optionalString(body, "text");
  if (text === undefined)
    throw new ApiError(400, "prompt is required (a string), or prompts (a list of strings) for a batch", "prompt", "missing_field");
  const ids = ctx.tokenizer.encodeAsIds(text, { addBos: addSpecial && ctx.tokenizer.bosId >= 0 });
  return { tokens: ids, pieces: ids.map((id) => pieceOf(ctx.tokenizer, id)), count: ids.length, max_model_len: maxModelLen };
}

function tokenizeBatch(ctx: ServerContext, body: Body, addSpecial: boolean): Record<string, unknown> {
  const texts = body.prompts;
  if (!Array.isArray(texts) || texts.length === 0)
    throw invalidField("prompts", `expected a non-empty list of strings, got ${describe(texts)}`);
  if (texts.length > ctx.limits.maxBatch)
    throw invalidField("prompts", `at most ${ctx.limits.maxBatch} texts per batch, got ${texts.length}`);
  texts.forEach((t, i) => {
    if (typeof t !== "string") throw invalidField(`prompts[${i}]`, `expected a string, got ${describe(t)}`);
  });
  const padding = optionalString(body, "padding") ?? "longest";
  if (padding !== "longest" && padding !== "max_length" && padding !== "none")
    throw invalidField("padding", `expected "longest", "max_length" or "none", got ${describe(padding)}`);
  const side = optionalString(body, "padding_side") ?? "right";
  if (side !== "left" && side !== "right") throw invalidField("padding_side", `expected "left" or "right", got ${describe(side)}`);
  const maxLength = optionalNumber(body, "max_length", { min: 1, max: ctx.generator.model.dims.context, integer: true });
  const truncation = optionalBoolean(body, "truncation") ?? false;
  // Llama-style tokenizers have no <pad> piece; padding with EOS is the usual choice.
  const padId =
    optionalNumber(body, "pad_id", { min: 0, max: ctx.generator.model.dims.vocabSize - 1, integer: true }) ??
    (ctx.tokenizer.padId >= 0 ? ctx.tokenizer.padId : ctx.tokenizer.eosId >= 0 ? ctx.tokenizer.eosId : 0);
  const options: BatchEncodeOptions = {
    padding: padding === "none" ? false : padding,
    paddingSide: side,
    padId,
    truncation,
    addBos: addSpecial && ctx.tokenizer.bosId >= 0,
    ...(maxLength !== undefined ? { maxLength } : {}),
  };
  let batch;
  try {
    batch = encodeBatch(ctx.tokenizer, texts as string[], options);
  } catch (err) {
    throw new ApiError(400, (err as Error).message.replace(/^encodeBatch: /, ""), "prompts", "invalid_value");
  }
  return {
    input_ids: batch.inputIds,
    attention_mask: batch.attentionMask,
    lengths: batch.lengths,
    pieces: batch.inputIds.map((row) => row.map((id) => pieceOf(ctx.tokenizer, id))),
    pad_id: padId,
    max_model_len: ctx.generator.model.dims.context,
  };
}

export function handleDetokenize(ctx: ServerContext, body: Body): Record<string, unknown> {
  if (!Array.isArray(body.tokens)) throw invalidField("tokens", `expected a list of token ids, got ${describe(body.tokens)}`);
  const ids = body.tokens.length === 0 ? [] : checkIds(body.tokens, ctx, "tokens");
  return { prompt: ctx.tokenizer.decode(ids) };
}
