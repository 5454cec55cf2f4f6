// The generation loop: prompt in, tokens out, one forward step per token.
//
//   1. Encode each prompt (BOS first when the tokenizer has one).
//   2. Left-pad the prompts to one length; each row's positions start at 0 on its first real
//      token, and padding slots are masked out of attention (so a row in a batch gives the same
//      output as alone).
//   3. Size the KV cache to prompt + maxNewTokens (capped by the model's context) and report
//      the estimate before allocating it.
//   4. Prefill: feed the prompts in chunks, checking the AbortSignal between chunks.
//   5. Decode: for each row still running, mask the ids the tokenizer cannot decode (vocabLimit),
//      pick a token (sampling.ts: penalties → the caller's logitsProcessors → temperature →
//      top-k → top-p → min-p → draw), turn it into text with the tokenizer's incremental
//      decoder, check EOS / stop strings / maxNewTokens, and report it to `onToken`; then one
//      forward step for every row. The AbortSignal is checked between tokens.
//
// The loop is an async generator of events, pulled one token at a time: `generate` drains it,
// `stream` hands its text to the reader as it comes. Two hooks let a caller watch and steer it
// without wrapping the model or the tokenizer: `logitsProcessors` edit the logits of every row
// before the token is drawn, and `onToken` sees every token the moment it is chosen.
//
// The model is the CPU DecoderModel or the GPU WebGPUDecoder (whose forward returns a promise).
// When the GPU model decodes greedily and nothing needs the logits on the CPU (no penalties,
// processors, top log-probabilities or onToken), the argmax runs on the GPU too and up to
// GREEDY_IN_FLIGHT steps are submitted ahead of their readback (greedyDecode below): each step
// feeds the id the previous one chose without waiting for it to come back.
import type { GenerationDefaults } from "../formats/types.js";
import type { DecoderDims } from "./decoder.js";
import { kvCacheEstimate } from "./kv_cache.js";
import { Generator as RandomGenerator } from "../tensor/random.js";
import {
  isGreedy,
  logSoftmax,
  resolveSamplingOptions,
  sampleToken,
  topLogprobs,
  type LogitsContext,
  type LogitsProcessor,
  type ResolvedSamplingOptions,
  type SamplingOptions,
} from "./sampling.js";
import { StopStringFilter, TextStream } from "./stream.js";
import { tokensBeyond } from "./prompt_budget.js";

/** What the loop needs of a KV cache: its rows, its size and how much of it is left. */
export interface GenerationCache {
  readonly batch: number;
  readonly capacity: number;
  readonly remaining: number;
  /** Frees memory the garbage collector does not manage (a GPU cache); called when generation ends. */
  destroy?(): void;
}

/** A greedy choice made on the device: per row, the id and its log-probability. */
export interface DeviceGreedyChoice {
  ids: Int32Array;
  logprobs: Float32Array;
}

/**
 * What the loop needs from a model: DecoderModel (CPU) or WebGPUDecoder (GPU). `forward` may
 * return a promise; `greedyStep`, when present, picks the argmax on the device (tokens null:
 * feed the ids the previous greedyStep chose, which never left the device).
 */
export interface GenerationModel<C extends GenerationCache = GenerationCache> {
  readonly dims: DecoderDims;
  createCache(batch: number, capacity: number): C;
  forward(cache: C, tokens: Int32Array, positions: Int32Array, valid: Uint8Array, steps: number): Float32Array | Promise<Float32Array>;
  greedyStep?(
    cache: C,
    tokens: Int32Array | null,
    positions: Int32Array,
    valid: Uint8Array,
    steps: number,
    limit: number,
  ): Promise<DeviceGreedyChoice>;
}

/** Greedy steps submitted ahead of their readback on a device that decodes greedily (greedyStep). */
export const GREEDY_IN_FLIGHT = 3;

