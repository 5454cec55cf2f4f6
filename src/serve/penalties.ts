// Deprecated: the frequency and presence penalties are generation options now
// (`frequencyPenalty`, `presencePenalty`; the processors `frequencyPenalty` / `presencePenalty`
// in src/generate/sampling.ts). These names stay for one release for code that imported them
// from the server module; they apply the same OpenAI rule through the new functions.
import { frequencyPenalty, presencePenalty } from "../generate/sampling.js";

/** @deprecated Use the generation options `frequencyPenalty` and `presencePenalty`. */
export interface Penalties {
  frequency: number;
  presence: number;
}

/** @deprecated Use the generation options `frequencyPenalty` and `presencePenalty` (default 0). */
export const NO_PENALTIES: Penalties = { frequency: 0, presence: 0 };

/** @deprecated */
export function hasPenalties(p: Penalties): boolean {
  return p.frequency !== 0 || p.presence !== 0;
}

/** @deprecated The processors in src/generate/sampling.ts count the generated ids themselves. */
export class TokenCounts {
  private readonly tokens: number[] = [];

  add(token: number): void {
    this.tokens.push(token);
  }

  /** Each token with how many times it was added. */
  entries(): IterableIterator<[number, number]> {
    const counts = new Map<number, number>();
    for (const t of this.tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
    return counts.entries();
  }

  /** Every token added, in order. */
  ids(): readonly number[] {
    return this.tokens;
  }
}

/** @deprecated Use `frequencyPenalty` and `presencePenalty` from src/generate/sampling.ts (or the generation options). */
export function applyPenalties(logits: Float32Array, counts: TokenCounts, p: Penalties): void {
  frequencyPenalty(logits, counts.ids(), p.frequency);
  presencePenalty(logits, counts.ids(), p.presence);
}
