// Batches for language-model training. Each batch holds, as int32 tensors of shape (B, T):
//
//   inputIds       the tokens the model reads
//   targets        the token that follows each input token (-100 where nothing is to be learned)
//   attentionMask  1 for real tokens, 0 for padding (only batches with padding carry one)
//
// Two sources:
// - WindowDataset: one long corpus, sampled as random contiguous windows of T + 1 tokens
//   (nanoGPT's get_batch): inputs are the first T, targets the last T. A seeded generator
//   picks the windows; its state is the whole data position, so resume is exact.
// - DocumentDataset: separate documents (lines, stories), each cut to T + 1 tokens, shuffled
//   per epoch with a seeded permutation, padded on the right; padded targets are -100 so the
//   loss ignores them (crossEntropy's ignoreIndex).
import { Generator, Tensor, type RngState } from "../tensor/index.js";
import type { TokenIds } from "./token_cache.js";

export { IGNORE_INDEX } from "../models/causal_lm.js";
import { IGNORE_INDEX } from "../models/causal_lm.js";
import { positiveInt } from "../util/validate.js";

export interface Batch {
  inputIds: Tensor;
  targets: Tensor;
  attentionMask?: Tensor;
  /** Number of targets that count (not IGNORE_INDEX). */
  tokens: number;
}

/** A source of batches whose position can be saved and restored exactly. */
export interface BatchSource {
  nextBatch(): Batch;
  getState(): DatasetState;
  setState(state: DatasetState): void;
}

export type DatasetState = { kind: "windows"; rng: RngState } | { kind: "documents"; epoch: number; cursor: number };

export interface WindowDatasetOptions {
  batchSize: number;
  contextLength: number;
  seed: number;
}

export class WindowDataset implements BatchSource {
  private readonly rng: Generator;
  readonly batchSize: number;
  readonly contextLength: number;

  constructor(
    readonly ids: TokenIds,
    options: WindowDatasetOptions,
  ) {
    this.batchSize = positiveInt("batchSize", options.batchSize);
    this.contextLength = positiveInt("contextLength", options.contextLength);
    if (ids.length < this.contextLength + 1) {
      throw new RangeError(`WindowDataset: ${ids.length} tokens are fewer than one window of ${this.contextLength + 1} (context + 1)`);
    }
    this.rng = new Generator(options.seed);
  }

  nextBatch(): Batch {
    const B = this.batchSize;
    const T = this.contextLength;
    const x = new Int32Array(B * T);
    const y = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const start = this.rng.randint(0, this.ids.length - T);
      for (let t = 0; t < T; t++) {
        x[b * T + t] = this.ids[start + t]!;
        y[b * T + t] = this.ids[start + t + 1]!;
      }
    }
    return { inputIds: new Tensor(x, [B, T]), targets: new Tensor(y, [B, T]), tokens: B * T };
  }

  getState(): DatasetState {
    return { kind: "windows", rng: this.rng.getState() };
  }

  setState(state: DatasetState): void {
    if (state.kind !== "windows") throw new TypeError(`WindowDataset.setState: expected a "windows" state, got "${state.kind}"`);
    this.rng.setState(state.rng);
  }
}

/**
 * Fixed evaluation batches: the same windows every time (from their own seed), so validation
 * losses at different steps are comparable and evaluating never moves the training data.
 */
export function fixedWindowBatches(ids: TokenIds, options: WindowDatasetOptions & { count: number }): Batch[] {
  const ds = new WindowDataset(ids, options);
  return Array.from({ length: options.count }, () => ds.nextBatch());
}

export interface DocumentDatasetOptions {
  batchSize: number;
  contextLength: number;
  seed: number;
  /** Id written into padded input slots (their targets are -100 anyway); default 0. */
  padId?: number;
  /** Shuffle the documents each epoch (default true). */
  shuffle?: boolean;
}

export class DocumentDataset implements BatchSource {
  readonly batchSize: number;
  readonly contextLength: number;
  private readonly padId: number;
  private readonly shuffle: boolean;
  private readonly seed: number;
  private epoch = 0;
  private cursor = 0;
  private order: Int32Array;

  /** `documents`: token ids of each document (BOS / EOS included as wanted); each needs ≥ 2 tokens. */
  constructor(
    readonly documents: readonly (readonly number[] | TokenIds)[],
    options: DocumentDatasetOptions,
  ) {
    this.batchSize = positiveInt("batchSize", options.batchSize);
    this.contextLength = positiveInt("contextLength", options.contextLength);
    this.padId = options.padId ?? 0;
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed;
    if (documents.length === 0) throw new RangeError("DocumentDataset: no documents");
    documents.forEach((d, i) => {
      if (d.length < 2)
        throw new RangeError(`DocumentDataset: document ${i} has ${d.length} token(s); at least 2 are needed (an input and its target)`);
    });
    this.order = this.orderFor(0);
  }

  /** The document order of an epoch: a seeded Fisher–Yates permutation (identity without shuffle). */
  private orderFor(epoch: number): Int32Array {
    const order = Int32Array.from({ length: this.documents.length }, (_, i) => i);
    if (!this.shuffle) return order;
    const rng = new Generator(this.seed + epoch);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.randint(0, i + 1);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    return order;
  }

  nextBatch(): Batch {
    const docs: (readonly number[] | TokenIds)[] = [];
    for (let b = 0; b < this.batchSize; b++) {
      if (this.cursor >= this.order.length) {
        this.epoch++;
        this.cursor = 0;
        this.order = this.orderFor(this.epoch);
      }
      docs.push(this.documents[this.order[this.cursor++]!]!);
    }
    return padBatch(docs, this.contextLength, this.padId);
  }

  getState(): DatasetState {
    return { kind: "documents", epoch: this.epoch, cursor: this.cursor };
  }

  setState(state: DatasetState): void {
    if (state.kind !== "documents") throw new TypeError(`DocumentDataset.setState: expected a "documents" state, got "${state.kind}"`);
    this.epoch = state.epoch;
    this.cursor = state.cursor;
    this.order = this.orderFor(this.epoch);
  }
}

/**
 * Pads documents into one batch: each is cut to contextLength + 1 tokens, inputs are all but
 * the last, targets all but the first; the batch is as long as its longest row.
 */
export function padBatch(docs: readonly (readonly number[] | TokenIds)[], contextLength: number, padId = 0): Batch {
  const B = docs.length;
  const T = Math.max(...docs.map((d) => Math.min(d.length, contextLength + 1) - 1));
  const x = new Int32Array(B * T).fill(padId);
  const y = new Int32Array(B * T).fill(IGNORE_INDEX);
  const mask = new Int32Array(B * T);
  let tokens = 0;
  docs.forEach((doc, b) => {
    const n = Math.min(doc.length, contextLength + 1) - 1;
    for (let t = 0; t < n; t++) {
      x[b * T + t] = doc[t]!;
      y[b * T + t] = doc[t + 1]!;
      mask[b * T + t] = 1;
    }
    tokens += n;
  });
  return { inputIds: new Tensor(x, [B, T]), targets: new Tensor(y, [B, T]), attentionMask: new Tensor(mask, [B, T]), tokens };
}
