// Added tokens ("<|im_start|>", "<bos>", …) are found in the text before anything else and
// become their ids directly; the text between them is normalized and encoded by the model.
// Matching is leftmost-longest, as the Rust library's Aho-Corasick automaton. Tokens with
// `normalized: false` match the raw text; the others match the normalized text.
import { isTokenId, MAX_TOKEN_ID, TokenizerFileError } from "./config.js";

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  singleWord: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
}

/** A piece of text: an added token (id >= 0) or text to encode (id -1). */
export interface Section {
  text: string;
  id: number;
  /** Where the section starts in the text given to split(). */
  start: number;
}

export function readAddedTokens(json: unknown, where: string): AddedToken[] {
  if (json === undefined || json === null) return [];
  if (!Array.isArray(json)) throw new TokenizerFileError(`${where}: expected an array`);
  return json.map((t, i) => {
    const at = `${where}[${i}]`;
    if (t === null || typeof t !== "object" || typeof t.content !== "string" || t.content === "" || !isTokenId(t.id)) {
      throw new TokenizerFileError(`${at}: expected {"id": integer in [0, ${MAX_TOKEN_ID}], "content": "non-empty string", …}`);
    }
    const special = t.special === true;
    return {
      id: t.id,
      content: t.content,
      special,
      singleWord: t.single_word === true,
      lstrip: t.lstrip === true,
      rstrip: t.rstrip === true,
      normalized: typeof t.normalized === "boolean" ? t.normalized : !special,
    };
  });
}

interface TrieNode {
  next: Map<string, TrieNode>;
  token?: AddedToken;
}

const WHITESPACE = /\p{White_Space}/u;

export class AddedTokenMatcher {
  private readonly root: TrieNode = { next: new Map() };
  readonly empty: boolean;

  constructor(tokens: readonly { content: string; token: AddedToken }[]) {
    for (const { content, token } of tokens) {
      let node = this.root;
      for (let i = 0; i < content.length; i++) {
        const c = content[i]!;
        let child = node.next.get(c);
        if (!child) node.next.set(c, (child = { next: new Map() }));
        node = child;
      }
      node.token ??= token;
    }
    this.empty = tokens.length === 0;
  }

  /** Cuts text into added tokens and the text between them (empty sections dropped). */
  split(text: string): Section[] {
    if (this.empty) return [{ text, id: -1, start: 0 }];
    const out: Section[] = [];
    let plainStart = 0;
    for (let i = 0; i < text.length; ) {
      if (!this.root.next.has(text[i]!)) {
        i++; // no added token starts with this character
        continue;
      }
      const m = this.longestAt(text, i);
      if (!m || (m.token.singleWord && !standsAlone(text, i, m.end))) {
        i = m ? m.end : i + 1;
        continue;
      }
      let start = i,
        end = m.end;
      // lstrip / rstrip: the token swallows the whitespace before / after it.
      if (m.token.lstrip) while (start > plainStart && WHITESPACE.test(text[start - 1]!)) start--;
      if (m.token.rstrip) while (end < text.length && WHITESPACE.test(text[end]!)) end++;
      if (start > plainStart) out.push({ text: text.slice(plainStart, start), id: -1, start: plainStart });
      out.push({ text: m.token.content, id: m.token.id, start });
      plainStart = end;
      i = end;
    }
    if (plainStart < text.length) out.push({ text: text.slice(plainStart), id: -1, start: plainStart });
    return out;
  }

  private longestAt(text: string, i: number): { token: AddedToken; end: number } | null {
    let node: TrieNode | undefined = this.root;
    let best: { token: AddedToken; end: number } | null = null;
    for (let j = i; j < text.length; j++) {
      node = node.next.get(text[j]!);
      if (!node) break;
      if (node.token) best = { token: node.token, end: j + 1 };
    }
    return best;
  }
}

/** single_word tokens need whitespace (or the text's edge) on both sides. */
function standsAlone(text: string, start: number, end: number): boolean {
  const before = start === 0 || WHITESPACE.test(text[start - 1]!);
  const after = end === text.length || WHITESPACE.test(text[end]!);
  return before && after;
}
