// Turning the `prompt` of a completion request into token ids: a string, a list of strings,
// a list of token ids or a list of such lists (as the OpenAI API accepts).
import type { ServerContext } from "./context.js";
import { ApiError, invalidField } from "./errors.js";
import { describe } from "./params.js";
import { tokensBeyond } from "../generate/prompt_budget.js";

/** One id list per prompt. BOS goes first when the tokenizer has one. */
export function readPrompts(prompt: unknown, ctx: ServerContext, field = "prompt"): number[][] {
  if (prompt === undefined || prompt === null) throw new ApiError(400, `${field} is required`, field, "missing_field");
  if (typeof prompt === "string") return [encodePrompt(prompt, ctx, field)];
  if (!Array.isArray(prompt) || prompt.length === 0)
    throw invalidField(field, `expected a string, a list of strings or a list of token ids, got ${describe(prompt)}`);
  if (prompt.every((p) => typeof p === "number")) return [checkIds(prompt as number[], ctx, field)];
  if (prompt.every((p) => typeof p === "string")) return (prompt as string[]).map((p, i) => encodePrompt(p, ctx, `${field}[${i}]`));
  if (prompt.every((p) => Array.isArray(p))) return (prompt as unknown[][]).map((p, i) => checkIds(p, ctx, `${field}[${i}]`));
  throw invalidField(field, "a list must hold only strings, only token ids, or only lists of token ids");
}

export function encodePrompt(text: string, ctx: ServerContext, field: string): number[] {
  const bos = ctx.tokenizer.bosId;
  const context = ctx.generator.model.dims.context;
  const beyond = tokensBeyond(text, context, (s) => ctx.tokenizer.encodeAsIds(s));
  if (beyond !== null) {
    throw new ApiError(
      400,
      `the prompt has more than ${beyond} tokens, but the model's context is ${context} tokens`,
      field,
      "context_length_exceeded",
    );
  }
  const ids = [...(bos >= 0 ? [bos] : []), ...ctx.tokenizer.encodeAsIds(text)];
  if (ids.length === 0) throw invalidField(field, "the prompt is empty");
  return ids;
}

export function checkIds(ids: unknown[], ctx: ServerContext, field: string): number[] {
  const vocab = ctx.generator.model.dims.vocabSize;
  if (ids.length === 0) throw invalidField(field, "the list of token ids is empty");
  ids.forEach((id, i) => {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= vocab) {
      throw invalidField(field, `token ${i} is ${describe(id)}, expected an integer id in [0, ${vocab})`);
    }
  });
  return ids as number[];
}
