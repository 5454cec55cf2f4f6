// The generation settings of a request (the fields /v1/completions, /v1/chat/completions and
// the playground share), checked and turned into GenerateOptions.
//
//   temperature        [0, 2]     0 = greedy                              (OpenAI)
//   top_p              (0, 1]     1 = off                                 (OpenAI)
//   top_k              -1 or >= 0 0 / -1 = off                            (vLLM)
//   min_p              [0, 1]     0 = off                                 (vLLM)
//   repetition_penalty > 0        1 = off                                 (vLLM / Hugging Face)
//   frequency_penalty, presence_penalty  [-2, 2]  0 = off              (OpenAI, see src/generate/sampling.ts)
//   max_tokens, seed, stop, n
//   min_new_tokens     >= 0       end-of-text banned before this many tokens (Hugging Face)
//
// Absent fields take the checkpoint's generation_config.json, then the library defaults.
import { randomInt } from "node:crypto";
import type { GenerateOptions } from "../generate/index.js";
import type { ServerContext } from "./context.js";
import { ApiError, invalidField } from "./errors.js";
import { optionalNumber, stopStrings, type Body } from "./params.js";
import type { ChoiceJob } from "./runner.js";

export interface SamplingRequest {
  /** Sampling settings (penalties included) and stop strings (no seed, no maxNewTokens yet). */
  options: GenerateOptions;
  /** max_tokens as asked, if it was. */
  maxTokens: number | undefined;
  seed: number;
  n: number;
}

export function readSampling(body: Body, ctx: ServerContext, maxTokensField = "max_tokens"): SamplingRequest {
  const topK = optionalNumber(body, "top_k", { min: -1, integer: true });
  const requested: GenerateOptions = {
    temperature: optionalNumber(body, "temperature", { min: 0, max: 2 }),
    topP: optionalNumber(body, "top_p", { min: 0, minExclusive: true, max: 1 }),
    topK: topK === -1 ? 0 : topK,
    minP: optionalNumber(body, "min_p", { min: 0, max: 1 }),
    repetitionPenalty: optionalNumber(body, "repetition_penalty", { min: 0, minExclusive: true, max: 10 }),
    frequencyPenalty: optionalNumber(body, "frequency_penalty", { min: -2, max: 2 }),
    presencePenalty: optionalNumber(body, "presence_penalty", { min: -2, max: 2 }),
    stop: stopStrings(body, ctx.limits.maxStop),
    minNewTokens: optionalNumber(body, "min_new_tokens", { min: 0, max: ctx.limits.maxTokens, integer: true }),
  };
  const maxTokens = optionalNumber(body, maxTokensField, { min: 1, max: ctx.limits.maxTokens, integer: true });
  const n = optionalNumber(body, "n", { min: 1, max: ctx.limits.maxChoices, integer: true }) ?? 1;
  // Choice i uses seed + i, so the last of them must still be an exact integer.
  const seed = optionalNumber(body, "seed", { min: 0, max: Number.MAX_SAFE_INTEGER - (n - 1), integer: true }) ?? randomInt(0, 2 ** 31);
  return { options: ctx.generator.options(requested), maxTokens, seed, n };
}

/**
 * How many tokens a completion of this prompt may have: max_tokens if asked (400 if prompt +
 * max_tokens exceed the context, as OpenAI does), else `fallback` capped by what the context leaves.
 */
export function completionBudget(
  promptTokens: number,
  s: SamplingRequest,
  fallback: number,
  ctx: ServerContext,
  field = "max_tokens",
): number {
  const context = ctx.generator.model.dims.context;
  if (promptTokens >= context) {
    throw new ApiError(
      400,
      `the prompt has ${promptTokens} tokens, but the model's context is ${context} tokens`,
      "prompt",
      "context_length_exceeded",
    );
  }
  if (s.maxTokens !== undefined) {
    if (promptTokens + s.maxTokens > context) {
      throw invalidField(
        field,
        `the model's context is ${context} tokens, but ${promptTokens} (prompt) + ${s.maxTokens} (${field}) were asked`,
      );
    }
    return s.maxTokens;
  }
  return Math.min(fallback, context - promptTokens, ctx.limits.maxTokens);
}

/** The jobs of one prompt: n completions with seeds seed, seed + 1, … */
export function jobsFor(
  prompt: number[],
  s: SamplingRequest,
  maxNewTokens: number,
  extra: Partial<ChoiceJob> = {},
  stop: string[] = [],
): ChoiceJob[] {
  const jobs: ChoiceJob[] = [];
  for (let i = 0; i < s.n; i++) {
    const options = { ...s.options, maxNewTokens, seed: s.seed + i, stop: [...asList(s.options.stop), ...stop] };
    jobs.push({ prompt, options, ...extra });
  }
  return jobs;
}

function asList(stop: string | string[] | undefined): string[] {
  return stop === undefined ? [] : Array.isArray(stop) ? stop : [stop];
}
