// Choosing the next token from the model's logits.
//
// The logits pass through these processors, always in this order (the order Hugging Face
// transformers uses), each a small function below that edits the logits in place:
//
//   1. repetitionPenalty  tokens already in the text become less likely
//   2. temperature        divide by T: T < 1 sharpens the distribution, T > 1 flattens it
//   3. topK               keep the k most likely tokens
//   4. topP               keep the smallest set of most likely tokens whose probability sums to p
//   5. minP               drop tokens less likely than minP × (probability of the best token)
//
// A removed token gets logit -Infinity, i.e. probability 0. Then one token is drawn from
// softmax(logits) with the seeded generator, or the argmax is taken when sampling is off
// (temperature 0 or doSample false). Steps 3-5 see the distribution *after* temperature, so
// a high temperature lets more tokens into the top-p set.
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
  /** false means greedy whatever the temperature. Default true. */
  doSample?: boolean;
}

/** Settings with every default filled in. */
export type ResolvedSamplingOptions = Required<SamplingOptions>;

export const SAMPLING_DEFAULTS: ResolvedSamplingOptions = {
  temperature: 1,
  topK: 0,
  topP: 1,
  minP: 0,
  repetitionPenalty: 1,
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
  check("doSample", typeof o.doSample === "boolean", "a boolean", o.doSample);
  return o;
}

/** True when the options mean "take the argmax". */
export function isGreedy(o: ResolvedSamplingOptions): boolean {
  return !o.doSample || o.temperature === 0;
}

// ---------------------------------------------------------------------------------------------
// The processors. Each edits `logits` in place.

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
 * Runs the processors in order on a copy of `logits` and returns it.
 * With greedy options only the repetition penalty applies (the others cannot change the argmax).
 */
export function processLogits(logits: Float32Array, options: ResolvedSamplingOptions, previousTokens: Iterable<number> = []): Float32Array {
  const out = Float32Array.from(logits);
  repetitionPenalty(out, previousTokens, options.repetitionPenalty);
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
  if (lastPositive < 0) throw new RangeError("no token can be chosen: every probability is 0");
  return lastPositive; // rounding left target just past the end
}

/**
 * Picks the next token: processors in order, then argmax (greedy) or a draw from `rng`.
 * `previousTokens` (prompt + generated so far) feed the repetition penalty.
 */
export function sampleToken(
  logits: Float32Array, options: ResolvedSamplingOptions, rng: UniformSource, previousTokens: Iterable<number> = [],
): number {
  const processed = processLogits(logits, options, previousTokens);
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
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp(logits[i]! - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / sum;
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
