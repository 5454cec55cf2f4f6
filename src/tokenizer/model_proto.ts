// SentencePiece `ModelProto` (sentencepiece_model.proto): types, schema, read and write.
//
// parseModelProto(serializeModelProto(m)) === m, and serializeModelProto(parseModelProto(b))
// gives back the bytes b of any model the C++ library wrote: fields keep their presence
// (absent stays `undefined`), and fields this schema does not know are kept raw.
import {
  asciiString,
  decodeMessage,
  decodeMessageRanges,
  encodeMessage,
  ProtoError,
  withDefaults,
  type FieldSpec,
  type MessageSchema,
  type UnknownField,
} from "./protobuf.js";

export { ProtoError, type UnknownField } from "./protobuf.js";

/** SentencePiece.Type. */
export const PieceType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;
export type PieceTypeValue = (typeof PieceType)[keyof typeof PieceType];

/** TrainerSpec.ModelType. */
export const ModelType = { UNIGRAM: 1, BPE: 2, WORD: 3, CHAR: 4 } as const;
export type ModelTypeValue = (typeof ModelType)[keyof typeof ModelType];

export interface SentencePiece {
  piece: string;
  score?: number;
  /** One of PieceType; absent means NORMAL. */
  type?: number;
  unknownFields?: UnknownField[];
}

export interface TrainerSpec {
  input?: string[];
  inputFormat?: string;
  modelPrefix?: string;
  modelType?: number;
  vocabSize?: number;
  acceptLanguage?: string[];
  selfTestSampleSize?: number;
  enableDifferentialPrivacy?: boolean;
  differentialPrivacyNoiseLevel?: number;
  differentialPrivacyClippingThreshold?: number;
  characterCoverage?: number;
  inputSentenceSize?: number;
  shuffleInputSentence?: boolean;
  miningSentenceSize?: number;
  trainingSentenceSize?: number;
  seedSentencepieceSize?: number;
  shrinkingFactor?: number;
  maxSentenceLength?: number;
  numThreads?: number;
  numSubIterations?: number;
  maxSentencepieceLength?: number;
  splitByUnicodeScript?: boolean;
  splitByNumber?: boolean;
  splitByWhitespace?: boolean;
  treatWhitespaceAsSuffix?: boolean;
  allowWhitespaceOnlyPieces?: boolean;
  splitDigits?: boolean;
  pretokenizationDelimiter?: string;
  controlSymbols?: string[];
  userDefinedSymbols?: string[];
  requiredChars?: string;
  byteFallback?: boolean;
  vocabularyOutputPieceScore?: boolean;
  hardVocabLimit?: boolean;
  useAllVocab?: boolean;
  unkId?: number;
  bosId?: number;
  eosId?: number;
  padId?: number;
  unkPiece?: string;
  bosPiece?: string;
  eosPiece?: string;
  padPiece?: string;
  unkSurface?: string;
  trainExtremelyLargeCorpus?: boolean;
  seedSentencepiecesFile?: string;
  unknownFields?: UnknownField[];
}

export interface NormalizerSpec {
  name?: string;
  precompiledCharsmap?: Uint8Array;
  addDummyPrefix?: boolean;
  removeExtraWhitespaces?: boolean;
  escapeWhitespaces?: boolean;
  normalizationRuleTsv?: string;
  unknownFields?: UnknownField[];
}

export interface SelfTestSample {
  input?: string;
  expected?: string;
  unknownFields?: UnknownField[];
}

export interface SelfTestData {
  samples?: SelfTestSample[];
  unknownFields?: UnknownField[];
}

export interface ModelProto {
  pieces: SentencePiece[];
  trainerSpec?: TrainerSpec;
  normalizerSpec?: NormalizerSpec;
  selfTestData?: SelfTestData;
  denormalizerSpec?: NormalizerSpec;
  unknownFields?: UnknownField[];
}

function field(num: number, protoName: string, kind: FieldSpec["kind"], extra: Partial<FieldSpec> = {}): FieldSpec {
  const name = protoName.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return { num, name, protoName, kind, ...extra };
}