/** What the loop needs from a tokenizer (SentencePieceProcessor has all of it). */
export interface GenerationTokenizer {
  encodeAsIds(text: string): number[];
  decode(ids: readonly number[]): string;
  readonly bosId: number;
  readonly eosId: number;
  /** Text of ids pushed one at a time, never half a UTF-8 character. */
  createStreamDecoder(): { push(id: number): string; flush(): string };
  /** Number of pieces; ids from here on cannot be decoded, so they are never generated. */
  readonly vocabSize?: number;
}

/** Options of one generation request (Hugging Face names in camelCase). */
export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate per prompt (default 256). */
  maxNewTokens?: number;
  /** End-of-text tokens are banned until this many tokens were generated (default 0; HF's min_new_tokens). */
  minNewTokens?: number;
  /** Seed of the sampler; the same seed gives the same text. Default: a random one, reported in the result. */
  seed?: number;
  /** Stop when the generated text contains one of these (it is not included in the text). */
  stop?: string | string[];
  /** Token ids that end a sequence (default: the tokenizer's EOS and the config's eos_token_id). */
  eosTokenId?: number | number[];
  /** Put the BOS token before a text prompt (default true when the tokenizer has one). */
  addBos?: boolean;
  /** Report the log-probabilities of this many most likely alternatives per token (default 0). */
  topLogprobs?: number;
  /** Cancels generation, during prompt processing or between tokens; the promise rejects with its reason. */
  signal?: AbortSignal;
  /** Human-readable messages before work starts (e.g. the KV cache estimate). */
  onInfo?: (message: string) => void;
  /** Prompt processing progress: tokens fed so far (per row) and the total. */
  onPrefill?: (done: number, total: number) => void;
  /** Prompt tokens fed per forward call during prefill (default 64). */
  prefillChunkSize?: number;
  /**
   * Only ids below this are generated (default: the tokenizer's vocabSize, capped by the model's
   * vocabulary). A model may have more embeddings than its tokenizer has pieces (HF checkpoints
   * often round vocab_size up to a multiple of 64); those ids decode to nothing.
   */
  vocabLimit?: number;
  /**
   * Your own logits processors (transformers' LogitsProcessorList), run on every row at every
   * step after the repetition / frequency / presence penalties and before temperature, top-k,
   * top-p and min-p, in the order given (also when decoding greedily). Each edits the logits in
   * place; see LogitsProcessor in sampling.ts.
   */
  logitsProcessors?: readonly LogitsProcessor[];
  /**
   * Called once per chosen token per row, in order, the moment it is chosen (before its text
   * is released), including the EOS token that ends a row. Throwing from it ends generation
   * with that error.
   */
  onToken?: (event: TokenEvent) => void;
}

/** Every option with a value, as the loop uses them. */
export interface ResolvedGenerateOptions extends ResolvedSamplingOptions {
  logitsProcessors: readonly LogitsProcessor[];
  maxNewTokens: number;
  minNewTokens: number;
  seed: number;
  stop: string[];
  topLogprobs: number;
  prefillChunkSize: number;
}

export interface TokenLogprob {
  token: number;
  /** log P(token) under the model (raw logits, ids past vocabLimit masked, before the sampling processors). */
  logprob: number;
  /** The most likely tokens at this step, most likely first (empty unless topLogprobs > 0). */
  top: { token: number; logprob: number }[];
}

export type FinishReason = "eos" | "stop" | "length";

export interface GenerationResult {
  /** The generated text (prompt excluded; stop string and EOS excluded). */
  text: string;
  /** Generated token ids (EOS excluded). */
  tokens: number[];
  logprobs: TokenLogprob[];
  finishReason: FinishReason;
  /** Prompt length in tokens (BOS included). */
  promptTokens: number;
  /** The seed used, to reproduce the run. */
  seed: number;
}

