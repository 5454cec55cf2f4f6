// Perplexity of a model on a text: the text's tokens cut into consecutive windows of the
// model's context (no overlap), every token after the first of a window predicted from the
// ones before it. loss = mean cross-entropy over all predicted tokens; perplexity = e^loss.
import { Tensor, crossEntropy, noGrad } from "../tensor/index.js";
import type { TrainableModel } from "./trainer.js";
import type { PerplexityResult } from "../generate/perplexity.js";
import { intAtLeast } from "../util/validate.js";

export interface PerplexityOptions {
  /** Window length (at most the model's context). */
  contextLength: number;
  /** Windows per forward pass (default 8). */
  batchSize?: number;
  /** Evaluate at most this many tokens (default: all). */
  maxTokens?: number;
}

export type { PerplexityResult };

export function evaluatePerplexity(model: TrainableModel, ids: ArrayLike<number>, options: PerplexityOptions): PerplexityResult {
  const T = options.contextLength;
  const batchSize = options.batchSize ?? 8;
  const total = Math.min(ids.length, options.maxTokens ?? ids.length);
  intAtLeast("contextLength", T, 2);
  if (total < 2) throw new RangeError(`the text has ${total} token(s); at least 2 are needed to measure a loss`);
  // Windows start every T - 1 tokens so that every token after the first is predicted exactly once.
  const starts: number[] = [];
  for (let s = 0; s + 1 < total; s += T - 1) starts.push(s);
  let sum = 0;
  let count = 0;
  model.eval();
  try {
    noGrad(() => {
      for (let i = 0; i < starts.length; i += batchSize) {
        const group = starts.slice(i, i + batchSize);
        const len = Math.max(...group.map((s) => Math.min(T, total - s)));
        const x = new Int32Array(group.length * len);
        const y = new Int32Array(group.length * len).fill(-100);
        group.forEach((s, b) => {
          const n = Math.min(T, total - s);
          for (let t = 0; t < n; t++) x[b * len + t] = ids[s + t]!;
          for (let t = 0; t + 1 < n; t++) y[b * len + t] = ids[s + t + 1]!;
          count += n - 1;
        });
        const { logits } = model.forward(new Tensor(x, [group.length, len]));
        const V = logits.shape[2]!;
        const loss = crossEntropy(logits.reshape(group.length * len, V), new Tensor(y, [group.length * len]), { reduction: "sum" });
        sum += loss.item();
      }
    });
  } finally {
    model.train();
  }
  const loss = sum / count;
  return { loss, nll: loss, perplexity: Math.exp(loss), tokens: count };
}