export const TRAINER_SPEC_SCHEMA: MessageSchema = {
  name: "TrainerSpec",
  fields: [
    field(1, "input", "string", { repeated: true }),
    field(7, "input_format", "string"),
    field(2, "model_prefix", "string"),
    field(3, "model_type", "enum", { default: ModelType.UNIGRAM }),
    field(4, "vocab_size", "int32", { default: 8000 }),
    field(5, "accept_language", "string", { repeated: true }),
    field(6, "self_test_sample_size", "int32", { default: 0 }),
    field(50, "enable_differential_privacy", "bool", { default: false }),
    field(51, "differential_privacy_noise_level", "float", { default: 0 }),
    field(52, "differential_privacy_clipping_threshold", "uint64", { default: 0 }),
    field(10, "character_coverage", "float", { default: Math.fround(0.9995) }),
    field(11, "input_sentence_size", "uint64", { default: 0 }),
    field(19, "shuffle_input_sentence", "bool", { default: true }),
    field(12, "mining_sentence_size", "int32"),
    field(13, "training_sentence_size", "int32"),
    field(14, "seed_sentencepiece_size", "int32", { default: 1000000 }),
    field(15, "shrinking_factor", "float", { default: Math.fround(0.75) }),
    field(18, "max_sentence_length", "int32", { default: 4192 }),
    field(16, "num_threads", "int32", { default: 16 }),
    field(17, "num_sub_iterations", "int32", { default: 2 }),
    field(20, "max_sentencepiece_length", "int32", { default: 16 }),
    field(21, "split_by_unicode_script", "bool", { default: true }),
    field(23, "split_by_number", "bool", { default: true }),
    field(22, "split_by_whitespace", "bool", { default: true }),
    field(24, "treat_whitespace_as_suffix", "bool", { default: false }),
    field(26, "allow_whitespace_only_pieces", "bool", { default: false }),
    field(25, "split_digits", "bool", { default: false }),
    field(53, "pretokenization_delimiter", "string", { default: "" }),
    field(30, "control_symbols", "string", { repeated: true }),
    field(31, "user_defined_symbols", "string", { repeated: true }),
    field(36, "required_chars", "string", { default: "" }),
    field(35, "byte_fallback", "bool", { default: false }),
    field(32, "vocabulary_output_piece_score", "bool", { default: true }),
    field(33, "hard_vocab_limit", "bool", { default: true }),
    field(34, "use_all_vocab", "bool", { default: false }),
    field(40, "unk_id", "int32", { default: 0 }),
    field(41, "bos_id", "int32", { default: 1 }),
    field(42, "eos_id", "int32", { default: 2 }),
    field(43, "pad_id", "int32", { default: -1 }),
    field(45, "unk_piece", "string", { default: "<unk>" }),
    field(46, "bos_piece", "string", { default: "<s>" }),
    field(47, "eos_piece", "string", { default: "</s>" }),
    field(48, "pad_piece", "string", { default: "<pad>" }),
    field(44, "unk_surface", "string", { default: " \u2047 " }),
    field(49, "train_extremely_large_corpus", "bool", { default: false }),
    field(54, "seed_sentencepieces_file", "string", { default: "" }),
  ],
};

export const NORMALIZER_SPEC_SCHEMA: MessageSchema = {
  name: "NormalizerSpec",
  fields: [
    field(1, "name", "string", { default: "" }),
    field(2, "precompiled_charsmap", "bytes"),
    field(3, "add_dummy_prefix", "bool", { default: true }),
    field(4, "remove_extra_whitespaces", "bool", { default: true }),
    field(5, "escape_whitespaces", "bool", { default: true }),
    field(6, "normalization_rule_tsv", "string", { default: "" }),
  ],
};

const SAMPLE_SCHEMA: MessageSchema = {
  name: "SelfTestData.Sample",
  fields: [field(1, "input", "string"), field(2, "expected", "string")],
};

const SELF_TEST_DATA_SCHEMA: MessageSchema = {
  name: "SelfTestData",
  fields: [field(1, "samples", "message", { repeated: true, message: SAMPLE_SCHEMA })],
};

export const SENTENCE_PIECE_SCHEMA: MessageSchema = {
  name: "SentencePiece",
  fields: [
    field(1, "piece", "string"),
    field(2, "score", "float", { default: 0 }),
    field(3, "type", "enum", { default: PieceType.NORMAL }),
  ],
  fastDecode: decodePieceFast,
};