/** One token chosen for one row, as `onToken` sees it. */
export interface TokenEvent {
  row: number;
  /** Index of the token among the row's generated tokens (0 = the first; an ending EOS gets the next index). */
  step: number;
  token: number;
  /** log P(token) under the model, as in TokenLogprob (before penalties and processors). */
  logprob: number;
  /** The `topLogprobs` most likely tokens at this step, most likely first (empty unless topLogprobs > 0). */
  top: { token: number; logprob: number }[];
  /** True for an end-of-sequence id: it ends the row and is not part of the result's tokens or text. */
  eos: boolean;
  /** Why the row ends with this token ("eos", "stop": it completed a stop string, "length"), or null. */
  finishReason: FinishReason | null;
  /**
   * The row's logits the token was drawn from: the model's, ids past vocabLimit masked, before
   * any processor (what explainStep takes). Valid during the callback only; do not modify.
   */
  logits: Float32Array;
}

/** A piece of text released for one row of the batch. */
export interface GenerationEvent {
  row: number;
  text: string;
}

export const GENERATE_DEFAULTS = { maxNewTokens: 256, prefillChunkSize: 64, topLogprobs: 0 } as const;

/** camelCase options from generation_config.json's snake_case fields. */
export function optionsFromGenerationConfig(g: GenerationDefaults | undefined): GenerateOptions {
  const o: GenerateOptions = {};
  if (!g) return o;
  if (g.temperature !== undefined) o.temperature = g.temperature;
  if (g.top_k !== undefined) o.topK = g.top_k;
  if (g.top_p !== undefined) o.topP = g.top_p;
  if (g.min_p !== undefined) o.minP = g.min_p;
  if (g.repetition_penalty !== undefined) o.repetitionPenalty = g.repetition_penalty;
  if (g.max_new_tokens !== undefined) o.maxNewTokens = g.max_new_tokens;
  if (g.do_sample !== undefined) o.doSample = g.do_sample;
  if (g.eos_token_id !== undefined) o.eosTokenId = g.eos_token_id;
  return o;
}

/** Fills defaults and checks every option; errors name the option. */
export function resolveGenerateOptions(options: GenerateOptions): ResolvedGenerateOptions {
  const sampling = resolveSamplingOptions(options);
  const int = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${name}: expected an integer >= ${min}, got ${v}`);
    return v;
  };
  const stop = options.stop === undefined ? [] : Array.isArray(options.stop) ? options.stop : [options.stop];
  for (const s of stop)
    if (typeof s !== "string" || s === "") throw new TypeError(`stop: expected non-empty strings, got ${JSON.stringify(s)}`);
  const logitsProcessors = options.logitsProcessors ?? [];
  if (!Array.isArray(logitsProcessors)) throw new TypeError("logitsProcessors: expected a list of functions");
  logitsProcessors.forEach((p, i) => {
    if (typeof p !== "function")
      throw new TypeError(`logitsProcessors[${i}]: expected a function (logits, context) => void, got ${typeof p}`);
  });
  if (options.onToken !== undefined && typeof options.onToken !== "function")
    throw new TypeError(`onToken: expected a function, got ${typeof options.onToken}`);
  const seed = options.seed ?? randomSeed();
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed: expected a non-negative integer, got ${seed}`);
  return {
    ...sampling,
    logitsProcessors,
    maxNewTokens: int("maxNewTokens", options.maxNewTokens ?? GENERATE_DEFAULTS.maxNewTokens, 0),
    minNewTokens: int("minNewTokens", options.minNewTokens ?? 0, 0),
    seed,
    stop,
    topLogprobs: int("topLogprobs", options.topLogprobs ?? GENERATE_DEFAULTS.topLogprobs, 0),
    prefillChunkSize: int("prefillChunkSize", options.prefillChunkSize ?? GENERATE_DEFAULTS.prefillChunkSize, 1),
  };
}

/** A random seed in [0, 2³¹) (Web Crypto: Node 20 and browsers have it). */
function randomSeed(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0]! >>> 1;
}

