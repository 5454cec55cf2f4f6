// Choosing the next token from the model's logits.
//
// The logits pass through these stages, always in this order, each a small function below
// that edits the logits in place (the order Hugging Face transformers uses: penalties, then the
// user's LogitsProcessorList, then the sampling "warpers"; llama.cpp's sampler chain puts its
// penalties sampler first too):
//
//   0. vocabLimit         (generation loop) ids the tokenizer cannot decode get -Infinity
//   1. repetitionPenalty  tokens already in the text (prompt + generated) become less likely
//   2. frequencyPenalty   subtract penalty × (times the token was generated)       (OpenAI)
//      presencePenalty    subtract penalty once if the token was generated at all  (OpenAI)
//   3. logitsProcessors   the caller's processors, in the order given
//   4. temperature        divide by T: T < 1 sharpens the distribution, T > 1 flattens it
//   5. topK               keep the k most likely tokens
//   6. topP               keep the smallest set of most likely tokens whose probability sums to p
//   7. minP               drop tokens less likely than minP × (probability of the best token)
//   8. draw               one token from softmax(logits) with the seeded generator, or the
//                         argmax when sampling is off (temperature < MIN_TEMPERATURE or doSample false)
//
// A removed token gets logit -Infinity, i.e. probability 0. Greedy decoding runs stages 1-3
// and takes the argmax (4-7 cannot change it). Stages 5-7 see the distribution *after*
// temperature, so a high temperature lets more tokens into the top-p set. A user processor
// sees the penalized logits before temperature, so a logit it sets is divided by T like any other.
//
// Every cut keeps at least one token (the most likely one), and tokens tied with the last
// token kept are kept too, so a result never depends on the order of token ids.

/**
 * Anything that yields uniform floats in [0, 1): the tensor library's seeded `Generator`
 * (src/tensor/random.ts, MT19937) is what the generation loop uses.
 */
export interface UniformSource {
  random(): number;
}

/** Sampling settings, with Hugging Face's names in camelCase. */
export interface SamplingOptions {
  /** Divide logits by this. 0 means greedy (argmax). Default 1. */
  temperature?: number;
  /** Keep the k most likely tokens; 0 (default) turns top-k off. */
  topK?: number;
  /** Nucleus sampling threshold in (0, 1]; 1 (default) turns top-p off. */
  topP?: number;
  /** Drop tokens with probability below minP × max probability; 0 (default) turns it off. */
  minP?: number;
  /** > 1 discourages tokens already present (HF / CTRL rule); 1 (default) turns it off. */
  repetitionPenalty?: number;
  /** Subtracted from a token's logit once per time it was generated (OpenAI's rule); 0 (default) turns it off. */
  frequencyPenalty?: number;
  /** Subtracted from a token's logit if it was generated at all (OpenAI's rule); 0 (default) turns it off. */
  presencePenalty?: number;
  /** false means greedy whatever the temperature. Default true. */
  doSample?: boolean;
}

/**
 * A user-supplied logits processor (transformers' LogitsProcessor, a llama.cpp sampler): edits
 * one row's logits **in place** and returns nothing. It runs after the penalties and before
 * temperature (stage 3 above); set a logit to -Infinity to ban a token. `logits` is a copy
 * the sampler owns, valid during the call only.
 */
export type LogitsProcessor = (logits: Float32Array, context: LogitsContext) => void;

/** The sequence a processor is choosing the next token for. */
export interface LogitsContext {
  /** Row of the batch (0 for a single prompt). */
  row: number;
  /** Index of the token being chosen among this row's generated tokens (0 = the first). */
  step: number;
  /** The prompt's ids (BOS included when it was added). Do not modify. */
  promptIds: readonly number[];
  /** The ids generated so far in this row, oldest first (transformers' input_ids = prompt + these). Do not modify. */
  generatedIds: readonly number[];
}

/** Tokens seen so far: the prompt and what was generated; the penalties read these. */
export type TokenHistory = Pick<LogitsContext, "promptIds" | "generatedIds">;

/** Settings with every default filled in. */
export type ResolvedSamplingOptions = Required<SamplingOptions>;

export const SAMPLING_DEFAULTS: ResolvedSamplingOptions = {
  temperature: 1,
  topK: 0,
  topP: 1,
  minP: 0,
  repetitionPenalty: 1,
  frequencyPenalty: 0,
  presencePenalty: 0,
  doSample: true,
};

