// The vocabulary of a SentencePiece model: piece ↔ id, scores, types, and the checks the
// library makes when it loads a model (non-empty unique pieces, exactly one UNKNOWN).

import { PieceType, pieceColumnsOf, pieceText, pieceTypeOf, type ModelProto, type PieceColumns } from "./model_proto.js";
import { DoubleArrayTrie } from "./double_array_trie.js";
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
  readonly scores: Float32Array;
  readonly types: Uint8Array;
  readonly unkId: number;
  readonly userDefinedSymbols: string[] = [];
  /** The parsed file's piece columns (texts are decoded from them on demand), or null. */
  private readonly columns: PieceColumns | null;
  private pieceList: string[] | null = null;
  /** Names the model in errors. */
  private readonly where: string;
  private uniqueChecked = false;
  private normalMap: Map<string, number> | null = null;
  private reservedMap: Map<string, number> | null = null;

  constructor(proto: ModelProto, where: string) {
    const columns = pieceColumnsOf(proto);
    this.columns = columns;
    const n = columns ? columns.count : proto.pieces.length;
    this.size = n;
    this.scores = new Float32Array(n);
    this.types = new Uint8Array(n);
    let unk = -1;
    if (columns) {
      // Typed copies (done natively); the loop below then only checks.
      this.scores.set(columns.scores.subarray(0, n));
      this.types.set(columns.types.subarray(0, n));
    }
    for (let i = 0; i < n; i++) {
      let type: number;
      if (columns) {
        type = columns.types[i]!;
        if (type === PieceType.NORMAL && columns.textEnd[i]! > columns.textStart[i]!) continue; // the usual piece
        if (columns.textEnd[i] === columns.textStart[i]) throw new Error(`${where}: ModelProto.pieces[${i}].piece: must not be empty`);
      } else {
        const p = proto.pieces[i]!;
        type = pieceTypeOf(p);
        if (typeof p.piece !== "string" || p.piece.length === 0)
          throw new Error(`${where}: ModelProto.pieces[${i}].piece: must not be empty`);
        this.scores[i] = p.score ?? 0;
      }
      if (type < PieceType.NORMAL || type > PieceType.BYTE) throw new Error(`${where}: ModelProto.pieces[${i}].type: unknown type ${type}`);
      this.types[i] = type;
      if (type === PieceType.USER_DEFINED) this.userDefinedSymbols.push(columns ? pieceText(columns, i) : proto.pieces[i]!.piece);
      if (type === PieceType.UNKNOWN) {
        if (unk >= 0) throw new Error(`${where}: ModelProto.pieces[${i}]: <unk> is already defined at id ${unk}`);
        unk = i;
      }
    }
    this.where = where;
    if (!columns) {
      this.pieceList = proto.pieces.map((p) => p.piece);
      this.buildMaps(where);
    }
    if (unk < 0) throw new Error(`${where}: ModelProto.pieces: no piece of type UNKNOWN (the model needs an <unk>)`);
    this.unkId = unk;
  }

  /** Piece texts by id (decoded from the file on first use). */
  get pieces(): string[] {
    if (!this.pieceList) {
      this.checkUnique();
      const c = this.columns!;
      const list = new Array<string>(c.count);
      for (let i = 0; i < c.count; i++) list[i] = pieceText(c, i);
      this.pieceList = list;
    }
    return this.pieceList;
  }

  /**
   * The library's duplicate-piece check, made before the piece texts are first used rather
   * than at load (it reads every byte of every piece; loading stays cheap).
   */
  private checkUnique(): void {
    if (this.uniqueChecked) return;
    if (this.columns) checkUniqueTexts(this.columns, this.types, this.where);
    this.uniqueChecked = true;
  }

  /** NORMAL, USER_DEFINED and UNUSED pieces: the ones segmentation may produce. */
  get normalPieces(): Map<string, number> {
    if (!this.normalMap) this.buildMaps("<model>");
    return this.normalMap!;
  }

  /** CONTROL, UNKNOWN and BYTE pieces: only reachable by id or by exact name. */
  get reservedPieces(): Map<string, number> {
    if (!this.reservedMap) this.buildMaps("<model>");
    return this.reservedMap!;
  }

  private buildMaps(where: string): void {
    const normal = new Map<string, number>(),
      reserved = new Map<string, number>();
    const pieces = this.pieces;
    for (let i = 0; i < this.size; i++) {
      const map = isNormalType(this.types[i]!) ? normal : reserved;
      if (map.has(pieces[i]!)) throw new Error(`${where}: ModelProto.pieces[${i}].piece: '${pieces[i]}' is already defined`);
      map.set(pieces[i]!, i);
    }
    this.normalMap = normal;
    this.reservedMap = reserved;
  }

  /** The id of `piece`; unknown pieces map to the unk id, as in the library. */
  pieceToId(piece: string): number {
    return this.reservedPieces.get(piece) ?? this.normalPieces.get(piece) ?? this.unkId;
  }

  /** The UTF-8 length of piece `id`'s text. */
  pieceByteLength(id: number): number {
    const c = this.columns;
    return c ? c.textEnd[id]! - c.textStart[id]! : Buffer.byteLength(this.pieces[id]!);
  }

  isType(id: number, type: number): boolean {
    return id >= 0 && id < this.size && this.types[id] === type;
  }

  private pieceTrie: DoubleArrayTrie | null = null;
  private symbolTrie: DoubleArrayTrie | null | undefined = undefined;
  private byteIdTable: Int32Array | null = null;

  /**
   * NORMAL, USER_DEFINED and UNUSED pieces (the ones segmentation may produce) in a byte trie,
   * built on first use so that loading a model stays cheap.
   */
  get trie(): DoubleArrayTrie {
    if (!this.pieceTrie) {
      this.checkUnique();
      const ids: number[] = [];
      for (let id = 0; id < this.size; id++) if (isNormalType(this.types[id]!)) ids.push(id);
      const c = this.columns;
      if (c) {
        const starts = ids.map((id) => c.textStart[id]!);
        const ends = ids.map((id) => c.textEnd[id]!);
        this.pieceTrie = DoubleArrayTrie.build({ bytes: c.bytes, starts, ends, values: ids });
      } else {
        this.pieceTrie = DoubleArrayTrie.fromStrings(
          ids.map((id) => this.pieces[id]!),
          ids,
        );
      }
    }
    return this.pieceTrie;
  }

  /** Uses a piece trie built elsewhere (by another thread, for this same model). */
  adoptTrie(trie: DoubleArrayTrie): void {
    this.checkUnique();
    this.pieceTrie = trie;
  }

  /** The user-defined symbols as a trie (null when there are none). */
  get userSymbolTrie(): DoubleArrayTrie | null {
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
}