/** One line with the effective settings, for --verbose and logs. */
export function describeSettings(o: ResolvedGenerateOptions): string {
  const mode = isGreedy(o)
    ? "greedy (argmax)"
    : `sampling: temperature ${o.temperature}, top-k ${o.topK || "off"}, top-p ${o.topP}, min-p ${o.minP}`;
  const stops = o.stop.length ? `, stop ${JSON.stringify(o.stop)}` : "";
  const openai =
    o.frequencyPenalty !== 0 || o.presencePenalty !== 0
      ? `, frequency penalty ${o.frequencyPenalty}, presence penalty ${o.presencePenalty}`
      : "";
  const user = o.logitsProcessors.length ? `, ${o.logitsProcessors.length} logits processor(s)` : "";
  return `${mode}, repetition penalty ${o.repetitionPenalty}${openai}${user}, max new tokens ${o.maxNewTokens}, seed ${o.seed}${stops}`;
}

/** Lets timers and abort events run between chunks of synchronous work. */
function yieldToEventLoop(): Promise<void> {
  // setImmediate in Node; a browser (the in-page generator) has only setTimeout.
  const later: (f: () => void) => unknown = typeof setImmediate === "function" ? setImmediate : (f) => setTimeout(f, 0);
  return new Promise((resolve) => later(resolve));
}

/** State of one row of the batch. */
interface Row {
  prompt: number[];
  generated: number[];
  logprobs: TokenLogprob[];
  text: string;
  decoder: { push(id: number): string; flush(): string };
  stops: StopStringFilter;
  rng: RandomGenerator;
  finish: FinishReason | null;
}

/**
 * The loop itself: yields text as it is released, returns one result per prompt.
 * Prompts are strings (encoded here) or token ids (used as given).
 */
