// The pieces that are not learned: <unk>, <s>, </s>, <pad>, control and user-defined symbols
// and the 256 byte pieces, with the ids they get (TrainerInterface::InitMetaPieces).
import { PieceType } from "../model_proto.js";
import { TrainerOptionError, type ResolvedOptions } from "../trainer_options.js";

export interface MetaPiece {
  piece: string;
  type: number;
}

/** `<0xAB>`: the piece for one byte (uppercase hex, as the library writes it). */
export function bytePiece(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
}

/** id → meta piece. Special ids first, then symbols fill the lowest free ids in order. */
export function metaPieces(o: ResolvedOptions): Map<number, MetaPiece> {
  const meta = new Map<number, MetaPiece>();
  let hasUnk = false;
  const insertId = (name: string, id: number, piece: string): void => {
    if (id < 0) return;
    if (id >= o.vocabSize) throw new TrainerOptionError(`trainer option ${name}: id ${id} is not below vocabSize ${o.vocabSize}`);
    if (meta.has(id)) throw new TrainerOptionError(`trainer option ${name}: id ${id} is already used by '${meta.get(id)!.piece}'`);
    if (hasUnk && piece === o.unkPiece) throw new TrainerOptionError(`trainer option ${name}: '${piece}' is the unknown piece`);
    if (piece === o.unkPiece) hasUnk = true;
    meta.set(id, { piece, type: piece === o.unkPiece ? PieceType.UNKNOWN : PieceType.CONTROL });
  };
  insertId("unkId", o.unkId, o.unkPiece);
  insertId("bosId", o.bosId, o.bosPiece);
  insertId("eosId", o.eosId, o.eosPiece);
  insertId("padId", o.padId, o.padPiece);
  if (!hasUnk) throw new TrainerOptionError(`trainer option unkId: ${o.unkPiece} must be defined (unkId >= 0)`);

  const seen = new Set<string>();
  let next = 0;
  const insertSymbol = (piece: string, type: number): void => {
    if (seen.has(piece)) throw new TrainerOptionError(`trainer options: symbol '${piece}' is defined twice`);
    seen.add(piece);
    if (piece === o.unkPiece) throw new TrainerOptionError(`trainer options: ${o.unkPiece} must not be a control or user-defined symbol`);
    if (piece === o.bosPiece && o.bosId >= 0) meta.get(o.bosId)!.type = type;
    else if (piece === o.eosPiece && o.eosId >= 0) meta.get(o.eosId)!.type = type;
    else if (piece === o.padPiece && o.padId >= 0) meta.get(o.padId)!.type = type;
    else {
      while (meta.has(next)) next++;
      meta.set(next, { piece, type });
    }
  };
  for (const s of o.controlSymbols) insertSymbol(s, PieceType.CONTROL);
  for (const s of o.userDefinedSymbols) insertSymbol(s, PieceType.USER_DEFINED);
  if (o.byteFallback) for (let b = 0; b < 256; b++) insertSymbol(bytePiece(b), PieceType.BYTE);
  return meta;
}
