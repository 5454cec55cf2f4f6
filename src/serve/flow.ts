// The path every generation request takes once its body is read and checked:
// wait for a slot in the queue, run its choices one after another, stop when the client goes.
import type { ServerResponse } from "node:http";
import type { ServerContext } from "./context.js";
import { runChoice, type ChoiceJob, type ChoiceResult, type ChunkHandler } from "./runner.js";

/** Runs the jobs in one queue slot; `onChunk(index, …)` streams each choice's text. */
export async function runJobs(
  ctx: ServerContext,
  res: ServerResponse,
  signal: AbortSignal,
  jobs: readonly ChoiceJob[],
  hooks: {
    onStart?: () => void;
    onChunk?: (index: number, ...args: Parameters<ChunkHandler>) => void | Promise<void>;
    onChoiceEnd?: (index: number, r: ChoiceResult) => void | Promise<void>;
  } = {},
): Promise<ChoiceResult[]> {
  return ctx.queue.run(
    async () => {
      hooks.onStart?.();
      const results: ChoiceResult[] = [];
      for (const [index, job] of jobs.entries()) {
        const onChunk = hooks.onChunk;
        const r = await runChoice(ctx.generator, job, signal, onChunk && ((text, tokens) => onChunk(index, text, tokens)));
        results.push(r);
        await hooks.onChoiceEnd?.(index, r);
      }
      return results;
    },
    signal,
    (position) => res.setHeader("X-Queue-Position", String(position)),
  );
}

/** OpenAI's finish_reason: EOS and stop strings are both "stop". */
export function finishReason(r: ChoiceResult): "stop" | "length" {
  return r.finishReason === "length" ? "length" : "stop";
}

export function usage(
  results: readonly ChoiceResult[],
  promptTokens: number,
): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const completion = results.reduce((n, r) => n + r.tokens.length, 0);
  return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
}

/** Ids like OpenAI's: a prefix and random characters. */
export function requestId(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 12)}${Date.now().toString(36)}`;
}
