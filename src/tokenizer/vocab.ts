// The vocabulary of a SentencePiece model: piece ↔ id, scores, types, and the checks the
// library makes when it loads a model (non-empty unique pieces, exactly one UNKNOWN).

import { PrefixMatcher } from "./byte_trie.js";
import { PieceType, pieceTypeOf, type ModelProto } from "./model_proto.js";
import { PieceTrie } from "./piece_trie.js";
import { buildSymbolTrie } from "./user_symbols.js";

/** A piece chosen by an encoder: byte range [begin, end) of the normalized text, and its id. */
export interface EncodedPiece {
  begin: number;
  end: number;
  id: number;
}

/** Byte pieces look like `<0x0A>`: uppercase hex, two digits. */
export function byteToPiece(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
}

/** The byte of a `<0xNN>` piece, or -1. */
export function pieceToByte(piece: string): number {
  const m = /^<0x([0-9A-F]{2})>$/.exec(piece);
  return m ? parseInt(m[1]!, 16) : -1;
}

export class Vocab {
  readonly size: number;
  readonly pieces: string[];
  readonly scores: Float32Array;
  readonly types: Uint8Array;
  readonly unkId: number;
  /** NORMAL, USER_DEFINED and UNUSED pieces: the ones segmentation may produce. */
  readonly normalPieces = new Map<string, number>();
  /** CONTROL, UNKNOWN and BYTE pieces: only reachable by id or by exact name. */
  readonly reservedPieces = new Map<string, number>();
  readonly userDefinedSymbols: string[] = [];
  /** Matches user-defined symbols (longest first) before segmentation. */
  readonly prefixMatcher: PrefixMatcher;

  constructor(proto: ModelProto, where: string) {
    const n = proto.pieces.length;
    this.size = n;
    this.pieces = new Array<string>(n);
    this.scores = new Float32Array(n);
    this.types = new Uint8Array(n);
    let unk = -1;
    for (let i = 0; i < n; i++) {
      const p = proto.pieces[i]!;
      const type = pieceTypeOf(p);
      if (typeof p.piece !== "string" || p.piece.length === 0) throw new Error(`${where}: ModelProto.pieces[${i}].piece: must not be empty`);
      if (type < PieceType.NORMAL || type > PieceType.BYTE) throw new Error(`${where}: ModelProto.pieces[${i}].type: unknown type ${type}`);
      this.pieces[i] = p.piece;
      this.scores[i] = p.score ?? 0;
      this.types[i] = type;
      const normal = type === PieceType.NORMAL || type === PieceType.USER_DEFINED || type === PieceType.UNUSED;
      const map = normal ? this.normalPieces : this.reservedPieces;
      if (map.has(p.piece)) throw new Error(`${where}: ModelProto.pieces[${i}].piece: '${p.piece}' is already defined`);
      map.set(p.piece, i);
      if (type === PieceType.USER_DEFINED) this.userDefinedSymbols.push(p.piece);
      if (type === PieceType.UNKNOWN) {
        if (unk >= 0) throw new Error(`${where}: ModelProto.pieces[${i}]: <unk> is already defined at id ${unk}`);
        unk = i;
      }
    }
    if (unk < 0) throw new Error(`${where}: ModelProto.pieces: no piece of type UNKNOWN (the model needs an <unk>)`);
    this.unkId = unk;
    this.prefixMatcher = new PrefixMatcher(this.userDefinedSymbols);
  }

  private pieceTrie: PieceTrie | null = null;
  private symbolTrie: PieceTrie | null | undefined = undefined;
  private byteIdTable: Int32Array | null = null;

  /**
   * NORMAL, USER_DEFINED and UNUSED pieces (the ones segmentation may produce) in a byte trie,
   * built on first use so that loading a model stays cheap.
   */
  get trie(): PieceTrie {
    if (!this.pieceTrie) {
      const encoder = new TextEncoder();
      let bytes = new Uint8Array(1 << 16);
      const trie = new PieceTrie(this.size * 8);
      for (let id = 0; id < this.size; id++) {
        const t = this.types[id];
        if (t !== PieceType.NORMAL && t !== PieceType.USER_DEFINED && t !== PieceType.UNUSED) continue;
        const piece = this.pieces[id]!;
        if (piece.length * 3 > bytes.length) bytes = new Uint8Array(piece.length * 3);
        const n = encoder.encodeInto(piece, bytes).written;
        trie.insert(bytes, 0, n, id);
      }
      this.pieceTrie = trie;
    }
    return this.pieceTrie;
  }

  /** The user-defined symbols as a trie (null when there are none). */
  get userSymbolTrie(): PieceTrie | null {
    if (this.symbolTrie === undefined) this.symbolTrie = buildSymbolTrie(this.userDefinedSymbols);
    return this.symbolTrie;
  }

  /** For each byte value, the id of its `<0xNN>` piece (the unk id when the model lacks it). */
  get byteIds(): Int32Array {
    if (!this.byteIdTable) {
      const ids = new Int32Array(256);
      for (let b = 0; b < 256; b++) ids[b] = this.pieceToId(byteToPiece(b));
      this.byteIdTable = ids;
    }
    return this.byteIdTable;
  }

  /** The id of `piece`; unknown pieces map to the unk id, as in the library. */
  pieceToId(piece: string): number {
    return this.reservedPieces.get(piece) ?? this.normalPieces.get(piece) ?? this.unkId;
  }

  isType(id: number, type: number): boolean {
    return id >= 0 && id < this.size && this.types[id] === type;
  }
}
