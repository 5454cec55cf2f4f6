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
  /** The piece texts once checked to be UTF-8 (parsed files only). */
  private texts: string[] | null = null;
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
      this.checkUnique();
      this.pieceList = this.decodedTexts()!;
    }
    return this.pieceList;
  }

  /**
   * The library's load checks on the piece texts (each is UTF-8; no text twice among the
   * normal pieces, nor twice among the reserved ones), made before the texts are first used
   * rather than at load: they read every byte of every piece, and loading stays cheap. The
   * trie build finds a normal piece given twice; the map of reserved pieces, a reserved one.
   */
  private checkUnique(): void {
    void this.trie;
    void this.reservedIds;
  }

  /** The texts of a parsed file, checked to be UTF-8 (null for a proto built in code, checked at load). */
  private decodedTexts(): string[] | null {
    if (!this.texts && this.columns) this.texts = decodePieceTexts(this.columns);
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
      const texts = this.decodedTexts()!;
      const map = new Map<string, number>();
      for (let i = 0; i < this.size; i++) {
        if (isNormalType(this.types[i]!)) continue;
        if (map.has(texts[i]!)) throw new Error(`${this.where}: ModelProto.pieces[${i}].piece: '${texts[i]}' is already defined`);
        map.set(texts[i]!, i);
      }
      this.reservedMap = map;
    }
    return this.reservedMap;
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
      const c = this.columns;
      if (c) {
        this.decodedTexts(); // UTF-8 first: the duplicate error quotes the text
        let n = 0;
        for (let id = 0; id < this.size; id++) if (isNormalType(this.types[id]!)) n++;
        const ids = new Int32Array(n),
          starts = new Int32Array(n),
          ends = new Int32Array(n);
        for (let id = 0, k = 0; id < this.size; id++) {
          if (!isNormalType(this.types[id]!)) continue;
          ids[k] = id;
          starts[k] = c.textStart[id]!;
          ends[k++] = c.textEnd[id]!;
        }
        this.pieceTrie = DoubleArrayTrie.build({ bytes: c.bytes, starts, ends, values: ids }, (_, later) => {
          const id = ids[later]!;
          throw new Error(`${this.where}: ModelProto.pieces[${id}].piece: '${pieceText(c, id)}' is already defined`);
        });
      } else {
        const ids: number[] = [];
        for (let id = 0; id < this.size; id++) if (isNormalType(this.types[id]!)) ids.push(id);
        this.pieceTrie = DoubleArrayTrie.fromStrings(
          ids.map((id) => this.pieces[id]!),
          ids,
        );
      }
    }
    return this.pieceTrie;
  }

  /**
   * Uses a piece trie built elsewhere (by another thread, for this same model, which made the
   * checks on the normal pieces).
   */
  adoptTrie(trie: DoubleArrayTrie): void {
    void this.reservedIds;
    this.pieceTrie = trie;
  }

  /**
   * The pieces' UTF-8 texts in one buffer: piece i is bytes[start[i], end[i]) (the file's
   * bytes when there is one), for scans that make no strings.
   */
  get textSpans(): { bytes: Uint8Array; start: Int32Array; end: Int32Array } {
    const c = this.columns;
    if (c) return { bytes: c.bytes, start: c.textStart, end: c.textEnd };
    const parts = this.pieces.map((p) => textEncoder.encode(p));
    const start = new Int32Array(this.size),
      end = new Int32Array(this.size);
    let at = 0;
    parts.forEach((p, i) => {
      start[i] = at;
      at += p.length;
      end[i] = at;
    });
    const bytes = new Uint8Array(at);
    parts.forEach((p, i) => bytes.set(p, start[i]!));
    return { bytes, start, end };
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

/**
 * Every piece's text, checked to be UTF-8 as the library does at load. The texts are copied,
 * each followed by a newline, into one buffer which one strict TextDecoder call checks and
 * decodes (an ASCII byte after each text keeps a text's broken end from pairing with the next
 * one's start); the string is then split at the newlines, or, when a piece has a newline of
 * its own, cut at UTF-16 offsets counted byte by byte.
 */
function decodePieceTexts(c: PieceColumns): string[] {
  const { bytes, textStart, textEnd, count } = c;
  let total = count;
  for (let i = 0; i < count; i++) total += textEnd[i]! - textStart[i]!;
  const joined = new Uint8Array(total);
  for (let i = 0, w = 0; i < count; i++) {
    const s = textStart[i]!,
      e = textEnd[i]!;
    joined.set(bytes.subarray(s, e), w);
    w += e - s;
    joined[w++] = 0x0a;
  }
  let all: string;
  try {
    all = strictDecoder.decode(joined);
  } catch {
    for (let i = 0; i < count; i++) pieceText(c, i); // throws, naming the first piece that is not UTF-8
    throw pieceUtf8Error(c, 0); // not reached
  }
  const texts = all.split("\n");
  texts.pop(); // after the last newline
  return texts.length === count ? texts : splitByUnits(all, c);
}

/** The texts of `all` (decoded from the texts of `c`, each followed by one byte), cut at UTF-16 offsets counted from the bytes. */
function splitByUnits(all: string, c: PieceColumns): string[] {
  const texts = new Array<string>(c.count);
  let from = 0;
  for (let i = 0; i < c.count; i++) {
    let units = 0;
    for (let k = c.textStart[i]!; k < c.textEnd[i]!; k++) {
      const b = c.bytes[k]!;
      if ((b & 0xc0) !== 0x80) units += b >= 0xf0 ? 2 : 1; // two units from U+10000
    }
    texts[i] = all.substring(from, from + units);
    from += units + 1;
  }
  return texts;
}
