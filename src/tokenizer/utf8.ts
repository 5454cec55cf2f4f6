// UTF-8 helpers with SentencePiece's exact rules for malformed input.
//
// SentencePiece decodes UTF-8 by hand: an invalid sequence (bad lead or trail byte, overlong
// form, surrogate, > U+10FFFF, truncated) counts as ONE byte that stands for U+FFFD. We need
// the same rule for normalization (malformed input) and for decoding byte-fallback pieces.

export const REPLACEMENT_CHAR = "\uFFFD";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decodes bytes already known to be valid UTF-8 (a BOM is kept, not stripped). */
export function utf8Decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

function isTrail(b: number | undefined): boolean {
  return b !== undefined && (b & 0xc0) === 0x80;
}

function isValidCodepoint(c: number): boolean {
  return c < 0xd800 || (c >= 0xe000 && c <= 0x10ffff);
}

/**
 * Length in bytes of the valid UTF-8 character at `pos`, or 0 when the bytes there are not a
 * valid character (SentencePiece then consumes one byte as U+FFFD).
 */
export function validCharLength(bytes: Uint8Array, pos: number, end = bytes.length): number {
  const b0 = bytes[pos]!;
  const left = end - pos;
  if (b0 < 0x80) return 1;
  if (left >= 2 && (b0 & 0xe0) === 0xc0) {
    const cp = ((b0 & 0x1f) << 6) | (bytes[pos + 1]! & 0x3f);
    if (isTrail(bytes[pos + 1]) && cp >= 0x80) return 2;
  } else if (left >= 3 && (b0 & 0xf0) === 0xe0) {
    const cp = ((b0 & 0x0f) << 12) | ((bytes[pos + 1]! & 0x3f) << 6) | (bytes[pos + 2]! & 0x3f);
    if (isTrail(bytes[pos + 1]) && isTrail(bytes[pos + 2]) && cp >= 0x800 && isValidCodepoint(cp)) return 3;
  } else if (left >= 4 && (b0 & 0xf8) === 0xf0) {
    const cp = ((b0 & 0x07) << 18) | ((bytes[pos + 1]! & 0x3f) << 12) | ((bytes[pos + 2]! & 0x3f) << 6) | (bytes[pos + 3]! & 0x3f);
    if (isTrail(bytes[pos + 1]) && isTrail(bytes[pos + 2]) && isTrail(bytes[pos + 3]) && cp >= 0x10000 && isValidCodepoint(cp)) return 4;
  }
  return 0;
}

/** Whether `bytes` are valid UTF-8 throughout (node:buffer's isUtf8, in plain JS for browsers too). */
export function isValidUtf8(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; ) {
    const n = validCharLength(bytes, i);
    if (n === 0) return false;
    i += n;
  }
  return true;
}

/**
 * Decodes arbitrary bytes as SentencePiece does when it reassembles byte-fallback pieces:
 * every byte that does not start a valid character becomes one U+FFFD.
 */
export function decodeBytesLikeSentencePiece(bytes: Uint8Array): string {
  let out = "";
  let pos = 0;
  while (pos < bytes.length) {
    const n = validCharLength(bytes, pos);
    if (n === 0) {
      out += REPLACEMENT_CHAR;
      pos += 1;
    } else {
      out += decoder.decode(bytes.subarray(pos, pos + n));
      pos += n;
    }
  }
  return out;
}

/** The number of bytes the UTF-8 character starting with byte `b` claims (1 for stray bytes). */
export function oneCharLen(b: number): number {
  return b < 0xc0 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
}