/** Fills defaults and checks ranges; throws a RangeError naming the bad option. */
export function resolveSamplingOptions(options: SamplingOptions = {}): ResolvedSamplingOptions {
  const o = { ...SAMPLING_DEFAULTS };
  for (const key of Object.keys(SAMPLING_DEFAULTS) as (keyof SamplingOptions)[]) {
    const v = options[key];
    if (v !== undefined) (o as Record<string, unknown>)[key] = v;
  }
  const check = (name: string, ok: boolean, expected: string, v: unknown) => {
    if (!ok) throw new RangeError(`${name}: expected ${expected}, got ${String(v)}`);
  };
  check("temperature", Number.isFinite(o.temperature) && o.temperature >= 0, "a number >= 0", o.temperature);
  check("topK", Number.isInteger(o.topK) && o.topK >= 0, "an integer >= 0", o.topK);
  check("topP", Number.isFinite(o.topP) && o.topP > 0 && o.topP <= 1, "a number in (0, 1]", o.topP);
  check("minP", Number.isFinite(o.minP) && o.minP >= 0 && o.minP <= 1, "a number in [0, 1]", o.minP);
  check("repetitionPenalty", Number.isFinite(o.repetitionPenalty) && o.repetitionPenalty > 0, "a number > 0", o.repetitionPenalty);
  check("frequencyPenalty", Number.isFinite(o.frequencyPenalty), "a finite number", o.frequencyPenalty);
  check("presencePenalty", Number.isFinite(o.presencePenalty), "a finite number", o.presencePenalty);
  check("doSample", typeof o.doSample === "boolean", "a boolean", o.doSample);
  return o;
}

/**
 * Temperatures below this count as 0 (greedy). Dividing logits by a tinier T overflows them to
 * Infinity, and softmax of Infinity is NaN; in the limit T → 0 sampling is the argmax anyway.
 */
export const MIN_TEMPERATURE = 1e-5;

/** True when the options mean "take the argmax". */
export function isGreedy(o: ResolvedSamplingOptions): boolean {
  return !o.doSample || o.temperature < MIN_TEMPERATURE;
}

// ---------------------------------------------------------------------------------------------
// The built-in processors. Each edits `logits` in place.

/**
 * Repetition penalty (Keskar et al. 2019, as in HF transformers): for every distinct token
 * already seen, a positive logit is divided by `penalty` and a negative one multiplied by it,
 * so with penalty > 1 the token always becomes less likely.
 */
export function repetitionPenalty(logits: Float32Array, previousTokens: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  const seen = new Set<number>();
  for (const t of previousTokens) {
    if (t < 0 || t >= logits.length || seen.has(t)) continue;
    seen.add(t);
    const l = logits[t]!;
    logits[t] = l < 0 ? l * penalty : l / penalty;
  }
}

/** How many times each token occurs in `tokens`. */
function countTokens(tokens: Iterable<number>): Map<number, number> {
  const counts = new Map<number, number>();
  for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  return counts;
}

/**
 * Frequency penalty (OpenAI): logit[j] -= penalty × count[j], where count[j] is how many times
 * token j was generated so far (the prompt does not count). Positive values discourage
 * repeating a token more the more often it was used; OpenAI's API accepts [-2, 2].
 */
export function frequencyPenalty(logits: Float32Array, generatedTokens: Iterable<number>, penalty: number): void {
  if (penalty === 0) return;
  for (const [t, count] of countTokens(generatedTokens)) {
    if (t >= 0 && t < logits.length) logits[t] = logits[t]! - penalty * count;
  }
}

/**
 * Presence penalty (OpenAI): logit[j] -= penalty once if token j was generated at all so far
 * (the prompt does not count), however often. Positive values push towards new tokens.
 */
export function presencePenalty(logits: Float32Array, generatedTokens: Iterable<number>, penalty: number): void {
  if (penalty === 0) return;
  for (const t of new Set(generatedTokens)) {
    if (t >= 0 && t < logits.length) logits[t] = logits[t]! - penalty;
  }
}

/** Temperature: logits / T. T = 1 changes nothing; T = 0 is handled as greedy by the caller. */
export function temperature(logits: Float32Array, t: number): void {
  if (t === 1 || t === 0) return;
  for (let i = 0; i < logits.length; i++) logits[i] = logits[i]! / t;
}

