// SentencePieceCore: a SentencePiece model (parsed `.model` bytes) that encodes text to pieces /
// ids and decodes back, with the same names and results as the Python binding of the C++ library
// (0.1.97), in camelCase. It reads and writes no file and imports no Node module, so a browser
// page can tokenize with it; SentencePieceProcessor (processor.ts) adds loading and saving files.
//
//   const sp = SentencePieceProcessor.load("tokenizer.model");
//   sp.encode("Hello world")                 // → [15043, 3186]
//   sp.encode("Hello", { outType: "pieces" }) // → ["▁Hello"]
//   sp.decode([15043, 3186])                 // → "Hello world"

import { finiteNumber, numberInRange } from "../util/validate.js";
import { BpeEncoder, bpeEncode } from "./bpe.js";
import { decodePieces as decodeToText, SurfaceTable, type DecodeContext } from "./decode.js";
import { DoubleArrayTrie, type SharedTrie } from "./double_array_trie.js";
import {
  ModelType,
  parseModelProto,
  PieceType,
  serializeModelProto,
  trainerSpecWithDefaults,
  type ModelProto,
  type NormalizerSpec,
  type TrainerSpec,
} from "./model_proto.js";
import { Normalizer, type NormalizedBuffer, type NormalizedText } from "./normalizer.js";
import { seededRandom, type RandomSource } from "./random.js";
import { Segments } from "./segments.js";
import { StreamDecoder } from "./stream_decoder.js";
import { UnigramModel } from "./unigram.js";
import { nbestEncode as unigramNBest, sampleEncode as unigramSample } from "./unigram_sampling.js";
import { utf8Decode } from "./utf8.js";
import { byteToPiece, Vocab, type EncodedPiece } from "./vocab.js";

export interface EncodeOptions {
  /** Prepend the BOS id (error if the model has none). */
  addBos?: boolean;
  /** Append the EOS id (error if the model has none). */
  addEos?: boolean;
  /** "ids" (default) or "pieces". */
  outType?: "ids" | "pieces";
  /** Sample a segmentation (subword regularisation) instead of taking the best one. */
  enableSampling?: boolean;
  /** Smoothing for sampling: Unigram's inverse temperature, BPE-dropout's merge-skip probability. */
  alpha?: number;
  /** Unigram sampling: -1 samples from all segmentations, n > 1 from the n best. */
  nbestSize?: number;
  /** Seed for sampling; without it, a fresh random stream per processor. */
  seed?: number;
}

/** One piece of an encoding, with where it came from in the input. */
export interface EncodedToken {
  id: number;
  piece: string;
  /** The original text this piece covers ("" for control pieces and leading byte pieces). */
  surface: string;
  /** Byte offsets of `surface` in the UTF-8 input. */
  begin: number;
  end: number;
}

export class SentencePieceCore {
  /** Which kind of tokenizer this is (HFTokenizer says "huggingface"). */
  readonly kind = "sentencepiece" as const;
  readonly proto: ModelProto;
  readonly trainerSpec: Required<TrainerSpec>;
  private readonly vocab: Vocab;
  private readonly normalizer: Normalizer;
  private readonly denormalizer: Normalizer | null;
  private readonly unigram: UnigramModel | null;
  private readonly modelType: number;
  private random: RandomSource = Math.random;
  /** The encoders' output, reused from text to text. */
  private readonly segments = new Segments();
  private bpe: BpeEncoder | null = null;
  /** The bytes fromBytes loaded (the proto read from them is not edited by the processor). */
  private loadedFrom: Uint8Array | null = null;
  /** Decoding's table of piece surfaces as UTF-8, built on first decode. */
  private surfaces: SurfaceTable | null = null;

  /** Builds a processor from a parsed proto; `fileName` names the model in error messages. */
  constructor(proto: ModelProto, fileName = "<model>") {
    this.proto = proto;
    this.trainerSpec = trainerSpecWithDefaults(proto.trainerSpec);
    this.vocab = new Vocab(proto, fileName);
    this.modelType = this.trainerSpec.modelType;
    if (this.modelType !== ModelType.BPE && this.modelType !== ModelType.UNIGRAM) {
      const name = Object.entries(ModelType).find(([, v]) => v === this.modelType)?.[0] ?? String(this.modelType);
      throw new Error(`${fileName}: trainer_spec.model_type: ${name} models are not supported (expected UNIGRAM or BPE)`);
    }
    this.normalizer = new Normalizer(proto.normalizerSpec, {
      treatWhitespaceAsSuffix: this.trainerSpec.treatWhitespaceAsSuffix,
      userDefinedSymbols: this.vocab.userDefinedSymbols,
      fileName,
    });
    const deno = proto.denormalizerSpec;
    this.denormalizer = deno && deno.precompiledCharsmap && deno.precompiledCharsmap.length > 0 ? new Normalizer(deno, { fileName }) : null;
    this.unigram = this.modelType === ModelType.UNIGRAM ? new UnigramModel(this.vocab, this.normalizer.space) : null;
  }

