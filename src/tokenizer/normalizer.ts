// Text normalization exactly as SentencePiece does it, driven by the model's NormalizerSpec.
//
// The rules (identity, nmt_nfkc, nfkc, nmt_nfkc_cf, user-defined) are not code: they are the
// `precompiled_charsmap` in the model file, a darts-clone trie from UTF-8 byte strings to
// offsets in a table of NUL-terminated replacements. At each position the longest matching
// rule wins; without a match one UTF-8 character is copied (a malformed byte becomes U+FFFD).
// Then: spaces are squeezed (remove_extra_whitespaces), a dummy prefix space is added
// (add_dummy_prefix; a suffix with treat_whitespace_as_suffix), and ' ' becomes U+2581
// (escape_whitespaces). We work on UTF-8 bytes, as the library does, and keep for every
// normalized byte the offset of the original byte it came from.

import { DoubleArrayTrie } from "./darts.js";
import { PrefixMatcher } from "./byte_trie.js";
import { normalizerSpecWithDefaults, type NormalizerSpec } from "./model_proto.js";
import { utf8Decode, utf8Encode, validCharLength } from "./utf8.js";

/** U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's visible space. */
export const SPACE_SYMBOL = "\u2581";
const SPACE_SYMBOL_BYTES = utf8Encode(SPACE_SYMBOL);
const REPLACEMENT_BYTES = utf8Encode("\uFFFD");
const SPACE = 0x20;

export interface NormalizedText {
  /** The normalized text. */
  normalized: string;
  /** The normalized text as UTF-8. */
  bytes: Uint8Array;
  /**
   * For each byte of `bytes`, the byte offset in the original UTF-8 text it came from, plus one
   * last entry for the end (length bytes.length + 1).
   */
  normToOrig: Uint32Array;
  /** The original text as UTF-8 (what normToOrig points into). */
  original: Uint8Array;
}

export interface NormalizerOptions {
  /** TrainerSpec.treat_whitespace_as_suffix: the dummy space goes at the end instead. */
  treatWhitespaceAsSuffix?: boolean;
  /** User-defined symbols: copied verbatim, never normalized (as the library does). */
  userDefinedSymbols?: readonly string[];
  /** Names the model file in error messages. */
  fileName?: string;
}

/** A parsed `precompiled_charsmap`: the rule trie and the replacement table. */
export class CharsMap {
  private readonly trie: DoubleArrayTrie;
  private readonly replacements: Uint8Array;

  constructor(blob: Uint8Array, private readonly where: string) {
    if (blob.length <= 4) throw new Error(`${where}: normalizer_spec.precompiled_charsmap is broken (${blob.length} bytes)`);
    const trieSize = new DataView(blob.buffer, blob.byteOffset, 4).getUint32(0, true);
    if (4 + trieSize > blob.length || trieSize % 4 !== 0) {
      throw new Error(`${where}: normalizer_spec.precompiled_charsmap: trie size ${trieSize} does not fit the ${blob.length}-byte blob`);
    }
    this.trie = new DoubleArrayTrie(blob.subarray(4, 4 + trieSize));
    this.replacements = blob.subarray(4 + trieSize);
  }

  /** The longest rule at `pos`: [bytes consumed, replacement bytes], or null when none applies. */
  match(bytes: Uint8Array, pos: number): [number, Uint8Array] | null {
    const matches = this.trie.commonPrefixSearch(bytes, pos, bytes.length);
    if (matches.length === 0) return null;
    let best = matches[0]!;
    for (const m of matches) if (m.length > best.length) best = m;
    return [best.length, this.replacement(best.value)];
  }

  private replacement(offset: number): Uint8Array {
    const table = this.replacements;
    if (offset >= table.length) {
      throw new Error(`${this.where}: normalizer_spec.precompiled_charsmap: replacement offset ${offset} is outside the ${table.length}-byte table`);
    }
    let end = offset;
    while (end < table.length && table[end] !== 0) end++;
    return table.subarray(offset, end);
  }
}

/** Growable byte buffer with a parallel array of original offsets. */
class AlignedBuilder {
  bytes = new Uint8Array(64);
  orig = new Uint32Array(64);
  length = 0;

  push(b: number, origOffset: number): void {
    if (this.length === this.bytes.length) {
      const nb = new Uint8Array(this.length * 2);
      nb.set(this.bytes);
      this.bytes = nb;
      const no = new Uint32Array(this.length * 2);
      no.set(this.orig);
      this.orig = no;
    }
    this.bytes[this.length] = b;
    this.orig[this.length] = origOffset;
    this.length++;
  }

  endsWith(suffix: Uint8Array): boolean {
    if (this.length < suffix.length) return false;
    for (let i = 0; i < suffix.length; i++) if (this.bytes[this.length - suffix.length + i] !== suffix[i]) return false;
    return true;
  }
}