/** Top-k: keep the k largest logits (and any tied with the k-th), set the others to -Infinity. */
export function topK(logits: Float32Array, k: number): void {
  if (k <= 0 || k >= logits.length) return;
  const kth = largest(logits, k)[k - 1]?.value ?? -Infinity; // one pass, no sort of the vocabulary
  if (kth === -Infinity) return; // fewer than k finite logits: nothing to cut
  for (let i = 0; i < logits.length; i++) if (logits[i]! < kth) logits[i] = -Infinity;
}

/**
 * Top-p (nucleus): sort tokens from most to least likely and keep the shortest prefix whose
 * probabilities sum to at least p; always at least one token.
 */
export function topP(logits: Float32Array, p: number): void {
  if (p >= 1) return;
  const probs = softmax(logits);
  // Only tokens with probability ≥ (1 - p) / (n - 1) can be in the nucleus: all the others
  // together hold less than 1 - p (llama2.c's trick). Sorting just those keeps this cheap.
  const cutoff = (1 - p) / Math.max(1, logits.length - 1);
  const order = sortedFinite(logits, (i) => probs[i]! >= cutoff);
  if (order.length === 0) return;
  let cumulative = 0;
  let last = 0; // position in `order` of the last token kept
  for (; last < order.length; last++) {
    cumulative += probs[order[last]!]!;
    if (cumulative >= p) break;
  }
  const threshold = logits[order[Math.min(last, order.length - 1)]!]!; // ran out: keep all
  for (let i = 0; i < logits.length; i++) if (logits[i]! < threshold) logits[i] = -Infinity;
}

/** Min-p: drop tokens whose probability is below minP × the largest probability. */
export function minP(logits: Float32Array, minProb: number): void {
  if (minProb <= 0) return;
  const probs = softmax(logits);
  let best = 0;
  for (let i = 0; i < probs.length; i++) if (probs[i]! > best) best = probs[i]!;
  const threshold = minProb * best;
  for (let i = 0; i < logits.length; i++) if (probs[i]! < threshold) logits[i] = -Infinity;
}

/**
 * Where the penalties read the tokens seen so far: a TokenHistory (or a whole LogitsContext),
 * or, as before the frequency and presence penalties existed, one list of previous tokens
 * (prompt + generated) that only the repetition penalty reads.
 */
export type PreviousTokens = Iterable<number> | TokenHistory;

/** The context processors get, from what the caller gave. */
export function logitsContext(previous: PreviousTokens | Partial<LogitsContext> = []): LogitsContext {
  if (Symbol.iterator in previous) return { row: 0, step: 0, promptIds: [...previous], generatedIds: [] };
  const c = previous as Partial<LogitsContext>;
  const generatedIds = c.generatedIds ?? [];
  return { row: c.row ?? 0, step: c.step ?? generatedIds.length, promptIds: c.promptIds ?? [], generatedIds };
}

/**
 * Stages 1-2: repetition penalty over prompt + generated, then frequency and presence
 * penalties over the generated tokens. A plain list of previous tokens cannot tell the
 * generated ones apart, so it is refused when those penalties are on.
 */
export function penalizeLogits(logits: Float32Array, options: ResolvedSamplingOptions, previous: PreviousTokens = []): void {
  if (Symbol.iterator in previous) {
    if (options.frequencyPenalty !== 0 || options.presencePenalty !== 0) {
      throw new TypeError(
        "frequencyPenalty / presencePenalty count generated tokens only: pass { promptIds, generatedIds } instead of a list of previous tokens",
      );
    }
    repetitionPenalty(logits, previous, options.repetitionPenalty);
    return;
  }
  repetitionPenalty(logits, allTokens(previous), options.repetitionPenalty);
  frequencyPenalty(logits, previous.generatedIds, options.frequencyPenalty);
  presencePenalty(logits, previous.generatedIds, options.presencePenalty);
}

/** Prompt then generated ids, without copying them. */
function* allTokens(h: TokenHistory): Generator<number> {
  yield* h.promptIds;
  yield* h.generatedIds;
}

/** Stage 3: the caller's processors, in order; each must edit `logits` in place. */
export function applyLogitsProcessors(logits: Float32Array, processors: readonly LogitsProcessor[], context: LogitsContext): void {
  processors.forEach((p, i) => {
    const returned = p(logits, context) as unknown;
    if (returned !== undefined) {
      throw new TypeError(`logitsProcessors[${i}] returned a value: a processor edits the logits in place and returns nothing`);
    }
  });
}

/**
 * Runs the stages in order on a copy of `logits` and returns it. `previous` feeds the
 * penalties (and, as a LogitsContext, tells the processors which row and step this is).
 * With greedy options stages 4-7 are skipped (they cannot change the argmax).
 */