  /** A processor of the `.model` bytes (of the class it is called on: SentencePieceProcessor.fromBytes gives one). */
  static fromBytes<T extends SentencePieceCore>(
    this: new (
      proto: ModelProto,
      fileName?: string,
    ) => T,
    bytes: Uint8Array,
    fileName = "<model>",
  ): T {
    if (!(bytes instanceof Uint8Array)) throw new TypeError("SentencePieceProcessor.fromBytes: expected a Uint8Array");
    const sp = new this(parseModelProto(bytes, fileName), fileName);
    sp.loadedFrom = bytes;
    return sp;
  }

  /**
   * The model as `.model` bytes that load into a processor like this one (for copies on other
   * threads): the bytes it was loaded from when it was, else serialize().
   */
  modelBytes(): Uint8Array {
    return this.loadedFrom ?? this.serialize();
  }

  /** The model as `.model` bytes. */
  serialize(): Uint8Array {
    return serializeModelProto(this.proto);
  }

  /** The normalizer settings in effect (proto2 defaults filled in). */
  get normalizerSpec(): Required<NormalizerSpec> {
    return this.normalizer.spec;
  }

  /** Reseeds the random stream used by sampling. */
  setRandomSeed(seed: number): void {
    this.random = seededRandom(seed);
  }

  // ---- vocabulary ----

  get vocabSize(): number {
    return this.vocab.size;
  }

  getPieceSize(): number {
    return this.vocab.size;
  }

  pieceToId(piece: string): number {
    return this.vocab.pieceToId(piece);
  }

  idToPiece(id: number): string {
    this.checkId(id);
    return this.vocab.pieces[id]!;
  }

  getScore(id: number): number {
    this.checkId(id);
    return this.vocab.scores[id]!;
  }

  isControl(id: number): boolean {
    return this.vocab.isType(id, PieceType.CONTROL);
  }
  isUnknown(id: number): boolean {
    return this.vocab.isType(id, PieceType.UNKNOWN);
  }
  isUnused(id: number): boolean {
    return this.vocab.isType(id, PieceType.UNUSED);
  }
  isByte(id: number): boolean {
    return this.vocab.isType(id, PieceType.BYTE);
  }
  isUserDefined(id: number): boolean {
    return this.vocab.isType(id, PieceType.USER_DEFINED);
  }

  /** Special ids are found by their piece names, as in the library; -1 when absent. */
  get unkId(): number {
    const id = this.vocab.pieceToId(this.trainerSpec.unkPiece);
    return this.isUnknown(id) ? id : -1;
  }
  get bosId(): number {
    return this.controlIdOf(this.trainerSpec.bosPiece);
  }
  get eosId(): number {
    return this.controlIdOf(this.trainerSpec.eosPiece);
  }
  get padId(): number {
    return this.controlIdOf(this.trainerSpec.padPiece);
  }

