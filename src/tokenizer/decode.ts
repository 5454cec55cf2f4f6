// Pieces → text, as SentencePiece's Decode does it:
//   control pieces (<s>, </s>) → "";  <unk> → unk_surface (" ⁇ " by default); any other piece
//   that maps to the unk id (text not in the vocabulary) → itself;
//   a run of byte pieces <0xNN> → those bytes as UTF-8, each malformed byte → U+FFFD;
//   U+2581 → " ".
// The dummy-prefix space: while nothing has been output, a leading U+2581 is dropped (when
// the model adds a dummy prefix or removes extra whitespace). With remove_extra_whitespaces
// off only the first such space goes; with it on, every leading one.

import { PieceType } from "./model_proto.js";
import { SPACE_SYMBOL } from "./normalizer.js";
import { decodeBytesLikeSentencePiece } from "./utf8.js";
import { pieceToByte, type Vocab } from "./vocab.js";

export interface DecodeContext {
  vocab: Vocab;
  unkSurface: string;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
}

/**
 * The text of one non-byte piece. `atStart`: no text and no dropped prefix space so far.
 * Returns the text and whether a prefix space was dropped that ends the "start" state.
 */
export function pieceSurface(piece: string, id: number, atStart: boolean, ctx: DecodeContext): [string, boolean] {
  const type = ctx.vocab.types[id];
  if (type === PieceType.CONTROL) return ["", false];
  if (type === PieceType.UNKNOWN) return [ctx.vocab.pieces[id] === piece ? ctx.unkSurface : piece, false];
  let droppedSpace = false;
  if (atStart && (ctx.addDummyPrefix || ctx.removeExtraWhitespaces) && piece.startsWith(SPACE_SYMBOL)) {
    piece = piece.slice(SPACE_SYMBOL.length);
    // Removing extra whitespace means every leading space goes, so the start state goes on.
    droppedSpace = !ctx.removeExtraWhitespaces;
  }
  return [piece.replaceAll(SPACE_SYMBOL, " "), droppedSpace];
}

/** Tracks the "still at the start" state across pieces, shared by decode and streaming. */
export class StartState {
  private atStart = true;
  private spaceDropped = false;

  /** Call before each non-byte piece with whether any text was output; returns atStart. */
  next(textSoFar: boolean): boolean {
    if (this.spaceDropped || textSoFar) this.atStart = false;
    return this.atStart;
  }

  record(droppedSpace: boolean): void {
    this.spaceDropped = droppedSpace;
  }
}

export function decodePieces(pieces: readonly string[], ids: readonly number[], ctx: DecodeContext): string {
  let text = "";
  let bytes: number[] = [];
  const start = new StartState();
  const flushBytes = (): void => {
    if (bytes.length === 0) return;
    text += decodeBytesLikeSentencePiece(Uint8Array.from(bytes));
    bytes = [];
  };
  for (let i = 0; i < pieces.length; i++) {
    const id = ids[i]!;
    if (ctx.vocab.types[id] === PieceType.BYTE) {
      bytes.push(pieceToByte(pieces[i]!));
      continue;
    }
    flushBytes();
    const [surface, dropped] = pieceSurface(pieces[i]!, id, start.next(text.length > 0), ctx);
    start.record(dropped);
    text += surface;
  }
  flushBytes();
  return text;
}