export const MODEL_PROTO_SCHEMA: MessageSchema = {
  name: "ModelProto",
  fields: [
    field(1, "pieces", "message", { repeated: true, message: SENTENCE_PIECE_SCHEMA }),
    field(2, "trainer_spec", "message", { message: TRAINER_SPEC_SCHEMA }),
    field(3, "normalizer_spec", "message", { message: NORMALIZER_SPEC_SCHEMA }),
    field(4, "self_test_data", "message", { message: SELF_TEST_DATA_SCHEMA }),
    field(5, "denormalizer_spec", "message", { message: NORMALIZER_SPEC_SCHEMA }),
  ],
};

const pieceDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const scoreBytes = new Uint8Array(4);
const scoreView = new Float32Array(scoreBytes.buffer);

/**
 * A SentencePiece message in its usual shape (piece: short string, score: float, type: one-byte
 * enum, each at most once, nothing else) decoded without the general machinery; loading Llama's
 * 32k pieces is most of a model's load time. Anything else → null, and the general decoder runs.
 */
function decodePieceFast(buf: Uint8Array, start: number, end: number): Record<string, unknown> | null {
  const out: SentencePiece = { piece: "" };
  let pos = start,
    seen = 0;
  while (pos < end) {
    const tag = buf[pos++]!;
    if (tag === 0x0a && !(seen & 1)) {
      const len = buf[pos++]!;
      if (len >= 0x80 || pos + len > end) return null;
      const text = asciiOrUtf8(buf, pos, pos + len);
      if (text === null) return null;
      out.piece = text;
      pos += len;
      seen |= 1;
    } else if (tag === 0x15 && !(seen & 2) && pos + 4 <= end) {
      scoreBytes[0] = buf[pos]!;
      scoreBytes[1] = buf[pos + 1]!;
      scoreBytes[2] = buf[pos + 2]!;
      scoreBytes[3] = buf[pos + 3]!;
      out.score = scoreView[0]!;
      pos += 4;
      seen |= 2;
    } else if (tag === 0x18 && !(seen & 4) && pos < end && buf[pos]! < 0x80) {
      out.type = buf[pos++]!;
      seen |= 4;
    } else {
      return null;
    }
  }
  return seen & 1 ? (out as unknown as Record<string, unknown>) : null;
}

function asciiOrUtf8(buf: Uint8Array, s: number, e: number): string | null {
  const ascii = asciiString(buf, s, e);
  if (ascii !== null) return ascii;
  try {
    return pieceDecoder.decode(buf.subarray(s, e));
  } catch {
    return null; // the general decoder reports where
  }
}

/**
 * The pieces of a parsed model as columns over the file's bytes: what a processor needs to
 * load (scores, types, where each piece's UTF-8 text is) without making 32k objects and
 * strings first. `ModelProto.pieces` is built from it only when someone reads it.
 */
export interface PieceColumns {
  count: number;
  /** The file's bytes; piece i's text is bytes[textStart[i], textEnd[i]). */
  bytes: Uint8Array;
  /** Names the file in errors. */
  fileName: string;
  textStart: Int32Array;
  textEnd: Int32Array;
  /** 0 where absent. */
  scores: Float32Array;
  /** NORMAL where absent; a type too big for a byte is not read here (the general decoder reads it). */
  types: Uint8Array;
  /** Bit 1: score present, bit 2: type present. */
  present: Uint8Array;
  /** The pieces that are not NORMAL, or whose text is empty, in order (few: Vocab checks them). */
  unusual: number[];
  /** Byte ranges [start, end) of the top-level fields other than pieces, as pairs. */
  rest: number[];
}

const PIECE_COLUMNS = Symbol("pieceColumns");

/** The columns parseModelProto kept for `proto`, or null (a proto built in code, or already edited). */
export function pieceColumnsOf(proto: ModelProto): PieceColumns | null {
  const c = (proto as unknown as Record<symbol, PieceColumns | undefined>)[PIECE_COLUMNS];
  return c && !Object.getOwnPropertyDescriptor(proto, "pieces")?.writable ? c : null;
}

/** ModelProto with its pieces left to the column scan (see parseModelProto). */
const MODEL_PROTO_SKIPPING_PIECES: MessageSchema = {
  name: MODEL_PROTO_SCHEMA.name,
  fields: MODEL_PROTO_SCHEMA.fields.map((f) => (f.num === 1 ? { ...f, skip: true } : f)),
};

