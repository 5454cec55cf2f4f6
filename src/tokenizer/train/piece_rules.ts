// Which strings may become pieces: SentencePiece's TrainerInterface::IsValidSentencePiece.
// Both trainers ask it before they consider a candidate piece.
import { scriptOf, SCRIPT_HAN, SCRIPT_HIRAGANA, SCRIPT_INHERITED, SCRIPT_KATAKANA } from "./unicode_script.js";

/** U+2581, the visible space of normalized text. */
export const WS_CHAR = 0x2581;
/** U+2585, stands for every character outside the kept alphabet during training. */
export const UNK_CHAR = 0x2585;
/** Tab: meta pieces found in the text are replaced by it, and no piece may contain it. */
export const BOUNDARY_CHAR = 0x09;

export interface PieceRules {
  maxSentencepieceLength: number;
  splitByWhitespace: boolean;
  splitByUnicodeScript: boolean;
  splitByNumber: boolean;
  splitDigits: boolean;
  treatWhitespaceAsSuffix: boolean;
  allowWhitespaceOnlyPieces: boolean;
}

const ANY_SCRIPT = -1;

/** 0-9 and the full-width digits, as the library defines a decimal number. */
export function isDecimalDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0xff10 && c <= 0xff19);
}

function isValidCodepoint(c: number): boolean {
  return c < 0xd800 || (c >= 0xe000 && c <= 0x10ffff);
}

/**
 * True when the code points `piece[begin..end)` may form one piece. With `asPrefix`, true when
 * some longer piece starting with them might be valid (a trailing space symbol is then allowed).
 */
export function isValidPiece(piece: ArrayLike<number>, rules: PieceRules, begin = 0, end = piece.length, asPrefix = false): boolean {
  const size = end - begin;
  if (size <= 0 || size > rules.maxSentencepieceLength) return false;

  let allWhitespace = true;
  for (let i = begin; i < end; i++)
    if (piece[i] !== WS_CHAR) {
      allWhitespace = false;
      break;
    }

  let prevScript = ANY_SCRIPT;
  for (let pos = 0; pos < size; pos++) {
    const c = piece[begin + pos]!;
    if (c === UNK_CHAR || c === 0 || c === BOUNDARY_CHAR || c === 0x20 || !isValidCodepoint(c)) return false;
    if (c === WS_CHAR) {
      // The space symbol may only start a piece (end it, with treat_whitespace_as_suffix);
      // without split_by_whitespace it may also sit inside ("foo▁bar"), never at the far end.
      if (rules.allowWhitespaceOnlyPieces && allWhitespace) continue;
      if (rules.treatWhitespaceAsSuffix) {
        if ((rules.splitByWhitespace && pos < size - 1) || (!rules.splitByWhitespace && pos < size - 1 && pos === 0)) return false;
      } else if ((rules.splitByWhitespace && pos > 0) || (!rules.splitByWhitespace && !asPrefix && pos > 0 && pos === size - 1)) {
        return false;
      }
      continue;
    }
    let s = scriptOf(c);
    // Hiragana and Katakana (and the long vowel mark) count as Han; combining marks take the
    // script of what they follow.
    if (s === SCRIPT_HIRAGANA || s === SCRIPT_KATAKANA || c === 0x30fc) s = SCRIPT_HAN;
    else if (s === SCRIPT_INHERITED) s = prevScript;
    const digit = isDecimalDigit(c);
    if (!rules.splitByNumber && digit) s = ANY_SCRIPT;
    if (rules.splitDigits && digit && size > 1) return false;
    if (rules.splitByUnicodeScript && s !== ANY_SCRIPT && prevScript !== ANY_SCRIPT && prevScript !== s) return false;
    prevScript = s;
  }
  return true;
}
