// Incremental decoding for generation: push one id at a time, get the text it adds.
// Byte-fallback pieces can split one character (a Korean syllable, an emoji) over several ids;
// the decoder holds back an incomplete UTF-8 sequence until it completes, so it never emits
// half a character. The concatenation of everything returned equals decode(allIds).

import { pieceSurface, StartState, type DecodeContext } from "./decode.js";
import { PieceType } from "./model_proto.js";
import { decodeBytesLikeSentencePiece, oneCharLen, validCharLength } from "./utf8.js";
import { pieceToByte } from "./vocab.js";

/** True when bytes[pos..] is a proper prefix of a character that more bytes could complete. */
function mayComplete(bytes: number[], pos: number): boolean {
  const lead = bytes[pos]!;
  if (lead < 0xc2 || lead > 0xf4) return false;
  const need = oneCharLen(lead);
  if (bytes.length - pos >= need) return false;
  for (let i = pos + 1; i < bytes.length; i++) if ((bytes[i]! & 0xc0) !== 0x80) return false;
  return true;
}

export class StreamDecoder {
  private pending: number[] = [];
  private emittedAny = false;
  private readonly start = new StartState();
  private readonly ctx: DecodeContext;

  constructor(ctx: DecodeContext) {
    this.ctx = ctx;
  }

  /** Adds one id; returns the text that is now final (possibly ""). */
  push(id: number): string {
    const vocab = this.ctx.vocab;
    if (!Number.isInteger(id) || id < 0 || id >= vocab.size)
      throw new RangeError(`piece id ${id} is out of range (vocabulary size ${vocab.size})`);
    if (vocab.types[id] === PieceType.BYTE) {
      this.pending.push(pieceToByte(vocab.pieces[id]!));
      return this.emit(this.takeCompleteBytes());
    }
    let out = this.takeAllBytes();
    const atStart = this.start.next(this.emittedAny || out.length > 0);
    const [surface, dropped] = pieceSurface(vocab.pieces[id]!, id, atStart, this.ctx);
    this.start.record(dropped);
    out += surface;
    return this.emit(out);
  }

  /** Ends the stream: any held-back bytes come out (malformed ones as U+FFFD). */
  flush(): string {
    return this.emit(this.takeAllBytes());
  }

  private emit(text: string): string {
    if (text.length > 0) this.emittedAny = true;
    return text;
  }

  private takeAllBytes(): string {
    const text = decodeBytesLikeSentencePiece(Uint8Array.from(this.pending));
    this.pending = [];
    return text;
  }

  /** Decodes the pending bytes up to an incomplete trailing character, which stays pending. */
  private takeCompleteBytes(): string {
    const bytes = Uint8Array.from(this.pending);
    let pos = 0;
    while (pos < bytes.length) {
      const n = validCharLength(bytes, pos);
      if (n > 0) {
        pos += n;
        continue;
      }
      if (mayComplete(this.pending, pos)) break;
      pos += 1;
    }
    const text = decodeBytesLikeSentencePiece(bytes.subarray(0, pos));
    this.pending = this.pending.slice(pos);
    return text;
  }
}