/**
 * Parses the bytes of a `.model` file. `fileNameForErrors` names the file in error messages,
 * e.g. "tokenizer.model: ModelProto.pieces[17].score: truncated 32-bit value at byte 420".
 */
export function parseModelProto(bytes: Uint8Array, fileNameForErrors = "<model>"): ModelProto {
  const columns = scanPieces(bytes, fileNameForErrors);
  if (!columns) {
    // Pieces in an unusual shape: the general decoder reads them (and says what is wrong).
    const msg = decodeMessage(MODEL_PROTO_SCHEMA, bytes, fileNameForErrors) as unknown as ModelProto;
    if (msg.pieces === undefined) msg.pieces = [];
    return msg;
  }
  const msg = decodeMessageRanges(MODEL_PROTO_SKIPPING_PIECES, bytes, columns.rest, fileNameForErrors) as unknown as ModelProto;
  // `pieces` is made on first read, then is a plain property like any other.
  Object.defineProperty(msg, "pieces", {
    configurable: true,
    enumerable: true,
    get(): SentencePiece[] {
      const pieces = materializePieces(columns);
      Object.defineProperty(msg, "pieces", { value: pieces, writable: true, configurable: true, enumerable: true });
      return pieces;
    },
    set(value: SentencePiece[]) {
      Object.defineProperty(msg, "pieces", { value, writable: true, configurable: true, enumerable: true });
    },
  });
  Object.defineProperty(msg, PIECE_COLUMNS, { value: columns, enumerable: false });
  return msg;
}

/**
 * Finds every top-level `pieces` message and reads it into columns, when all of them have the
 * usual shape (see decodePieceFast); else null. Top-level fields other than pieces are only
 * stepped over here. This is most of a model's load time (Llama's 32k pieces), and in a fresh
 * process it runs mostly in the interpreter, so it is one loop doing a fixed amount of work per
 * piece: it never reads a piece's text (that the texts are UTF-8 and unique is checked when
 * they are first used: see Vocab), and the arrays are sized for the most pieces the file could
 * hold, then cut (no counting pass).
 */
function scanPieces(buf: Uint8Array, fileName: string): PieceColumns | null {
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  // A piece of the usual shape takes at least 4 bytes (tag, length, text tag, text length).
  const most = bytes.length >> 2;
  const c: PieceColumns = {
    count: 0,
    bytes,
    fileName,
    textStart: new Int32Array(most),
    textEnd: new Int32Array(most),
    scores: new Float32Array(most),
    types: new Uint8Array(most).fill(PieceType.NORMAL),
    present: new Uint8Array(most),
    unusual: [],
    rest: [],
  };
  const count = readPieces(c);
  if (count < 0) return null;
  c.count = count;
  c.textStart = c.textStart.slice(0, count);
  c.textEnd = c.textEnd.slice(0, count);
  c.scores = c.scores.slice(0, count);
  c.types = c.types.slice(0, count);
  c.present = c.present.slice(0, count);
  return c;
}

/**
 * The loop of scanPieces. Top-level fields: every one of ModelProto's is length-delimited,
 * number <= 15. A piece is checked first for the layout the library writes (text, score, then
 * the type unless NORMAL); any other is read field by field (readPiece). Returns the number of
 * pieces; -1 when a field or piece is not of the usual shape (the general decoder then takes
 * over and says what is wrong).
 */
function readPieces(c: PieceColumns): number {
  const { bytes, textStart, textEnd, scores, types, unusual, rest } = c;
  const end = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let i = 0;
  for (let pos = 0; pos < end; ) {
    const fieldStart = pos;
    const tag = bytes[pos++]!;
    let len = bytes[pos++]!;
    if (len >= 0x80) {
      len &= 0x7f;
      let shift = 7,
        b = 0;
      do {
        if (pos >= end || shift > 28) return -1;
        b = bytes[pos++]!;
        len |= (b & 0x7f) << shift;
        shift += 7;
      } while (b >= 0x80);
    }
    const stop = pos + len;
    if (tag >= 0x80 || (tag & 7) !== 2 || len < 0 || stop > end) return -1;
    if (tag !== 0x0a) {
      if (rest.length > 0 && rest[rest.length - 1] === fieldStart) rest[rest.length - 1] = stop;
      else rest.push(fieldStart, stop);
      pos = stop;
      continue;
    }
    // The usual layout: 0a n text[n] 15 score[4] (18 type).
    const n = bytes[pos + 1]!,
      at = pos + 2 + n;
    if (
      bytes[pos] === 0x0a &&
      n > 0 &&
      n < 0x80 &&
      bytes[at] === 0x15 &&
      (at + 5 === stop || (at + 7 === stop && bytes[at + 5] === 0x18 && bytes[at + 6]! < 0x80))
    ) {
      textStart[i] = pos + 2;
      textEnd[i] = at;
      scores[i] = view.getFloat32(at + 1, true);
      if (at + 5 === stop) c.present[i] = 1;
      else {
        const type = bytes[at + 6]!;
        types[i] = type;
        c.present[i] = 3;
        if (type !== PieceType.NORMAL) unusual.push(i);
      }
    } else if (!readPiece(c, view, i, pos, stop)) return -1;
    i++;
    pos = stop;
  }
  return i;
}