  private controlIdOf(piece: string): number {
    const id = this.vocab.pieceToId(piece);
    return this.isControl(id) ? id : -1;
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocab.size) {
      throw new RangeError(`piece id ${id} is out of range (vocabulary size ${this.vocab.size})`);
    }
  }

  // ---- encoding ----

  /** Normalizes text as this model does before segmentation (e.g. "a  b" → "▁a▁b"). */
  normalize(text: string): string {
    checkText(text);
    return this.normalizer.normalize(text);
  }

  encode(text: string, options: EncodeOptions & { outType: "pieces" }): string[];
  encode(text: string, options?: EncodeOptions & { outType?: "ids" }): number[];
  encode(text: string, options?: EncodeOptions): number[] | string[];
  encode(text: string, options: EncodeOptions = {}): number[] | string[] {
    if (options.enableSampling) {
      const tokens = this.encodeDetailed(text, options);
      return options.outType === "pieces" ? tokens.map((t) => t.piece) : tokens.map((t) => t.id);
    }
    const norm = this.segment(text);
    return options.outType === "pieces" ? this.piecesOf(norm, options) : this.idsOf(norm, options);
  }

  /**
   * The ids of a text given as UTF-8 bytes (as encodeAsIds of the decoded text). `validUtf8`:
   * the bytes are known to be well-formed (TextEncoder wrote them), so they are not checked;
   * otherwise a malformed byte counts as U+FFFD, as in the library.
   */
  encodeUtf8AsIds(bytes: Uint8Array, validUtf8 = false): number[] {
    if (!(bytes instanceof Uint8Array)) throw new TypeError("encodeUtf8AsIds: expected a Uint8Array");
    const norm = this.normalizer.normalizeUtf8(bytes, validUtf8);
    this.segmentNormalized(norm);
    return this.idsOf(norm, NO_OPTIONS);
  }

  /**
   * For worker threads encoding with a copy of this model (ParallelEncoder): the piece trie in
   * shared memory, which the copy adopts with useSharedTrie instead of building its own.
   */
  sharedTrie(): SharedTrie {
    return this.vocab.trie.toShared();
  }

  useSharedTrie(trie: SharedTrie): void {
    this.vocab.adoptTrie(DoubleArrayTrie.fromShared(trie));
  }

  /** Normalizes and segments `text` into this.segments (the fast path: no sampling). */
  private segment(text: string): NormalizedBuffer {
    checkText(text);
    const norm = this.normalizer.normalizeString(text);
    this.segmentNormalized(norm);
    return norm;
  }

  private segmentNormalized(norm: NormalizedBuffer): void {
    const segments = this.segments;
    if (this.unigram) this.unigram.encodeInto(norm.bytes, norm.length, segments);
    else this.bpeEncoder().encode(norm.bytes, norm.length, segments);
  }

  private bpeEncoder(): BpeEncoder {
    return (this.bpe ??= new BpeEncoder(this.vocab, this.normalizer.space));
  }

  /**
   * The ids of the segments just made, as populate() would give them: an unknown piece becomes
   * its byte pieces (byte fallback) or, run by run, one <unk>. The array is made at its final
   * size (counted first): growing a long text's array by pushes copies it again and again.
   */
  private idsOf(norm: NormalizedBuffer, options: EncodeOptions): number[] {
    const seg = this.segments,
      segIds = seg.id,
      unk = this.vocab.unkId,
      bytes = norm.bytes;
    const byteIds = this.trainerSpec.byteFallback ? this.vocab.byteIds : null;
    const bos = options.addBos ? this.requireSpecial("BOS", this.bosId) : -1;
    const eos = options.addEos ? this.requireSpecial("EOS", this.eosId) : -1;
    let count = (bos >= 0 ? 1 : 0) + (eos >= 0 ? 1 : 0);
    let prevUnk = false;
    for (let i = 0; i < seg.length; i++) {
      if (segIds[i] !== unk) {
        count++;
        prevUnk = false;
      } else if (byteIds) count += seg.end[i]! - seg.begin[i]!;
      else {
        if (!prevUnk) count++;
        prevUnk = true;
      }
    }
    const ids = new Array<number>(count);
    let k = 0;
    if (bos >= 0) ids[k++] = bos;
    prevUnk = false;
    for (let i = 0; i < seg.length; i++) {
      const id = segIds[i]!;
      if (id !== unk) {
        ids[k++] = id;
        prevUnk = false;
      } else if (byteIds) {
        for (let b = seg.begin[i]!; b < seg.end[i]!; b++) ids[k++] = byteIds[bytes[b]!]!;
      } else {
        if (!prevUnk) ids[k++] = unk;
        prevUnk = true;
      }
    }
    if (eos >= 0) ids[k++] = eos;
    return ids;
  }

  /** The pieces of the segments just made; an unknown run's piece is its normalized text. */
  private piecesOf(norm: NormalizedBuffer, options: EncodeOptions): string[] {
    const seg = this.segments,
      unk = this.vocab.unkId,
      bytes = norm.bytes,
      names = this.vocab.pieces;
    const byteFallback = this.trainerSpec.byteFallback;
    const pieces: string[] = [];
    if (options.addBos) pieces.push(names[this.requireSpecial("BOS", this.bosId)]!);
    let unkBegin = -1;
    for (let i = 0; i < seg.length; i++) {
      const id = seg.id[i]!;
      if (id !== unk) {
        pieces.push(names[id]!);
        unkBegin = -1;
      } else if (byteFallback) {
        for (let b = seg.begin[i]!; b < seg.end[i]!; b++) pieces.push(BYTE_PIECES[bytes[b]!]!);
      } else if (unkBegin < 0) {
        unkBegin = seg.begin[i]!;
        pieces.push(utf8Decode(bytes.subarray(unkBegin, seg.end[i]!)));
      } else {
        pieces[pieces.length - 1] = utf8Decode(bytes.subarray(unkBegin, seg.end[i]!));
      }
    }
    if (options.addEos) pieces.push(names[this.requireSpecial("EOS", this.eosId)]!);
    return pieces;
  }

  private requireSpecial(kind: "BOS" | "EOS", id: number): number {
    if (id < 0) throw new Error(`add${kind === "BOS" ? "Bos" : "Eos"}: the model has no ${kind} piece`);
    return id;
  }

  encodeAsIds(text: string, options: Omit<EncodeOptions, "outType"> = NO_OPTIONS): number[] {
    if (options.enableSampling) return this.encode(text, { ...options, outType: "ids" });
    return this.idsOf(this.segment(text), options);
  }

  encodeAsPieces(text: string, options: Omit<EncodeOptions, "outType"> = {}): string[] {
    return this.encode(text, { ...options, outType: "pieces" });
  }

  /** Encodes with pieces, ids and the original surface of each piece. */
  encodeDetailed(text: string, options: EncodeOptions = {}): EncodedToken[] {
    checkText(text);
    const norm = this.normalizer.normalizeWithAlignment(text);
    let result: EncodedPiece[];
    if (options.enableSampling) {
      result = this.sampleSegmentation(norm.bytes, options);
    } else {
      result = this.segmentBytes(norm.bytes);
    }
    return this.withSpecials(this.populate(norm, result), options);
  }

  /** The n best segmentations (Unigram only), best first. */
  nbestEncode(text: string, nbestSize: number, options: Omit<EncodeOptions, "enableSampling" | "nbestSize"> = {}): number[][] | string[][] {
    checkText(text);
    if (!this.unigram) throw new Error("nbestEncode: only Unigram models have n-best segmentations");
    const norm = this.normalizer.normalizeWithAlignment(text);
    const nbests = unigramNBest(this.unigram, norm.bytes, nbestSize);
    return nbests.map(({ pieces }) => {
      const tokens = this.withSpecials(this.populate(norm, pieces), options);
      return options.outType === "pieces" ? tokens.map((t) => t.piece) : tokens.map((t) => t.id);
    }) as number[][] | string[][];
  }

  nbestEncodeAsIds(text: string, nbestSize: number): number[][] {
    return this.nbestEncode(text, nbestSize, { outType: "ids" }) as number[][];
  }

  nbestEncodeAsPieces(text: string, nbestSize: number): string[][] {
    return this.nbestEncode(text, nbestSize, { outType: "pieces" }) as string[][];
  }

  /** One sampled segmentation (subword regularisation); see EncodeOptions. */
  sampleEncode(text: string, options: Omit<EncodeOptions, "enableSampling"> = {}): number[] | string[] {
    return this.encode(text, { ...options, enableSampling: true });
  }

  sampleEncodeAsIds(text: string, nbestSize = -1, alpha = 0.1): number[] {
    return this.encodeAsIds(text, { enableSampling: true, nbestSize, alpha });
  }

  sampleEncodeAsPieces(text: string, nbestSize = -1, alpha = 0.1): string[] {
    return this.encodeAsPieces(text, { enableSampling: true, nbestSize, alpha });
  }

  private segmentBytes(bytes: Uint8Array): EncodedPiece[] {
    return this.unigram ? this.unigram.encode(bytes) : bpeEncode(this.vocab, bytes);
  }

  private sampleSegmentation(bytes: Uint8Array, options: EncodeOptions): EncodedPiece[] {
    const alpha = options.alpha ?? 0.1;
    const nbest = options.nbestSize ?? -1;
    finiteNumber("alpha", alpha);
    if (!Number.isInteger(nbest)) throw new RangeError(`nbestSize must be an integer, got ${nbest}`);
    const random = options.seed !== undefined ? seededRandom(options.seed) : this.random;
    if (!this.unigram) {
      numberInRange("BPE-dropout alpha", alpha, 0, 1);
      return bpeEncode(this.vocab, bytes, { alpha, random });
    }
    if (nbest > 512) throw new RangeError(`nbestSize must be <= 512, got ${nbest}`);
    if (nbest === 0 || nbest === 1) return this.unigram.encode(bytes);
    if (nbest > 1) {
      const nbests = unigramNBest(this.unigram, bytes, nbest);
      const weights = nbests.map((r) => Math.exp(alpha * r.score));
      return nbests[pickWeighted(weights, random)]!.pieces;
    }
    return unigramSample(this.unigram, bytes, alpha, random);
  }

  /** Turns the encoder's byte ranges into pieces with surfaces, as PopulateSentencePieceText. */
  private populate(norm: NormalizedText, result: EncodedPiece[]): EncodedToken[] {
    const out: EncodedToken[] = [];
    const byteFallback = this.trainerSpec.byteFallback;
    let prevUnk = false;
    for (const r of result) {
      const piece = utf8Decode(norm.bytes.subarray(r.begin, r.end));
      const origBegin = norm.normToOrig[r.begin]!;
      const origEnd = norm.normToOrig[r.end]!;
      const isUnk = this.isUnknown(r.id);
      if (this.isControl(r.id)) {
        out.push({ id: r.id, piece, surface: "", begin: origBegin, end: origBegin });
      } else {
        const surface = utf8Decode(norm.original.subarray(origBegin, origEnd));
        if (isUnk && byteFallback) {
          // An unknown piece becomes its UTF-8 bytes; the last byte piece carries the surface.
          for (let i = r.begin; i < r.end; i++) {
            const bytePiece = byteToPiece(norm.bytes[i]!);
            const last = i === r.end - 1;
            out.push({
              id: this.vocab.pieceToId(bytePiece),
              piece: bytePiece,
              surface: last ? surface : "",
              begin: origBegin,
              end: last ? origEnd : origBegin,
            });
          }
        } else if (isUnk && prevUnk) {
          // A run of unknown characters is one <unk>.
          const prev = out[out.length - 1]!;
          prev.piece += piece;
          prev.surface += surface;
          prev.end = origEnd;
        } else {
          out.push({ id: r.id, piece, surface, begin: origBegin, end: origEnd });
        }
      }
      prevUnk = isUnk;
    }
    return out;
  }

  private withSpecials(tokens: EncodedToken[], options: { addBos?: boolean; addEos?: boolean }): EncodedToken[] {
    const special = (kind: "BOS" | "EOS", id: number): EncodedToken => {
      this.requireSpecial(kind, id);
      return { id, piece: this.vocab.pieces[id]!, surface: "", begin: 0, end: 0 };
    };
    if (options.addBos) tokens.unshift(special("BOS", this.bosId));
    if (options.addEos) tokens.push(special("EOS", this.eosId));
    return tokens;
  }

  // ---- decoding ----

  /** Decodes ids to text (the library's DecodeIds). */
  decode(ids: readonly number[]): string {
    if (!Array.isArray(ids)) throw new TypeError(`decode: expected an array of ids, got ${typeof ids}`);
    for (const id of ids) this.checkId(id);
    this.surfaces ??= new SurfaceTable(this.decodeContext());
    const fast = this.surfaces.decode(ids);
    if (fast !== null) return this.denormalizer ? this.denormalizer.normalize(fast) : fast;
    const pieces = ids.map((id) => {
      this.checkId(id);
      return this.vocab.pieces[id]!;
    });
    return this.decodeTokens(pieces, ids);
  }

  decodeIds(ids: readonly number[]): string {
    return this.decode(ids);
  }

  /** Decodes pieces to text (the library's DecodePieces). */
  decodePieces(pieces: readonly string[]): string {
    if (!Array.isArray(pieces)) throw new TypeError(`decodePieces: expected an array of strings, got ${typeof pieces}`);
    for (const p of pieces) if (typeof p !== "string") throw new TypeError(`decodePieces: expected strings, got ${typeof p}`);
    return this.decodeTokens(
      pieces,
      pieces.map((p) => this.vocab.pieceToId(p)),
    );
  }

  private decodeTokens(pieces: readonly string[], ids: readonly number[]): string {
    const text = decodeToText(pieces, ids, this.decodeContext());
    return this.denormalizer ? this.denormalizer.normalize(text) : text;
  }

  /** A decoder for streamed ids that never emits half a UTF-8 character. */
  createStreamDecoder(): StreamDecoder {
    return new StreamDecoder(this.decodeContext());
  }

  private decodeContext(): DecodeContext {
    return {
      vocab: this.vocab,
      unkSurface: this.trainerSpec.unkSurface,
      addDummyPrefix: this.normalizer.spec.addDummyPrefix,
      removeExtraWhitespaces: this.normalizer.spec.removeExtraWhitespaces,
    };
  }
}

const NO_OPTIONS: EncodeOptions = Object.freeze({});

/** `<0x00>` … `<0xFF>`, the byte-fallback piece names. */
const BYTE_PIECES = Array.from({ length: 256 }, (_, b) => byteToPiece(b));

function checkText(text: unknown): asserts text is string {
  if (typeof text !== "string") throw new TypeError(`expected text as a string, got ${text === null ? "null" : typeof text}`);
}

/** Index drawn with probability proportional to weights[i]. */
function pickWeighted(weights: number[], random: RandomSource): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let r = random() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i]!;
    if (r < 0) return i;
  }
  return weights.length - 1;
}
