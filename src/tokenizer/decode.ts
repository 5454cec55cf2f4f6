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

/**
 * decodePieces for ids without byte pieces, on bytes: each piece's surface (U+2581 already a
 * space) is precomputed as UTF-8, the surfaces are copied into one buffer, and one TextDecoder
 * call makes the string. Same rules, same result; ids with byte pieces take decodePieces.
 */
export class SurfaceTable {
  private readonly bytes: Uint8Array;
  private readonly start: Int32Array;
  /** Per id: 0 plain, 1 its piece starts with U+2581, 2 control, 3 byte piece, 4 unknown. */
  private readonly kind: Uint8Array;
  private out = new Uint8Array(4096);
  private readonly decoder = new TextDecoder("utf-8", { ignoreBOM: true });

  constructor(private readonly ctx: DecodeContext) {
    const { vocab } = ctx;
    const encoder = new TextEncoder();
    const parts: Uint8Array[] = new Array(vocab.size);
    this.kind = new Uint8Array(vocab.size);
    this.start = new Int32Array(vocab.size + 1);
    const unk = encoder.encode(ctx.unkSurface);
    let total = 0;
    for (let id = 0; id < vocab.size; id++) {
      const type = vocab.types[id];
      let surface: Uint8Array;
      if (type === PieceType.CONTROL || type === PieceType.BYTE) {
        this.kind[id] = type === PieceType.CONTROL ? 2 : 3;
        surface = EMPTY;
      } else if (type === PieceType.UNKNOWN) {
        this.kind[id] = 4;
        surface = unk;
      } else {
        const piece = vocab.pieces[id]!;
        this.kind[id] = piece.startsWith(SPACE_SYMBOL) ? 1 : 0;
        surface = encoder.encode(piece.replaceAll(SPACE_SYMBOL, " "));
      }
      parts[id] = surface;
      total += surface.length;
    }
    this.bytes = new Uint8Array(total);
    let at = 0;
    for (let id = 0; id < vocab.size; id++) {
      this.start[id] = at;
      this.bytes.set(parts[id]!, at);
      at += parts[id]!.length;
    }
    this.start[vocab.size] = at;
  }

  /** The text of `ids` (each already checked to be in range), or null when one is a byte piece. */
  decode(ids: readonly number[]): string | null {
    const { kind, start, bytes } = this;
    let need = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (kind[id] === 3) return null;
      need += start[id + 1]! - start[id]!;
    }
    if (this.out.length < need) this.out = new Uint8Array(Math.max(need, this.out.length * 2));
    const out = this.out;
    const dropLeading = this.ctx.addDummyPrefix || this.ctx.removeExtraWhitespaces;
    const removeExtra = this.ctx.removeExtraWhitespaces;
    // The StartState rules: a leading U+2581 goes while nothing has been written.
    let n = 0,
      atStart = true,
      spaceDropped = false;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!,
        k = kind[id]!;
      if (spaceDropped || n > 0) atStart = false;
      let s = start[id]!;
      const e = start[id + 1]!;
      spaceDropped = false;
      if (k === 1 && atStart && dropLeading) {
        s++; // the space U+2581 became
        spaceDropped = !removeExtra;
      }
      for (; s < e; s++) out[n++] = bytes[s]!;
    }
    return this.decoder.decode(out.subarray(0, n));
  }
}

const EMPTY = new Uint8Array(0);
