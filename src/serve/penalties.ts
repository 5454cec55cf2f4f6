// Frequency and presence penalties, as the OpenAI API defines them:
//
//   logit[j] -= frequency_penalty × count[j]  +  presence_penalty × (count[j] > 0 ? 1 : 0)
//
// where count[j] is how many times token j was generated so far in this completion (the
// prompt does not count). Positive values push the model away from repeating itself; both
// range over [-2, 2]. They run on the model's logits before the sampler's own processors
// (repetition penalty, temperature, top-k, top-p, min-p; see src/generate/sampling.ts).

export interface Penalties {
  frequency: number;
  presence: number;
}

export const NO_PENALTIES: Penalties = { frequency: 0, presence: 0 };

export function hasPenalties(p: Penalties): boolean {
  return p.frequency !== 0 || p.presence !== 0;
}

/** How many times each token occurred, updated one token at a time. */
export class TokenCounts {
  private readonly counts = new Map<number, number>();

  add(token: number): void {
    this.counts.set(token, (this.counts.get(token) ?? 0) + 1);
  }

  entries(): IterableIterator<[number, number]> {
    return this.counts.entries();
  }
}

/** Applies both penalties to `logits` in place. */
export function applyPenalties(logits: Float32Array, counts: TokenCounts, p: Penalties): void {
  if (!hasPenalties(p)) return;
  for (const [token, count] of counts.entries()) {
    if (token < 0 || token >= logits.length || count === 0) continue;
    logits[token] = logits[token]! - p.frequency * count - p.presence;
  }
}
