// explainStep: what the sampler does to one set of logits, told for a learner (and the playground).
//
// It runs the same stages as sampling.ts, one at a time, and records for the top
// candidates their probability before anything, after the penalties, the caller's processors
// and temperature, and at the end, and which cut (if any) removed them.
import {
  applyLogitsProcessors,
  logitsContext,
  minP,
  penalizeLogits,
  resolveSamplingOptions,
  softmax,
  temperature,
  topK,
  topP,
  isGreedy,
  argmax,
  type LogitsProcessor,
  type PreviousTokens,
  type SamplingOptions,
} from "./sampling.js";

/** The processor that removed a candidate, or null when it survived. */
export type CutBy = "topK" | "topP" | "minP" | "greedy" | null;

export interface ExplainedCandidate {
  token: number;
  /** The raw logit from the model. */
  logit: number;
  /** softmax(raw logits): the model's own probability. */
  probability: number;
  /** Probability after the penalties, the caller's processors and temperature, before any cut. */
  probabilityAfterTemperature: number;
  /** Probability the draw actually uses (renormalized after the cuts); 0 when cut. */
  finalProbability: number;
  cutBy: CutBy;
}

export interface ExplainedStep {
  /** Top candidates by probability after temperature, most likely first. */
  candidates: ExplainedCandidate[];
  /** How many tokens of the whole vocabulary survive all cuts. */
  keptCount: number;
  /** How many tokens each cut removed (from those still alive when it ran). */
  removed: { topK: number; topP: number; minP: number };
  /** True when sampling is off (temperature 0 or doSample false): the argmax is taken. */
  greedy: boolean;
}

export interface ExplainOptions extends SamplingOptions {
  /**
   * Tokens already in the text: { promptIds, generatedIds } (needed for the frequency and
   * presence penalties), or one list that only the repetition penalty reads.
   */
  previousTokens?: PreviousTokens;
  /** The caller's processors, run after the penalties as in sampling. */
  logitsProcessors?: readonly LogitsProcessor[];
}

/** Explains one sampling step over `logits`, listing the `topN` most likely candidates. */
export function explainStep(logits: Float32Array, options: ExplainOptions = {}, topN = 10): ExplainedStep {
  const o = resolveSamplingOptions(options);
  const raw = softmax(logits);
  const work = Float32Array.from(logits);
  const previous = options.previousTokens ?? [];
  penalizeLogits(work, o, previous);
  const processors = options.logitsProcessors ?? [];
  if (processors.length > 0) applyLogitsProcessors(work, processors, logitsContext(previous));
  const greedy = isGreedy(o);
  if (!greedy) temperature(work, o.temperature);
  const afterTemperature = softmax(work);

  const cutBy: CutBy[] = new Array<CutBy>(logits.length).fill(null);
  const removed = { topK: 0, topP: 0, minP: 0 };
  // Runs one cut and marks the tokens it turned into -Infinity.
  const cut = (name: "topK" | "topP" | "minP", apply: () => void) => {
    const before = Float32Array.from(work);
    apply();
    for (let i = 0; i < work.length; i++) {
      if (before[i]! > -Infinity && work[i] === -Infinity) {
        cutBy[i] = name;
        removed[name]++;
      }
    }
  };
  if (greedy) {
    const best = argmax(work);
    for (let i = 0; i < work.length; i++)
      if (i !== best) {
        cutBy[i] = "greedy";
        work[i] = -Infinity;
      }
  } else {
    cut("topK", () => topK(work, o.topK));
    cut("topP", () => topP(work, o.topP));
    cut("minP", () => minP(work, o.minP));
  }
  const final = softmax(work);

  const order = Array.from(afterTemperature.keys()).sort((a, b) => afterTemperature[b]! - afterTemperature[a]! || a - b);
  const candidates = order.slice(0, Math.max(0, topN)).map((token) => ({
    token,
    logit: logits[token]!,
    probability: raw[token]!,
    probabilityAfterTemperature: afterTemperature[token]!,
    finalProbability: final[token]!,
    cutBy: cutBy[token]!,
  }));
  let keptCount = 0;
  for (let i = 0; i < work.length; i++) if (work[i]! > -Infinity) keptCount++;
  return { candidates, keptCount, removed, greedy };
}
