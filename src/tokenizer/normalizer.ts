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

import { DartsCloneTrie } from "./darts.js";
import { normalizerSpecWithDefaults, type NormalizerSpec } from "./model_proto.js";
import type { DoubleArrayTrie } from "./double_array_trie.js";
import { buildSymbolTrie, longestMatch } from "./user_symbols.js";
import { oneCharLen, utf8Decode, utf8Encode, validCharLength } from "./utf8.js";

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
  private readonly trie: DartsCloneTrie;
  private readonly replacements: Uint8Array;
  /** For each byte, whether some rule starts with it (most ASCII bytes have none). */
  readonly startsRule = new Uint8Array(256);
  /**
   * Bit b << 8 | c: whether a rule may match where byte b is followed by c (or by the text's
   * end, c = 0; see DartsCloneTrie.pairTable). NFKC has rules starting with ASCII letters (a
   * letter + a combining mark), so this, not startsRule, is what lets plain text skip the trie.
   */
  readonly pairs: Uint8Array;
  /** Set by longest(): the replacement's bytes are replacements[replacementBegin, replacementEnd). */
  replacementBegin = 0;
  replacementEnd = 0;

  constructor(
    blob: Uint8Array,
    private readonly where: string,
  ) {
    if (blob.length <= 4) throw new Error(`${where}: normalizer_spec.precompiled_charsmap is broken (${blob.length} bytes)`);
    const trieSize = new DataView(blob.buffer, blob.byteOffset, 4).getUint32(0, true);
    if (4 + trieSize > blob.length || trieSize % 4 !== 0) {
      throw new Error(`${where}: normalizer_spec.precompiled_charsmap: trie size ${trieSize} does not fit the ${blob.length}-byte blob`);
    }
    this.trie = new DartsCloneTrie(blob.subarray(4, 4 + trieSize));
    this.replacements = blob.subarray(4 + trieSize);
    for (let b = 0; b < 256; b++) this.startsRule[b] = this.trie.hasChildOfRoot(b) ? 1 : 0;
    this.pairs = this.trie.pairTable();
  }

  /** The replacement table (what replacementBegin / replacementEnd index). */
  get table(): Uint8Array {
    return this.replacements;
  }

  /** The longest rule at `pos`: [bytes consumed, replacement bytes], or null when none applies. */
  match(bytes: Uint8Array, pos: number): [number, Uint8Array] | null {
    const n = this.longest(bytes, pos, bytes.length);
    return n === 0 ? null : [n, this.replacements.subarray(this.replacementBegin, this.replacementEnd)];
  }

  /**
   * Bytes consumed by the longest rule at `pos` (0 when none applies); its replacement is left
   * in replacementBegin / replacementEnd. No allocation: this runs once per character.
   */
  longest(bytes: Uint8Array, pos: number, end: number): number {
    const length = this.trie.longestPrefix(bytes, pos, end);
    if (length === 0) return 0;
    const offset = this.trie.lastValue;
    const table = this.replacements;
    if (offset >= table.length) {
      throw new Error(
        `${this.where}: normalizer_spec.precompiled_charsmap: replacement offset ${offset} is outside the ${table.length}-byte table`,
      );
    }
    let e = offset;
    while (e < table.length && table[e] !== 0) e++;
    this.replacementBegin = offset;
    this.replacementEnd = e;
    return length;
  }
}

/**
 * A normalized text in reusable buffers: `bytes[0, length)` and, when `aligned`, for each byte
 * the offset of the original byte it came from (`orig[length]` is where the consumed input
 * ends). Encoding needs no alignment, and on a long text the offsets are four times the bytes.
 */
export class NormalizedBuffer {
  bytes = new Uint8Array(256);
  orig = new Uint32Array(257);
  length = 0;
  /** Whether `orig` is kept (set by the normalizer for each text). */
  aligned = true;

  /** Room for `extra` more bytes. */
  reserve(extra: number): void {
    const need = this.length + extra + 1;
    if (need > this.bytes.length) {
      let cap = this.bytes.length;
      while (cap < need) cap *= 2;
      const b = new Uint8Array(cap);
      b.set(this.bytes.subarray(0, this.length));
      this.bytes = b;
    }
    if (this.aligned && this.orig.length < this.bytes.length + 1) {
      const o = new Uint32Array(this.bytes.length + 1);
      o.set(this.orig.subarray(0, this.length));
      this.orig = o;
    }
  }
}

export class Normalizer {
  readonly spec: Required<NormalizerSpec>;
  private readonly charsMap: CharsMap | null;
  private readonly symbols: DoubleArrayTrie | null;
  private readonly treatWhitespaceAsSuffix: boolean;
  /** What a space becomes: U+2581 as UTF-8 when escaping whitespace, else " ". */
  readonly space: Uint8Array;
  // Scratch: the UTF-8 input, and the result of the last normalizeInto / normalizeString.
  private input = new Uint8Array(256);
  private readonly out = new NormalizedBuffer();
  // Set by step(): the replacement is src[repBegin, repEnd), consuming stepLength input bytes.
  private src: Uint8Array = REPLACEMENT_BYTES;
  private repBegin = 0;
  private repEnd = 0;
  private stepLength = 0;