export function processLogits(
  logits: Float32Array,
  options: ResolvedSamplingOptions,
  previous: PreviousTokens = [],
  processors: readonly LogitsProcessor[] = [],
): Float32Array {
  const out = Float32Array.from(logits);
  penalizeLogits(out, options, previous);
  if (processors.length > 0) applyLogitsProcessors(out, processors, logitsContext(previous));
  if (isGreedy(options)) return out;
  temperature(out, options.temperature);
  topK(out, options.topK);
  topP(out, options.topP);
  minP(out, options.minP);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Choosing a token.

/** Index of the largest logit, the first one on ties. Throws when every logit is -Infinity or NaN. */
export function argmax(logits: Float32Array): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (Number.isNaN(v)) throw new RangeError(`logit ${i} is NaN`);
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  if (best < 0) throw new RangeError("no token can be chosen: every logit is -Infinity");
  return best;
}

/** Draws index i with probability probs[i] / Σ probs, using one uniform number u in [0, 1). */
export function drawFromProbabilities(probs: Float64Array, u: number): number {
  let total = 0;
  for (let i = 0; i < probs.length; i++) total += probs[i]!;
  const target = u * total;
  let cumulative = 0;
  let lastPositive = -1;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!;
    if (p <= 0) continue;
    cumulative += p;
    lastPositive = i;
    if (target < cumulative) return i;
  }
  if (!Number.isFinite(total)) throw new RangeError(`no token can be chosen: the probabilities sum to ${total}`);
  if (lastPositive < 0) throw new RangeError("no token can be chosen: every probability is 0");
  return lastPositive; // rounding left target just past the end
}

/**
 * Picks the next token: the stages in order, then argmax (greedy) or a draw from `rng`.
 * `previous` (prompt and generated so far) feeds the penalties; see processLogits.
 */
export function sampleToken(
  logits: Float32Array,
  options: ResolvedSamplingOptions,
  rng: UniformSource,
  previous: PreviousTokens = [],
  processors: readonly LogitsProcessor[] = [],
): number {
  const processed = processLogits(logits, options, previous, processors);
  if (isGreedy(options)) return argmax(processed);
  return drawFromProbabilities(softmax(processed), rng.random());
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/** Numerically stable softmax in float64 (-Infinity logits get probability 0). */
export function softmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (Number.isNaN(v)) throw new RangeError(`logit ${i} is NaN`);
    if (v > max) max = v;
  }
  const out = new Float64Array(logits.length);
  if (max === -Infinity) return out;
  if (max === Infinity) return uniformOver(logits, Infinity); // the limit: only the +Infinity logits count
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp(logits[i]! - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / sum;
  return out;
}

/** Equal probabilities over the logits equal to `value`, 0 elsewhere. */
function uniformOver(logits: Float32Array, value: number): Float64Array {
  const out = new Float64Array(logits.length);
  let count = 0;
  for (let i = 0; i < logits.length; i++) if (logits[i] === value) count++;
  for (let i = 0; i < logits.length; i++) if (logits[i] === value) out[i] = 1 / count;
  return out;
}

/** log-softmax in float64: log-probabilities of every token. */
export function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i]! - lse;
  return out;
}

/** The n largest log-probabilities with their token ids, most likely first (a small sorted list, no full sort). */
export function topLogprobs(lp: Float64Array, n: number): { token: number; logprob: number }[] {
  return largest(lp, n).map(({ index, value }) => ({ token: index, logprob: value }));
}

/** The n largest values with their indices, largest first, in one pass (a small sorted list). */
export function largest(values: ArrayLike<number>, n: number): { index: number; value: number }[] {
  const top: { index: number; value: number }[] = [];
  if (n <= 0) return top;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (top.length === n && v <= top[n - 1]!.value) continue;
    let at = top.length;
    while (at > 0 && top[at - 1]!.value < v) at--;
    top.splice(at, 0, { index: i, value: v });
    if (top.length > n) top.pop();
  }
  return top;
}

/** Indices of the finite logits (those `keep` accepts), largest first (ties: smaller index first). */
export function sortedFinite(logits: Float32Array, keep: (i: number) => boolean = () => true): number[] {
  const idx: number[] = [];
  for (let i = 0; i < logits.length; i++) if (logits[i]! > -Infinity && keep(i)) idx.push(i);
  idx.sort((a, b) => logits[b]! - logits[a]! || a - b);
  return idx;
}
