// Counting a long prompt's tokens without encoding all of it. A 1 MB prompt took 0.75 s and
// 580 MB to encode before being refused for exceeding the context; here only a prefix is
// encoded, cut at a whitespace: SentencePiece does not merge pieces across whitespace (its
// default split_by_whitespace), so the prefix's tokens are the first tokens of the whole text.

/** How many characters of a prompt are encoded to see whether it fits: generous per token. */
const CHARS_PER_TOKEN_PROBED = 16;

/**
 * Null when `text` may fit in `maxTokens` (encode it all), else the token count of a prefix
 * that already exceeds it (the prompt is longer still).
 */
export function tokensBeyond(text: string, maxTokens: number, encode: (s: string) => number[]): number | null {
  const probe = Math.max(4096, (maxTokens + 1) * CHARS_PER_TOKEN_PROBED);
  if (text.length <= probe) return null;
  const cut = text.lastIndexOf(" ", probe);
  if (cut <= 0) return null; // no whitespace to cut at: the caller encodes the whole text
  const count = encode(text.slice(0, cut)).length;
  return count > maxTokens ? count : null;
}