  constructor(spec: NormalizerSpec | undefined, options: NormalizerOptions = {}) {
    this.spec = normalizerSpecWithDefaults(spec);
    const where = options.fileName ?? "<model>";
    const blob = this.spec.precompiledCharsmap;
    this.charsMap = blob.length > 0 ? new CharsMap(blob, where) : null;
    this.symbols = buildSymbolTrie(options.userDefinedSymbols ?? []);
    this.treatWhitespaceAsSuffix = options.treatWhitespaceAsSuffix ?? false;
    this.space = this.spec.escapeWhitespaces ? SPACE_SYMBOL_BYTES : Uint8Array.of(SPACE);
  }

  /** Normalizes `text` (e.g. "Hello  world" → "▁Hello▁world" with the default spec). */
  normalize(text: string): string {
    const out = this.normalizeString(text);
    return utf8Decode(out.bytes.subarray(0, out.length));
  }

  /**
   * One step: the replacement for the text at `pos` and how many input bytes it consumes.
   * User-defined symbols are kept as they are; then the longest charsmap rule; else one
   * character (a malformed byte → U+FFFD, consuming that byte).
   */
  normalizePrefix(input: Uint8Array, pos: number): [Uint8Array, number] {
    this.step(input, pos, input.length, false);
    return [this.src.subarray(this.repBegin, this.repEnd), this.stepLength];
  }

  private step(input: Uint8Array, pos: number, end: number, trusted: boolean): void {
    if (this.symbols) {
      const n = longestMatch(this.symbols, input, pos, end);
      if (n > 0) return this.setStep(input, pos, pos + n, n);
    }
    const cm = this.charsMap;
    if (cm && cm.startsRule[input[pos]!]) {
      const n = cm.longest(input, pos, end);
      if (n > 0) return this.setStep(cm.table, cm.replacementBegin, cm.replacementEnd, n);
    }
    const n = trusted ? Math.min(oneCharLen(input[pos]!), end - pos) : validCharLength(input, pos, end);
    if (n === 0) return this.setStep(REPLACEMENT_BYTES, 0, REPLACEMENT_BYTES.length, 1);
    this.setStep(input, pos, pos + n, n);
  }

  private setStep(src: Uint8Array, begin: number, end: number, consumed: number): void {
    this.src = src;
    this.repBegin = begin;
    this.repEnd = end;
    this.stepLength = consumed;
  }

  /**
   * Normalizes a string into this normalizer's scratch buffer, which stays valid until the
   * next call (the encoders read it at once). A lone surrogate becomes U+FFFD, as TextEncoder
   * writes it.
   */
  normalizeString(text: string): NormalizedBuffer {
    if (this.input.length < text.length * 3) this.input = new Uint8Array(Math.max(text.length * 3, this.input.length * 2));
    const n = text.length === 0 ? 0 : encoder.encodeInto(text, this.input).written;
    this.normalizeInto(this.input, n, true, this.out, false);
    return this.out;
  }

  /** Normalizes UTF-8 bytes into the scratch buffer (see normalizeString); `valid`: well-formed for sure. */
  normalizeUtf8(bytes: Uint8Array, valid: boolean): NormalizedBuffer {
    this.normalizeInto(bytes, bytes.length, valid, this.out, false);
    return this.out;
  }

  /** Normalizes and keeps the normalized→original byte alignment. */
  normalizeWithAlignment(text: string | Uint8Array): NormalizedText {
    if (typeof text !== "string" && !(text instanceof Uint8Array)) {
      throw new TypeError(`Normalizer: expected a string, got ${text === null ? "null" : typeof text}`);
    }
    const input = typeof text === "string" ? utf8Encode(text) : text;
    const out = this.out;
    this.normalizeInto(input, input.length, typeof text === "string", out);
    const bytes = out.bytes.slice(0, out.length);
    return { normalized: utf8Decode(bytes), bytes, normToOrig: out.orig.slice(0, out.length + 1), original: input };
  }

