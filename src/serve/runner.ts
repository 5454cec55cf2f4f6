// Runs one completion ("choice") of a request: the generation loop of src/generate, whose
// `onToken` hook hands every token over with its log-probabilities and, for the playground,
// the explanation of its sampling step, in step with the text.
import {
  explainStep,
  generationLoop,
  type ExplainedStep,
  type FinishReason,
  type GenerateOptions,
  type GeneratorModel,
  type GenerationModel,
  type TextGenerator,
  type TokenEvent,
} from "../generate/index.js";

export interface ChoiceJob {
  /** Prompt token ids (BOS included when wanted). */
  prompt: number[];
  /** Sampling (penalties included), maxNewTokens, seed (set: choices must be reproducible), stop, eos. */
  options: GenerateOptions & { seed: number };
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

export async function runChoice(
  generator: TextGenerator<GeneratorModel>,
  job: ChoiceJob,
  signal?: AbortSignal,
  onChunk?: ChunkHandler,
): Promise<ChoiceResult> {
  const pending: TokenDetail[] = [];
  const details: TokenDetail[] = [];
  const generated: number[] = [];
  const explainTopN = job.explainTopN ?? 0;
  const logprobs = job.logprobs ?? null;
  // Called before the loop releases the token's text, so a chunk carries the tokens behind its text.
  const onToken = (t: TokenEvent) => {
    if (t.eos && explainTopN <= 0) return;
    const d = describeToken(t, job, generated, explainTopN);
    pending.push(d);
    if (!t.eos) {
      details.push(d);
      generated.push(t.token);
    }
  };
  const options: GenerateOptions = { ...job.options, signal, topLogprobs: logprobs ?? 0, onToken };
  const model: GenerationModel = generator.model; // CPU or GPU: both have what the loop needs
  const loop = generationLoop(model, generator.tokenizer, [job.prompt], options);
  try {
    for (;;) {
      const step = await loop.next();
      if (step.done) {
        const r = step.value[0]!;
        if (pending.length > 0) await onChunk?.("", pending.splice(0));
        return { text: r.text, tokens: r.tokens, finishReason: r.finishReason, promptTokens: r.promptTokens, seed: r.seed, details };
      }
      await onChunk?.(step.value.text, pending.splice(0));
    }
  } finally {
    await loop.return([]); // stops the loop if we leave early (an error while writing)
  }
}

/** What a client is told about one token; `generated` holds the tokens before it. */
function describeToken(t: TokenEvent, job: ChoiceJob, generated: readonly number[], explainTopN: number): TokenDetail {
  const d: TokenDetail = { id: t.token, eos: t.eos };
  if (job.logprobs !== undefined && job.logprobs !== null) {
    d.logprob = t.logprob;
    d.top = t.top.map(({ token, logprob }) => ({ id: token, logprob }));
  }
  if (explainTopN > 0) {
    d.explain = explainStep(t.logits, { ...job.options, previousTokens: { promptIds: job.prompt, generatedIds: generated } }, explainTopN);
  }
  return d;
}