export async function* generationLoop<C extends GenerationCache>(
  model: GenerationModel<C>,
  tokenizer: GenerationTokenizer,
  prompts: readonly (string | readonly number[])[],
  options: GenerateOptions = {},
): AsyncGenerator<GenerationEvent, GenerationResult[], void> {
  const o = resolveGenerateOptions(options);
  const signal = options.signal;
  signal?.throwIfAborted();
  if (prompts.length === 0) return [];
  const addBos = options.addBos ?? tokenizer.bosId >= 0;
  const eos = new Set<number>(eosIds(options.eosTokenId, tokenizer));
  const limit = vocabLimit(options.vocabLimit, tokenizer, model.dims.vocabSize);

  const rows: Row[] = prompts.map((p, i) => {
    const beyond = typeof p === "string" ? tokensBeyond(p, model.dims.context, (s) => tokenizer.encodeAsIds(s)) : null;
    if (beyond !== null)
      throw new RangeError(`the prompt has more than ${beyond} tokens, more than the model's context of ${model.dims.context}`);
    const ids = typeof p === "string" ? [...(addBos ? [tokenizer.bosId] : []), ...tokenizer.encodeAsIds(p)] : [...p];
    if (ids.length === 0) throw new RangeError(`prompt ${i} is empty: give some text, or set addBos so the model starts from BOS`);
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= model.dims.vocabSize)
        throw new RangeError(`prompt ${i}: token id ${id} is outside the vocabulary [0, ${model.dims.vocabSize})`);
    }
    const decoder = tokenizer.createStreamDecoder();
    for (const id of ids) decoder.push(id); // decode the continuation in context (leading spaces)
    return {
      prompt: ids,
      generated: [],
      logprobs: [],
      text: "",
      decoder,
      stops: new StopStringFilter(o.stop),
      rng: new RandomGenerator(o.seed),
      finish: null,
    };
  });

  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.prompt.length));
  const context = model.dims.context;
  if (T > context) throw new RangeError(`the prompt has ${T} tokens, more than the model's context of ${context}`);
  const results = () =>
    rows.map((r) => ({
      text: r.text,
      tokens: r.generated,
      logprobs: r.logprobs,
      finishReason: r.finish ?? "length",
      promptTokens: r.prompt.length,
      seed: o.seed,
    }));
  if (o.maxNewTokens === 0) return results();

  // The cache holds the prompt and every generated token but the last (which is never fed back).
  const capacity = Math.min(T + o.maxNewTokens - 1, context);
  const estimate = kvCacheEstimate({ layers: model.dims.layers, batch: B, capacity, kvDim: model.dims.kvHeads * model.dims.headDim });
  options.onInfo?.(estimate.description);
  const cache = model.createCache(B, capacity);
  try {
    // Prefill, left-padded: row b's prompt occupies columns T - len_b … T - 1.
    const chunk = (c0: number): { tokens: Int32Array; positions: Int32Array; valid: Uint8Array; steps: number } => {
      const steps = Math.min(o.prefillChunkSize, T - c0);
      const tokens = new Int32Array(B * steps),
        positions = new Int32Array(B * steps),
        valid = new Uint8Array(B * steps);
      rows.forEach((r, b) => {
        const pad = T - r.prompt.length;
        for (let t = 0; t < steps; t++) {
          const col = c0 + t;
          if (col < pad) continue;
          tokens[b * steps + t] = r.prompt[col - pad]!;
          positions[b * steps + t] = col - pad;
          valid[b * steps + t] = 1;
        }
      });
      return { tokens, positions, valid, steps };
    };
    const lastChunk = Math.floor((T - 1) / o.prefillChunkSize) * o.prefillChunkSize;
    const onDevice = deviceGreedy(model, o, options);
    let logits: Float32Array = new Float32Array(0);
    for (let c0 = 0; c0 < T; c0 += o.prefillChunkSize) {
      signal?.throwIfAborted();
      const c = chunk(c0);
      if (onDevice && c0 === lastChunk) break; // the device's greedy loop feeds the last chunk
      logits = await model.forward(cache, c.tokens, c.positions, c.valid, c.steps);
      options.onPrefill?.(c0 + c.steps, T);
      await yieldToEventLoop();
    }
    signal?.throwIfAborted();

    /** Adds a chosen token to row b (cacheFull: no slot is left to feed it back); returns the text it releases. */
    const accept = (r: Row, token: number, lp: TokenLogprob, cacheFull: boolean): string => {
      if (eos.has(token)) {
        r.finish = "eos";
        return endRow(r);
      }
      r.generated.push(token);
      r.logprobs.push(lp);
      const piece = r.stops.push(r.decoder.push(token));
      r.text += piece.text;
      let text = piece.text;
      if (piece.stopped) r.finish = "stop";
      else if (r.generated.length >= o.maxNewTokens || cacheFull) {
        r.finish = "length";
        text += endRow(r);
      }
      return text;
    };

    if (onDevice) {
      const last = chunk(lastChunk);
      const choices = greedyDecode(onDevice, cache, rows, last, limit, T, signal);
      try {
        for (let step = 0; ; step++) {
          const next = await choices.next();
          if (next.done) break;
          const choice = next.value;
          if (step === 0) options.onPrefill?.(T, T);
          for (let b = 0; b < B; b++) {
            const r = rows[b]!;
            if (r.finish) continue;
            const token = choice.ids[b]!;
            const text = accept(r, token, { token, logprob: choice.logprobs[b]!, top: [] }, cache.capacity - (T + step) === 0);
            if (text) yield { row: b, text };
          }
          if (rows.every((r) => r.finish)) break;
        }
      } finally {
        await choices.return(undefined); // waits for the steps still in flight
      }
      return results();
    }

    const V = model.dims.vocabSize;
    for (let step = 0; ; step++) {
      // Pick a token for every running row, and release its text.
      for (let b = 0; b < B; b++) {
        const r = rows[b]!;
        if (r.finish) continue;
        const rowLogits = logits.subarray(b * V, (b + 1) * V);
        // In place, before the processors: the log-probabilities (and onToken's logits) then
        // cover the same vocabulary the token is drawn from.
        rowLogits.fill(-Infinity, limit);
        if (r.generated.length < o.minNewTokens) for (const e of eos) if (e < V) rowLogits[e] = -Infinity; // too early to end
        const context: LogitsContext = { row: b, step, promptIds: r.prompt, generatedIds: r.generated };
        const token = sampleToken(rowLogits, o, r.rng, context, o.logitsProcessors);
        const lp = tokenLogprob(rowLogits, token, o.topLogprobs);
        const text = accept(r, token, lp, cache.remaining === 0);
        options.onToken?.({
          row: b,
          step,
          token,
          logprob: lp.logprob,
          top: lp.top,
          eos: eos.has(token),
          finishReason: r.finish,
          logits: rowLogits,
        });
        if (text) yield { row: b, text };
      }
      if (rows.every((r) => r.finish)) break;

      // Feed the new tokens back: one forward step for the whole batch (finished rows as padding).
      signal?.throwIfAborted();
      await yieldToEventLoop();
      signal?.throwIfAborted();
      const tokens = new Int32Array(B),
        positions = new Int32Array(B),
        valid = new Uint8Array(B);
      rows.forEach((r, b) => {
        if (r.finish) return;
        tokens[b] = r.generated[r.generated.length - 1]!;
        positions[b] = r.prompt.length + r.generated.length - 1;
        valid[b] = 1;
      });
      logits = await model.forward(cache, tokens, positions, valid, 1);
    }
    return results();
  } finally {
    cache.destroy?.(); // GPU memory is not the garbage collector's
  }
}