export class Normalizer {
  readonly spec: Required<NormalizerSpec>;
  private readonly charsMap: CharsMap | null;
  private readonly matcher: PrefixMatcher | null;
  private readonly treatWhitespaceAsSuffix: boolean;

  constructor(spec: NormalizerSpec | undefined, options: NormalizerOptions = {}) {
    this.spec = normalizerSpecWithDefaults(spec);
    const where = options.fileName ?? "<model>";
    const blob = this.spec.precompiledCharsmap;
    this.charsMap = blob.length > 0 ? new CharsMap(blob, where) : null;
    const symbols = options.userDefinedSymbols ?? [];
    this.matcher = symbols.length > 0 ? new PrefixMatcher(symbols) : null;
    this.treatWhitespaceAsSuffix = options.treatWhitespaceAsSuffix ?? false;
  }

  /** Normalizes `text` (e.g. "Hello  world" → "▁Hello▁world" with the default spec). */
  normalize(text: string): string {
    return this.normalizeWithAlignment(text).normalized;
  }

  /**
   * One step: the replacement for the text at `pos` and how many input bytes it consumes.
   * User-defined symbols are kept as they are; then the longest charsmap rule; else one
   * character (a malformed byte → U+FFFD, consuming that byte).
   */
  normalizePrefix(input: Uint8Array, pos: number): [Uint8Array, number] {
    if (this.matcher) {
      const m = this.matcher.match(input, pos, input.length);
      if (m.found) return [input.subarray(pos, pos + m.length), m.length];
    }
    if (this.charsMap) {
      const rule = this.charsMap.match(input, pos);
      if (rule) return [rule[1], rule[0]];
    }
    const n = validCharLength(input, pos);
    if (n === 0) return [REPLACEMENT_BYTES, 1];
    return [input.subarray(pos, pos + n), n];
  }

  /** Normalizes and keeps the normalized→original byte alignment. */
  normalizeWithAlignment(text: string | Uint8Array): NormalizedText {
    if (typeof text !== "string" && !(text instanceof Uint8Array)) {
      throw new TypeError(`Normalizer: expected a string, got ${text === null ? "null" : typeof text}`);
    }
    const input = typeof text === "string" ? utf8Encode(text) : text;
    const spec = this.spec;
    const out = new AlignedBuilder();
    let pos = 0;

    // Leading whitespace goes when remove_extra_whitespaces is on.
    if (spec.removeExtraWhitespaces) {
      while (pos < input.length) {
        const [rep, n] = this.normalizePrefix(input, pos);
        if (!(rep.length === 1 && rep[0] === SPACE)) break;
        pos += n;
      }
    }
    if (pos >= input.length) return finish(out, input, pos, true);

    let consumed = pos;
    const addSpace = (): void => {
      if (spec.escapeWhitespaces) for (const b of SPACE_SYMBOL_BYTES) out.push(b, consumed);
      else out.push(SPACE, consumed);
    };
    if (!this.treatWhitespaceAsSuffix && spec.addDummyPrefix) addSpace();

    let prevWasSpace = spec.removeExtraWhitespaces;
    while (pos < input.length) {
      const [rep, n] = this.normalizePrefix(input, pos);
      let start = 0;
      // Squeeze: drop spaces that follow a space.
      if (prevWasSpace) while (start < rep.length && rep[start] === SPACE) start++;
      if (start < rep.length) {
        for (let i = start; i < rep.length; i++) {
          const b = rep[i]!;
          if (spec.escapeWhitespaces && b === SPACE) for (const s of SPACE_SYMBOL_BYTES) out.push(s, consumed);
          else out.push(b, consumed);
        }
        prevWasSpace = rep[rep.length - 1] === SPACE;
      }
      consumed += n;
      pos += n;
      if (!spec.removeExtraWhitespaces) prevWasSpace = false;
    }

    // Trailing whitespace goes too.
    if (spec.removeExtraWhitespaces) {
      const space = spec.escapeWhitespaces ? SPACE_SYMBOL_BYTES : Uint8Array.of(SPACE);
      while (out.endsWith(space)) {
        const len = out.length - space.length;
        consumed = out.orig[len]!;
        out.length = len;
      }
    }
    if (this.treatWhitespaceAsSuffix && spec.addDummyPrefix) addSpace();
    return finish(out, input, consumed, false);
  }
}

function finish(out: AlignedBuilder, input: Uint8Array, consumed: number, empty: boolean): NormalizedText {
  if (empty) return { normalized: "", bytes: new Uint8Array(0), normToOrig: Uint32Array.of(0), original: input };
  const bytes = out.bytes.slice(0, out.length);
  const normToOrig = new Uint32Array(out.length + 1);
  normToOrig.set(out.orig.subarray(0, out.length));
  normToOrig[out.length] = consumed;
  return { normalized: utf8Decode(bytes), bytes, normToOrig, original: input };
}
