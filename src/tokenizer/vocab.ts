// The vocabulary of a SentencePiece model: piece ↔ id, scores, types, and the checks the
// library makes when it loads a model (non-empty unique pieces, exactly one UNKNOWN).

import { PieceType, pieceColumnsOf, pieceText, pieceTypeOf, pieceUtf8Error, type ModelProto, type PieceColumns } from "./model_proto.js";
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
  /** The piece texts once checked (parsed files only). */
  private texts: PieceTexts | null = null;
  private normalMap: Map<string, number> | null = null;
  private reservedMap: Map<string, number> | null = null;

  constructor(proto: ModelProto, where: string) {
    const columns = pieceColumnsOf(proto);
    this.columns = columns;
    this.where = where;
    let unk = -1;
    const check = (i: number, type: number, empty: boolean): void => {
      if (empty) throw new Error(`${where}: ModelProto.pieces[${i}].piece: must not be empty`);
      if (type < PieceType.NORMAL || type > PieceType.BYTE) throw new Error(`${where}: ModelProto.pieces[${i}].type: unknown type ${type}`);
      if (type === PieceType.USER_DEFINED) this.userDefinedSymbols.push(columns ? pieceText(columns, i) : proto.pieces[i]!.piece);
      if (type === PieceType.UNKNOWN) {
        if (unk >= 0) throw new Error(`${where}: ModelProto.pieces[${i}]: <unk> is already defined at id ${unk}`);
        unk = i;
      }
    };
    if (columns) {
      // The columns are used as they are (no copy); only the few pieces that are not NORMAL
      // or have an empty text need a look.
      this.size = columns.count;
      this.scores = columns.scores;
      this.types = columns.types;
      for (const i of columns.unusual) check(i, columns.types[i]!, columns.textEnd[i] === columns.textStart[i]);
    } else {
      const n = proto.pieces.length;
      this.size = n;
      this.scores = new Float32Array(n);
      this.types = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const p = proto.pieces[i]!;
        const type = pieceTypeOf(p);
        check(i, type, typeof p.piece !== "string" || p.piece.length === 0);
        this.scores[i] = p.score ?? 0;
        this.types[i] = type;
      }
      this.pieceList = proto.pieces.map((p) => p.piece);
      this.buildMaps(where);
    }
    if (unk < 0) throw new Error(`${where}: ModelProto.pieces: no piece of type UNKNOWN (the model needs an <unk>)`);
    this.unkId = unk;
  }

  /** Piece texts by id (decoded from the file on first use, all in one TextDecoder call). */
  get pieces(): string[] {
    if (!this.pieceList) {
      const { all, start } = this.checkUnique()!;
      const list = new Array<string>(this.size);
      // Texts are separated by one character in `all`.
      for (let i = 0; i < this.size; i++) list[i] = all.substring(start[i]!, start[i + 1]! - 1);
      this.pieceList = list;
    }
    return this.pieceList;
  }

  /**
   * The library's load checks on the piece texts (each is UTF-8; no text twice among the
   * normal pieces, nor twice among the reserved ones), made before the texts are first used
   * rather than at load: they read every byte of every piece, and loading stays cheap. Returns
   * the texts of a parsed file; null for a proto built in code (checked at load).
   */
  private checkUnique(): PieceTexts | null {
    if (!this.texts && this.columns) this.texts = checkPieceTexts(this.columns, this.types, this.where);
    return this.texts;
  }

  /** Piece → id maps for a proto built in code (a parsed file uses the trie instead). */
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
    if (!this.columns) return this.reservedMap!.get(piece) ?? this.normalMap!.get(piece) ?? this.unkId;
    const reserved = this.reservedIds.get(piece);
    if (reserved !== undefined) return reserved;
    // Normal pieces through the trie, by their UTF-8 (a lone surrogate is in no piece: its
    // UTF-8 would be U+FFFD's).
    if (LONE_SURROGATE.test(piece)) return this.unkId;
    const bytes = textEncoder.encode(piece);
    const id = this.trie.lookup(bytes, 0, bytes.length);
    return id >= 0 ? id : this.unkId;
  }

  /** CONTROL, UNKNOWN and BYTE pieces by text (few: made on first use, not at load). */
  private get reservedIds(): Map<string, number> {
    if (!this.reservedMap) {
      this.checkUnique();
      const map = new Map<string, number>();
      for (let i = 0; i < this.size; i++) if (!isNormalType(this.types[i]!)) map.set(pieceText(this.columns!, i), i);
      this.reservedMap = map;
    }
    return this.reservedMap;
  }

  /** Piece `id`'s text as UTF-8 (a view of the file's bytes when there is one). */
  pieceBytes(id: number): Uint8Array {
    const c = this.columns;
    return c ? c.bytes.subarray(c.textStart[id]!, c.textEnd[id]!) : textEncoder.encode(this.pieces[id]!);
  }

  /** The UTF-8 length of piece `id`'s text. */
  pieceByteLength(id: number): number {
    const c = this.columns;
    return c ? c.textEnd[id]! - c.textStart[id]! : textEncoder.encode(this.pieces[id]!).length;
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

const textEncoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const LONE_SURROGATE = /\p{Surrogate}/u;

/** Every piece's text: piece i is all.substring(start[i], start[i + 1] - 1). */
interface PieceTexts {
  all: string;
  start: Int32Array;
}

/**
 * The library's load checks on the piece texts, on the file's bytes: no text twice among the
 * normal pieces, nor twice among the reserved ones (a hash set of byte ranges), and every text
 * UTF-8. The texts are copied, each followed by a space, into one buffer which one strict
 * TextDecoder call checks and decodes (an ASCII byte after each text keeps a text's broken
 * end from pairing with the next one's start); the UTF-16 offsets are counted on the way.
 */
function checkPieceTexts(c: PieceColumns, types: Uint8Array, where: string): PieceTexts {
  let cap = 1;
  while (cap < c.count * 2) cap *= 2;
  const slots = new Int32Array(cap); // id + 1, 0 = empty
  const bytes = c.bytes,
    count = c.count;
  let total = count;
  for (let i = 0; i < count; i++) total += c.textEnd[i]! - c.textStart[i]!;
  const joined = new Uint8Array(total);
  const start = new Int32Array(count + 1);
  let w = 0,
    units = 0;
  for (let i = 0; i < count; i++) {
    const s = c.textStart[i]!,
      e = c.textEnd[i]!,
      normal = isNormalType(types[i]!);
    start[i] = units;
    let h = normal ? 0x811c9dc5 | 0 : 0x01234567;
    for (let k = s; k < e; k++) {
      const b = bytes[k]!;
      h = Math.imul(h ^ b, 0x01000193);
      joined[w++] = b;
      // One UTF-16 unit per character, two from U+10000 (a 4-byte sequence).
      if ((b & 0xc0) !== 0x80) units += b >= 0xf0 ? 2 : 1;
    }
    joined[w++] = 0x20;
    units++;
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
  start[count] = units;
  let all: string;
  try {
    all = strictDecoder.decode(joined);
  } catch {
    for (let i = 0; i < count; i++) pieceText(c, i); // throws, naming the first piece that is not UTF-8
    throw pieceUtf8Error(c, 0); // not reached
  }
  return { all, start };
}

function sameBytes(b: Uint8Array, s1: number, e1: number, s2: number, e2: number): boolean {
  if (e1 - s1 !== e2 - s2) return false;
  for (let k = 0; k < e1 - s1; k++) if (b[s1 + k] !== b[s2 + k]) return false;
  return true;
}