type DeviceGreedyModel<C extends GenerationCache> = GenerationModel<C> & Required<Pick<GenerationModel<C>, "greedyStep">>;

/**
 * The model, when the whole greedy choice can stay on its device: it has greedyStep, decoding
 * is greedy, and nothing needs the logits on the CPU (penalties, logits processors, top
 * log-probabilities, onToken, a minimum length that bans EOS); else null.
 */
function deviceGreedy<C extends GenerationCache>(
  model: GenerationModel<C>,
  o: ResolvedGenerateOptions,
  options: GenerateOptions,
): DeviceGreedyModel<C> | null {
  if (!model.greedyStep || !isGreedy(o)) return null;
  const plain =
    o.repetitionPenalty === 1 &&
    o.frequencyPenalty === 0 &&
    o.presencePenalty === 0 &&
    o.logitsProcessors.length === 0 &&
    o.topLogprobs === 0 &&
    o.minNewTokens === 0 &&
    options.onToken === undefined;
  return plain ? (model as DeviceGreedyModel<C>) : null;
}

/**
 * Greedy decoding on the device: feeds the prompt's last chunk, then keeps up to
 * GREEDY_IN_FLIGHT one-token steps submitted ahead, each feeding the id its predecessor chose
 * (never read back in between). Yields each step's choice in order. A row that ended keeps
 * running in the steps already in flight (their choices are ignored); later steps mask it out.
 * Steps still in flight when the caller stops are awaited, so no readback is left pending.
 */
