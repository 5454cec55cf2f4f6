// Log-probabilities in the two shapes of the OpenAI API.
//
//   completions:  { tokens: [...], token_logprobs: [...], top_logprobs: [{token: logprob}], text_offset: [...] }
//   chat:         { content: [{ token, logprob, bytes, top_logprobs: [{ token, logprob, bytes }] }], refusal: null }
import type { TokenDetail } from "./runner.js";
import { tokenText, type PieceSource } from "./token_text.js";

export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[];
  text_offset: number[];
}

export interface ChatLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

/** Completion-style logprobs; offsets count characters from `startOffset`. */
export function completionLogprobs(tokenizer: PieceSource, details: readonly TokenDetail[], startOffset = 0): CompletionLogprobs {
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  let offset = startOffset;
  for (const d of details) {
    if (d.eos || d.logprob === undefined) continue;
    const text = tokenText(tokenizer, d.id).token;
    out.tokens.push(text);
    out.token_logprobs.push(d.logprob);
    const top: Record<string, number> = {};
    for (const t of d.top ?? []) {
      const key = tokenText(tokenizer, t.id).token;
      if (!(key in top)) top[key] = t.logprob; // two ids with the same text: keep the likelier
    }
    out.top_logprobs.push(top);
    out.text_offset.push(offset);
    offset += text.length;
  }
  return out;
}

/** Chat-style logprobs (the `content` list). */
export function chatLogprobs(tokenizer: PieceSource, details: readonly TokenDetail[]): ChatLogprob[] {
  return details
    .filter((d) => !d.eos && d.logprob !== undefined)
    .map((d) => ({
      ...tokenText(tokenizer, d.id),
      logprob: d.logprob!,
      top_logprobs: (d.top ?? []).map((t) => ({ ...tokenText(tokenizer, t.id), logprob: t.logprob })),
    }));
}