/**
 * Piece i, in bytes[pos, stop), field by field: text (tag 0x0a), score (0x15, float), type
 * (0x18, one-byte enum), each at most once, in any order; false for anything else.
 */
function readPiece(c: PieceColumns, view: DataView, i: number, pos: number, stop: number): boolean {
  const bytes = c.bytes;
  let seen = 0,
    type: number = PieceType.NORMAL;
  while (pos < stop) {
    const t = bytes[pos++]!;
    if (t === 0x0a && !(seen & 1)) {
      const n = bytes[pos++]!;
      if (n >= 0x80 || pos + n > stop) return false;
      c.textStart[i] = pos;
      c.textEnd[i] = pos + n;
      pos += n;
      seen |= 1;
    } else if (t === 0x15 && !(seen & 2) && pos + 4 <= stop) {
      c.scores[i] = view.getFloat32(pos, true);
      pos += 4;
      seen |= 2;
    } else if (t === 0x18 && !(seen & 4) && pos < stop && bytes[pos]! < 0x80) {
      type = bytes[pos++]!;
      seen |= 4;
    } else {
      return false;
    }
  }
  if (!(seen & 1)) return false;
  c.types[i] = type;
  if (type !== PieceType.NORMAL || c.textEnd[i] === c.textStart[i]) c.unusual.push(i);
  c.present[i] = seen >> 1;
  return true;
}

/** The error for piece i, whose text is not UTF-8 (as the general decoder words it). */
export function pieceUtf8Error(c: PieceColumns, i: number): ProtoError {
  return new ProtoError(`${c.fileName}: ModelProto.pieces[${i}].piece: string is not valid UTF-8 at byte ${c.textStart[i]}`);
}

/** Piece i's text (a ProtoError naming the piece when its bytes are not UTF-8). */
export function pieceText(c: PieceColumns, i: number): string {
  const text = asciiOrUtf8(c.bytes, c.textStart[i]!, c.textEnd[i]!);
  if (text === null) throw pieceUtf8Error(c, i);
  return text;
}

function materializePieces(c: PieceColumns): SentencePiece[] {
  const pieces: SentencePiece[] = new Array(c.count);
  for (let i = 0; i < c.count; i++) {
    const p: SentencePiece = { piece: pieceText(c, i) };
    if (c.present[i]! & 1) p.score = c.scores[i]!;
    if (c.present[i]! & 2) p.type = c.types[i]!;
    pieces[i] = p;
  }
  return pieces;
}

/** Serializes a ModelProto to `.model` bytes, byte-identical to what the C++ library writes. */
export function serializeModelProto(proto: ModelProto): Uint8Array {
  return encodeMessage(MODEL_PROTO_SCHEMA, proto as unknown as Record<string, unknown>);
}

/** The trainer spec with every absent field set to its proto2 default. */
export function trainerSpecWithDefaults(spec: TrainerSpec | undefined): Required<TrainerSpec> {
  return withDefaults(TRAINER_SPEC_SCHEMA, spec);
}

/** The normalizer spec with every absent field set to its proto2 default. */
export function normalizerSpecWithDefaults(spec: NormalizerSpec | undefined): Required<NormalizerSpec> {
  return withDefaults(NORMALIZER_SPEC_SCHEMA, spec);
}

/** The piece's type, NORMAL when absent. */
export function pieceTypeOf(p: SentencePiece): number {
  return p.type ?? PieceType.NORMAL;
}
