// Runs one completion ("choice") of a request: the generation loop of src/generate, tapped
// (token_tap.ts) so that every token comes out with its log-probability and, for the
// playground, the explanation of its sampling step, in step with the text.
import {
  explainStep, generationLoop, logSoftmax, topLogprobs,
  type ExplainedStep, type FinishReason, type GenerateOptions, type TextGenerator,
} from "../generate/index.js";
import { NO_PENALTIES, type Penalties } from "./penalties.js";
import { GenerationTap, type TappedToken } from "./token_tap.js";

export interface ChoiceJob {
  /** Prompt token ids (BOS included when wanted). */
  prompt: number[];
  /** Sampling, maxNewTokens, seed (set: choices must be reproducible), stop, eos. */
  options: GenerateOptions & { seed: number };
  penalties?: Penalties;
  /** null: no log-probabilities; k >= 0: the chosen token's and the k most likely alternatives. */
  logprobs?: number | null;
  /** > 0: explain each sampling step with this many candidates (playground). */
  explainTopN?: number;
}

export interface TokenDetail {
  id: number;
  /** The EOS token that ended the text (only reported when explaining). */
  eos: boolean;
  logprob?: number;
  top?: { id: number; logprob: number }[];
  explain?: ExplainedStep;
}

export interface ChoiceResult {
  text: string;
  tokens: number[];
  finishReason: FinishReason;
  promptTokens: number;
  seed: number;
  details: TokenDetail[];
}

/** Called with each piece of released text and the tokens chosen since the last call; may await (backpressure). */
export type ChunkHandler = (text: string, tokens: TokenDetail[]) => void | Promise<void>;

export async function runChoice(generator: TextGenerator, job: ChoiceJob, signal?: AbortSignal, onChunk?: ChunkHandler): Promise<ChoiceResult> {
  const pending: TokenDetail[] = [];
  const details: TokenDetail[] = [];
  const explainTopN = job.explainTopN ?? 0;
  const onToken = (t: TappedToken) => {
    if (t.eos && explainTopN <= 0) return;
    const d = describeToken(t, job, explainTopN);
    pending.push(d);
    if (!t.eos) details.push(d);
  };
  const tap = new GenerationTap(generator, job.prompt, job.penalties ?? NO_PENALTIES, onToken);
  const loop = generationLoop(tap.model, tap.tokenizer, [job.prompt], { ...job.options, signal, topLogprobs: 0 });
  try {
    for (;;) {
      const step = await loop.next();
      if (step.done) {
        const r = step.value[0]!;
        tap.finish(r.finishReason, eosOf(job.options, generator));
        if (pending.length > 0) await onChunk?.("", pending.splice(0));
        return { text: r.text, tokens: r.tokens, finishReason: r.finishReason, promptTokens: r.promptTokens, seed: r.seed, details };
      }
      await onChunk?.(step.value.text, pending.splice(0));
    }
  } finally {
    await loop.return([]); // stops the loop if we leave early (an error while writing)
  }
}

function describeToken(t: TappedToken, job: ChoiceJob, explainTopN: number): TokenDetail {
  const d: TokenDetail = { id: t.token, eos: t.eos };
  if (job.logprobs !== undefined && job.logprobs !== null) {
    const lp = logSoftmax(t.logits);
    d.logprob = lp[t.token]!;
    d.top = topLogprobs(lp, job.logprobs).map(({ token, logprob }) => ({ id: token, logprob }));
  }
  if (explainTopN > 0) d.explain = explainStep(t.logits, { ...job.options, previousTokens: t.previous }, explainTopN);
  return d;
}

/** The EOS id reported when a generation ends on EOS (the first of the configured ones). */
function eosOf(options: GenerateOptions, generator: TextGenerator): number {
  const e = options.eosTokenId;
  if (e === undefined) return generator.tokenizer.eosId;
  return Array.isArray(e) ? e[0] ?? generator.tokenizer.eosId : e;
}
