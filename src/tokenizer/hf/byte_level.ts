// GPT-2's byte-level alphabet: every byte 0..255 gets a printable character, so any UTF-8 text
// becomes a string of vocabulary characters with no unknowns. Printable Latin-1 bytes stand for
// themselves; the rest (controls, space, 0x7F-0xA0, 0xAD) move to U+0100 and up, in byte order.
// A space is "Ġ" (U+0120), a newline "Ċ" (U+010A).

/** BYTE_TO_CHAR[b]: the character standing for byte b. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** The byte a byte-level character stands for (undefined for other characters). */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

function buildByteToChar(): string[] {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(printable(b) ? b : next++);
  return table;
}

const encoder = new TextEncoder();

/** The byte-level spelling of text: its UTF-8 bytes, each as its character. */
export function toByteLevel(text: string): string {
  let out = "";
  for (const b of encoder.encode(text)) out += BYTE_TO_CHAR[b];
  return out;
}

/**
 * The bytes a byte-level token spells. A token with a character outside the alphabet (an added
 * token such as "<｜end▁of▁sentence｜>") stands for its own UTF-8 bytes, as in the Rust library.
 */
export function fromByteLevel(token: string, out: number[]): void {
  const start = out.length;
  for (const c of token) {
    const b = CHAR_TO_BYTE.get(c);
    if (b === undefined) {
      out.length = start;
      for (const raw of encoder.encode(token)) out.push(raw);
      return;
    }
    out.push(b);
  }
}