  /**
   * The normalizer proper: input[0, end) → `out`. `trusted`: the input is valid UTF-8 (it came
   * from a string), so characters need no validation. `aligned`: keep out.orig.
   */
  normalizeInto(input: Uint8Array, end: number, trusted: boolean, out: NormalizedBuffer, aligned = true): void {
    const spec = this.spec;
    out.length = 0;
    out.aligned = aligned;
    let pos = 0;

    // Leading whitespace goes when remove_extra_whitespaces is on.
    if (spec.removeExtraWhitespaces) {
      while (pos < end) {
        this.step(input, pos, end, trusted);
        if (!(this.repEnd - this.repBegin === 1 && this.src[this.repBegin] === SPACE)) break;
        pos += this.stepLength;
      }
    }
    if (pos >= end) {
      if (aligned) out.orig[0] = 0;
      return;
    }

    // Room for every remaining input byte to become 3 (a space → U+2581) plus the dummy spaces;
    // the loop keeps this true, so the fast paths write without checking.
    out.reserve(3 * (end - pos) + 8);
    if (!this.treatWhitespaceAsSuffix && spec.addDummyPrefix) this.putSpace(out, pos);
    const removeExtra = spec.removeExtraWhitespaces;
    const escapeSpaces = spec.escapeWhitespaces;
    const plain = this.symbols === null; // no user-defined symbols: characters need no symbol lookup
    const cm = this.charsMap;
    const pairs = cm ? cm.pairs : NO_RULES;
    const space = this.space,
      wide = space.length === 3;
    let prevWasSpace = removeExtra;
    // The output cursor lives in locals on the fast paths; `out` is synced around slow steps.
    let bytes = out.bytes,
      orig = out.orig,
      at = out.length;
    while (pos < end) {
      const b = input[pos]!;
      if (plain && (b < 0x80 || (trusted && b >= 0xc0))) {
        // A character no rule can match here (no rule pair starts at it): copied as it is,
        // a space escaped or squeezed. Input offsets equal `pos` (every byte is consumed once).
        const pair = (b << 8) | (pos + 1 < end ? input[pos + 1]! : 0);
        const ruled = pairs[pair >> 3]! & (1 << (pair & 7));
        if (b === SPACE && !ruled) {
          if (!prevWasSpace) {
            if (wide) {
              bytes[at] = space[0]!;
              bytes[at + 1] = space[1]!;
              bytes[at + 2] = space[2]!;
              if (aligned) orig[at] = orig[at + 1] = orig[at + 2] = pos;
              at += 3;
            } else {
              if (aligned) orig[at] = pos;
              bytes[at++] = SPACE;
            }
          }
          prevWasSpace = removeExtra;
          pos++;
          continue;
        }
        if (b < 0x80) {
          if (!ruled) {
            if (aligned) orig[at] = pos;
            bytes[at++] = b;
            prevWasSpace = false;
            pos++;
            continue;
          }
        } else if (!ruled || cm!.longest(input, pos, end) === 0) {
          const len = Math.min(b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4, end - pos);
          for (let k = 0; k < len; k++) {
            if (aligned) orig[at] = pos;
            bytes[at++] = input[pos + k]!;
          }
          prevWasSpace = false;
          pos += len;
          continue;
        }
      }
      out.length = at;
      this.step(input, pos, end, trusted);
      const src = this.src,
        repEnd = this.repEnd;
      let start = this.repBegin;
      // Squeeze: drop spaces that follow a space.
      if (prevWasSpace) while (start < repEnd && src[start] === SPACE) start++;
      if (start < repEnd) {
        out.reserve((repEnd - start) * 3 + 3 * (end - pos) + 8);
        for (let i = start; i < repEnd; i++) {
          const c = src[i]!;
          if (escapeSpaces && c === SPACE) this.putSpace(out, pos);
          else {
            if (aligned) out.orig[out.length] = pos;
            out.bytes[out.length++] = c;
          }
        }
        prevWasSpace = src[repEnd - 1] === SPACE;
      }
      pos += this.stepLength;
      if (!removeExtra) prevWasSpace = false;
      bytes = out.bytes;
      orig = out.orig;
      at = out.length;
    }
    out.length = at;
    let consumed = pos;

    // Trailing whitespace goes too.
    if (removeExtra) {
      while (endsWith(out, space)) {
        out.length -= space.length;
        if (aligned) consumed = out.orig[out.length]!;
      }
    }
    if (this.treatWhitespaceAsSuffix && spec.addDummyPrefix) this.putSpace(out, consumed);
    if (aligned) out.orig[out.length] = consumed;
  }

  private putSpace(out: NormalizedBuffer, origOffset: number): void {
    const space = this.space,
      bytes = out.bytes,
      orig = out.orig;
    let at = out.length;
    if (space.length === 3) {
      bytes[at] = space[0]!;
      bytes[at + 1] = space[1]!;
      bytes[at + 2] = space[2]!;
      if (out.aligned) orig[at] = orig[at + 1] = orig[at + 2] = origOffset;
      out.length = at + 3;
      return;
    }
    for (let i = 0; i < space.length; i++) {
      if (out.aligned) orig[at] = origOffset;
      bytes[at++] = space[i]!;
    }
    out.length = at;
  }
}

const encoder = new TextEncoder();
/** The rule-pair table of a normalizer without a charsmap: no rule anywhere. */
const NO_RULES = new Uint8Array(1 << 13);

function endsWith(out: NormalizedBuffer, suffix: Uint8Array): boolean {
  if (out.length < suffix.length) return false;
  for (let i = 0; i < suffix.length; i++) if (out.bytes[out.length - suffix.length + i] !== suffix[i]) return false;
  return true;
}
