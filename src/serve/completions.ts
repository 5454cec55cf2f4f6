// POST /v1/completions: continue a text prompt (OpenAI's legacy completions API).
import type { ServerResponse } from "node:http";
import type { ServerContext } from "./context.js";
import { invalidField } from "./errors.js";
import { sendJson } from "./http.js";
import { finishReason, requestId, runJobs, usage } from "./flow.js";
import { completionLogprobs } from "./logprobs_format.js";
import { optionalBoolean, optionalNumber, rejectUnsupported, type Body } from "./params.js";
import { readPrompts } from "./prompt.js";
import type { ChoiceJob, ChoiceResult } from "./runner.js";
import { completionBudget, jobsFor, readSampling } from "./sampling_request.js";
import { SseWriter } from "./sse.js";

/** OpenAI's default max_tokens for completions. */
const DEFAULT_MAX_TOKENS = 16;

export async function handleCompletions(ctx: ServerContext, body: Body, res: ServerResponse, signal: AbortSignal): Promise<void> {
  rejectUnsupported(body, {
    echo: (v) => v === false,
    suffix: (v) => v === "",
    best_of: (v) => v === 1 || v === body.n,
    logit_bias: (v) => typeof v === "object" && v !== null && Object.keys(v).length === 0,
  });
  const stream = optionalBoolean(body, "stream") ?? false;
  const includeUsage = streamUsage(body);
  const logprobs = optionalNumber(body, "logprobs", { min: 0, max: ctx.limits.maxLogprobs, integer: true }) ?? null;
  const sampling = readSampling(body, ctx);
  const prompts = readPrompts(body.prompt, ctx);
  if (prompts.length * sampling.n > ctx.limits.maxChoices) {
    throw invalidField(
      "n",
      `${prompts.length} prompt(s) × n = ${sampling.n} is more than the server's limit of ${ctx.limits.maxChoices} completions per request`,
    );
  }
  const jobs: ChoiceJob[] = prompts.flatMap((p) =>
    jobsFor(p, sampling, completionBudget(p.length, sampling, DEFAULT_MAX_TOKENS, ctx), { logprobs }),
  );
  const promptTokens = prompts.reduce((n, p) => n + p.length, 0) * sampling.n;
  const id = requestId("cmpl");
  const created = Math.floor(Date.now() / 1000);
  const base = { id, object: "text_completion", created, model: ctx.modelName };
  const lp = (r: ChoiceResult) => (logprobs === null ? null : completionLogprobs(ctx.tokenizer, r.details));

  if (!stream) {
    const results = await runJobs(ctx, res, signal, jobs);
    const choices = results.map((r, index) => ({ index, text: r.text, logprobs: lp(r), finish_reason: finishReason(r) }));
    sendJson(res, 200, { ...base, choices, usage: usage(results, promptTokens) });
    return;
  }

  const sse = new SseWriter(res, ctx.limits.writeTimeoutMs);
  const offsets = jobs.map(() => 0);
  const results = await runJobs(ctx, res, signal, jobs, {
    onStart: () => sse.open(),
    onChunk: async (index, text, tokens) => {
      if (text === "" && (logprobs === null || tokens.every((t) => t.eos))) return;
      const chunkLogprobs = logprobs === null ? null : completionLogprobs(ctx.tokenizer, tokens, offsets[index]);
      offsets[index] += text.length;
      await sse.send({ ...base, choices: [{ index, text, logprobs: chunkLogprobs, finish_reason: null }] });
    },
    onChoiceEnd: (index, r) => sse.send({ ...base, choices: [{ index, text: "", logprobs: null, finish_reason: finishReason(r) }] }),
  });
  if (includeUsage) await sse.send({ ...base, choices: [], usage: usage(results, promptTokens) });
  await sse.done();
}

/** stream_options.include_usage: a last chunk with the token counts. */
export function streamUsage(body: Body): boolean {
  const o = body.stream_options;
  if (o === undefined || o === null) return false;
  if (typeof o !== "object" || Array.isArray(o)) throw invalidField("stream_options", "expected an object");
  if (body.stream !== true) throw invalidField("stream_options", "only allowed with stream: true");
  return optionalBoolean(o as Body, "include_usage") ?? false;
}