async function* greedyDecode<C extends GenerationCache>(
  model: DeviceGreedyModel<C>,
  cache: C,
  rows: readonly Row[],
  last: { tokens: Int32Array; positions: Int32Array; valid: Uint8Array; steps: number },
  limit: number,
  promptColumns: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<DeviceGreedyChoice, void, undefined> {
  const B = rows.length;
  const pending: Promise<DeviceGreedyChoice>[] = [];
  const track = (p: Promise<DeviceGreedyChoice>) => {
    p.catch(() => {}); // handled when awaited in turn; never an unhandled rejection meanwhile
    pending.push(p);
  };
  let submitted = 0; // one-token steps submitted after the prompt
  const slots = cache.capacity - promptColumns;
  try {
    track(model.greedyStep(cache, last.tokens, last.positions, last.valid, last.steps, limit));
    for (;;) {
      while (pending.length < GREEDY_IN_FLIGHT && submitted < slots) {
        submitted++;
        const positions = new Int32Array(B),
          valid = new Uint8Array(B);
        rows.forEach((r, b) => {
          if (r.finish) return;
          positions[b] = r.prompt.length + submitted - 1;
          valid[b] = 1;
        });
        track(model.greedyStep(cache, null, positions, valid, 1, limit));
      }
      const next = pending.shift();
      if (!next) return;
      yield await next;
      signal?.throwIfAborted();
      await yieldToEventLoop();
      signal?.throwIfAborted();
    }
  } finally {
    await Promise.allSettled(pending);
  }
}

/**
 * Releases what the decoder and the stop filter still hold for a row that ended without a stop
 * string, and returns it (that tail may still complete a stop string: the row then ends by "stop").
 */
function endRow(r: Row): string {
  const tail = r.stops.push(r.decoder.flush());
  let text = tail.text;
  if (tail.stopped) r.finish = "stop";
  else text += r.stops.flush();
  r.text += text;
  return text;
}

/** Ids in [0, limit) can be generated: the option, else the tokenizer's size, at most the model's. */
function vocabLimit(option: number | undefined, tokenizer: GenerationTokenizer, modelVocab: number): number {
  if (option !== undefined) {
    if (!Number.isInteger(option) || option < 1 || option > modelVocab) {
      throw new RangeError(`vocabLimit: expected an integer in [1, ${modelVocab}] (the model's vocabulary), got ${option}`);
    }
    return option;
  }
  const pieces = tokenizer.vocabSize;
  return pieces !== undefined && pieces > 0 ? Math.min(pieces, modelVocab) : modelVocab;
}

function eosIds(option: number | number[] | undefined, tokenizer: GenerationTokenizer): number[] {
  if (option !== undefined) return Array.isArray(option) ? option : [option];
  return tokenizer.eosId >= 0 ? [tokenizer.eosId] : [];
}

/** log P(token) and the top-n alternatives, from the raw logits. */
function tokenLogprob(logits: Float32Array, token: number, topN: number): TokenLogprob {
  const lp = logSoftmax(logits);
  return { token, logprob: lp[token]!, top: topLogprobs(lp, topN) };
}

/** Generates from several prompts at once (left-padded batch); one result per prompt. */
export async function generateBatch<C extends GenerationCache>(
  model: GenerationModel<C>,
  tokenizer: GenerationTokenizer,
  prompts: readonly (string | readonly number[])[],
  options: GenerateOptions = {},
): Promise<GenerationResult[]> {
  const loop = generationLoop(model, tokenizer, prompts, options);
  for (;;) {
    const step = await loop.next();
    if (step.done) return step.value;
  }
}

/** Generates from one prompt; resolves with the text, tokens and log-probabilities. */
export async function generate<C extends GenerationCache>(
  model: GenerationModel<C>,
  tokenizer: GenerationTokenizer,
  prompt: string | readonly number[],
  options: GenerateOptions = {},
): Promise<GenerationResult> {
  const [result] = await generateBatch(model, tokenizer, [prompt], options);
  return result!;
}

/** Streams the text of one prompt as it is generated (see TextStream). */
export function stream<C extends GenerationCache>(
  model: GenerationModel<C>,
  tokenizer: GenerationTokenizer,
  prompt: string | readonly number[],
  options: GenerateOptions = {},
): TextStream<GenerationResult> {
  async function* pieces(): AsyncGenerator<string, GenerationResult, void> {
    const loop = generationLoop(model, tokenizer, [prompt], options);
    try {
      for (;;) {
        const step = await loop.next();
        if (step.done) return step.value[0]!;
        yield step.value.text;
      }
    } finally {
      await loop.return([]);
    }
  }
  return new TextStream(pieces());
}