function isNormalType(t: number): boolean {
  return t === PieceType.NORMAL || t === PieceType.USER_DEFINED || t === PieceType.UNUSED;
}

/**
 * The library's load check: no piece text twice among the normal pieces, nor twice among the
 * reserved ones. Done on the file's bytes (a hash set of byte ranges), so no strings are made.
 */
function checkUniqueTexts(c: PieceColumns, types: Uint8Array, where: string): void {
  let cap = 1;
  while (cap < c.count * 2) cap *= 2;
  const slots = new Int32Array(cap); // id + 1, 0 = empty
  const bytes = c.bytes;
  for (let i = 0; i < c.count; i++) {
    const s = c.textStart[i]!,
      e = c.textEnd[i]!,
      normal = isNormalType(types[i]!);
    let h = normal ? 0x811c9dc5 | 0 : 0x01234567;
    for (let k = s; k < e; k++) h = Math.imul(h ^ bytes[k]!, 0x01000193);
    let slot = (h ^ (h >>> 16)) & (cap - 1);
    for (;;) {
      const j = slots[slot]! - 1;
      if (j < 0) break;
      if (isNormalType(types[j]!) === normal && sameBytes(bytes, s, e, c.textStart[j]!, c.textEnd[j]!)) {
        throw new Error(`${where}: ModelProto.pieces[${i}].piece: '${pieceText(c, i)}' is already defined`);
      }
      slot = (slot + 1) & (cap - 1);
    }
    slots[slot] = i + 1;
  }
}

function sameBytes(b: Uint8Array, s1: number, e1: number, s2: number, e2: number): boolean {
  if (e1 - s1 !== e2 - s2) return false;
  for (let k = 0; k < e1 - s1; k++) if (b[s1 + k] !== b[s2 + k]) return false;
  return true;
}
