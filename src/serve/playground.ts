// POST /v1/playground/stream: the web playground's generation stream. Like a streaming
// completion, but each token comes with the explanation of its sampling step (explainStep in
// src/generate/explain.ts): the top candidates' probabilities before and after temperature,
// and which cut (top-k, top-p, min-p) removed them. Events (`data: {json}`):
//
//   {type: "start", seed, prompt_tokens: [{id, piece}], settings}
//   {type: "token", index, id, piece, eos, step: {greedy, kept, removed, candidates: [...]}}
//   {type: "text", text}
//   {type: "done", finish_reason, prompt_tokens, completion_tokens, seed}
//   [DONE]
import type { ServerResponse } from "node:http";
import { resolveSamplingOptions, type ExplainedStep } from "../generate/index.js";
import type { ServerContext } from "./context.js";
import { invalidField } from "./errors.js";
import { finishReason, runJobs } from "./flow.js";
import { optionalNumber, optionalString, type Body } from "./params.js";
import { encodePrompt } from "./prompt.js";
import type { TokenDetail } from "./runner.js";
import { completionBudget, jobsFor, readSampling } from "./sampling_request.js";
import { SseWriter } from "./sse.js";
import { pieceOf } from "./token_text.js";

const DEFAULT_MAX_TOKENS = 64;
const DEFAULT_CANDIDATES = 10;

export async function handlePlayground(ctx: ServerContext, body: Body, res: ServerResponse, signal: AbortSignal): Promise<void> {
  const text = optionalString(body, "prompt");
  if (text === undefined) throw invalidField("prompt", "is required (a string)");
  const topN = optionalNumber(body, "top_n", { min: 1, max: ctx.limits.maxExplain, integer: true }) ?? DEFAULT_CANDIDATES;
  const sampling = readSampling(body, ctx);
  if (sampling.n !== 1) throw invalidField("n", "the playground runs one completion at a time");
  const prompt = encodePrompt(text, ctx, "prompt");
  const [job] = jobsFor(prompt, sampling, completionBudget(prompt.length, sampling, DEFAULT_MAX_TOKENS, ctx), { explainTopN: topN });
  const settings = resolveSamplingOptions(job!.options);

  const sse = new SseWriter(res, ctx.limits.writeTimeoutMs);
  let index = 0;
  const [result] = await runJobs(ctx, res, signal, [job!], {
    onStart: () => {
      sse.open();
      void sse.send({
        type: "start",
        seed: sampling.seed,
        prompt_tokens: prompt.map((id) => ({ id, piece: pieceOf(ctx.tokenizer, id) })),
        settings: {
          temperature: settings.temperature,
          top_k: settings.topK,
          top_p: settings.topP,
          min_p: settings.minP,
          repetition_penalty: settings.repetitionPenalty,
          frequency_penalty: settings.frequencyPenalty,
          presence_penalty: settings.presencePenalty,
          max_tokens: job!.options.maxNewTokens,
        },
      });
    },
    onChunk: async (_choice, piece, tokens) => {
      for (const t of tokens) await sse.send({ type: "token", index: index++, ...describeToken(ctx, t) });
      if (piece !== "") await sse.send({ type: "text", text: piece });
    },
  });
  await sse.send({
    type: "done",
    finish_reason: finishReason(result!),
    eos: result!.finishReason === "eos",
    prompt_tokens: prompt.length,
    completion_tokens: result!.tokens.length,
    seed: result!.seed,
  });
  await sse.done();
}

function describeToken(ctx: ServerContext, t: TokenDetail): Record<string, unknown> {
  const step = t.explain as ExplainedStep;
  return {
    id: t.id,
    piece: pieceOf(ctx.tokenizer, t.id),
    eos: t.eos,
    step: {
      greedy: step.greedy,
      kept: step.keptCount,
      removed: step.removed,
      candidates: step.candidates.map((c) => ({
        id: c.token,
        piece: pieceOf(ctx.tokenizer, c.token),
        logit: c.logit,
        p: c.probability,
        p_temp: c.probabilityAfterTemperature,
        p_final: c.finalProbability,
        cut: c.cutBy,
      })),
    },
  };
}
