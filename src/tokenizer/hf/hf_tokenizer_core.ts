// HFTokenizerCore: a Hugging Face `tokenizer.json` (the format of the Rust tokenizers library that
// Llama 3, Qwen, Mistral, Gemma, DeepSeek … ship) built from its parsed contents, with the same
// method names as SentencePieceProcessor so generation, batching and the CLI take either. It reads
// no file and imports no Node module, so a browser page tokenizes with it; HFTokenizer
// (hf_tokenizer.ts) adds loading files and the chat template.
//
//   const tok = new HFTokenizerCore(JSON.parse(tokenizerJson), JSON.parse(tokenizerConfigJson));
//   tok.encodeAsIds("Hello world")                           // → [9707, 1879]
//   tok.decode([9707, 1879])                                 // → "Hello world"
//
// Encoding, as the Rust library: find added tokens in the raw text → normalize the text between
// them → find added tokens that match normalized text → pre-tokenize into words → the model
// (BPE or Unigram) turns each word into ids → with special tokens, the post-processor's template.
import { AddedTokenMatcher, readAddedTokens, type AddedToken } from "./added_tokens.js";
import { BpeModel } from "./bpe_model.js";
import { node, TokenizerFileError, typeOf } from "./config.js";
import { buildDecoder } from "./decoders.js";
import { buildNormalizer, type Normalize } from "./normalizers.js";
import { buildPostProcessor, type Template } from "./post_processors.js";
import { buildPreTokenizer, type Piece, type PreTokenizer } from "./pre_tokenizers.js";
import { HFStreamDecoder } from "./stream_decoder.js";
import { readTokenizerConfig, type TokenizerConfig } from "./tokenizer_config.js";
import { UnigramModel } from "./unigram_model.js";

export interface HFEncodeOptions {
  /** Put the post-processor's special tokens around the text (Hugging Face's add_special_tokens; default false). */
  addSpecialTokens?: boolean;
  /** Prepend the BOS id (error if the tokenizer has none). */
  addBos?: boolean;
  /** Append the EOS id (error if the tokenizer has none). */
  addEos?: boolean;
}

export interface HFDecodeOptions {
  /** Leave out special added tokens ("<|im_end|>", "<bos>", …). Default false. */
  skipSpecialTokens?: boolean;
  /** Remove spaces before punctuation ("a ." → "a."), as transformers. Default: tokenizer_config.json's clean_up_tokenization_spaces, else false. */
  cleanUpTokenizationSpaces?: boolean;
}

interface WordModel {
  readonly vocab: Map<string, number>;
  readonly unkId: number;
  encodeWord(word: string, byteLevel: boolean, out: number[]): void;
}

export class HFTokenizerCore {
  readonly kind = "huggingface" as const;
  readonly fileName: string;
  readonly config: TokenizerConfig;
  protected readonly configFileName: string;
  private readonly model: WordModel;
  private readonly normalizer: Normalize | null;
  private readonly preTokenizer: PreTokenizer;
  private readonly template: Template;
  private readonly decodeTokens: (tokens: string[]) => string;
  protected readonly addedTokens: AddedToken[];
  private readonly rawMatcher: AddedTokenMatcher;
  private readonly normalizedMatcher: AddedTokenMatcher;
  private readonly pieces: string[];
  private readonly pieceIds = new Map<string, number>();
  private readonly specialIds = new Set<number>();
  /** What serialize() returns, or how to compute it (once) from the objects given to the constructor. */
  private identity: string | (() => string);

  /**
   * Builds a tokenizer from parsed tokenizer.json (and tokenizer_config.json) contents. `identity`
   * gives the text serialize() returns (HFTokenizer: a digest of the files); by default the
   * contents themselves.
   */
  constructor(json: unknown, config: unknown = {}, fileName = "tokenizer.json", identity?: () => string) {
    this.fileName = fileName;
    this.identity = identity ?? (() => `tokenizer.json ${JSON.stringify(json)}\n${JSON.stringify(config)}`);
    const root = node(json, fileName);
    this.configFileName = `${fileName.replace(/[^/\\]*$/, "")}tokenizer_config.json`;
    this.config = readTokenizerConfig(config, this.configFileName);
    this.model = buildModel(root.json.model, `${fileName}: model`);
    this.normalizer = buildNormalizer(root.json.normalizer, `${fileName}: normalizer`);
    this.preTokenizer = buildPreTokenizer(root.json.pre_tokenizer, `${fileName}: pre_tokenizer`);
    this.template = buildPostProcessor(root.json.post_processor, `${fileName}: post_processor`);
    this.decodeTokens = buildDecoder(root.json.decoder, `${fileName}: decoder`);
    this.addedTokens = readAddedTokens(root.json.added_tokens, `${fileName}: added_tokens`);

    for (const [piece, id] of this.model.vocab) this.pieceIds.set(piece, id);
    for (const t of this.addedTokens) {
      this.pieceIds.set(t.content, t.id);
      if (t.special) this.specialIds.add(t.id);
    }
    let size = 0;
    for (const id of this.pieceIds.values()) size = Math.max(size, id + 1);
    this.pieces = new Array<string>(size).fill("");
    for (const [piece, id] of this.model.vocab) this.pieces[id] = piece;
    for (const t of this.addedTokens) this.pieces[t.id] = t.content;

    const raw = this.addedTokens.filter((t) => !t.normalized || !this.normalizer);
    const norm = this.addedTokens.filter((t) => t.normalized && this.normalizer);
    this.rawMatcher = new AddedTokenMatcher(raw.map((t) => ({ content: t.content, token: t })));
    this.normalizedMatcher = new AddedTokenMatcher(norm.map((t) => ({ content: this.normalizer!(t.content), token: t })));
  }

  /**
   * Bytes that identify this tokenizer, which token caches key on. A tokenizer.json is not
   * rewritten: copy the file itself.
   */
  serialize(): Uint8Array {
    if (typeof this.identity === "function") this.identity = this.identity();
    return new TextEncoder().encode(this.identity);
  }

  // ---- vocabulary ----

  get vocabSize(): number {
    return this.pieces.length;
  }

  getPieceSize(): number {
    return this.pieces.length;
  }

  /** The id of a token string (model vocabulary or added token); the unknown id (or -1) when absent. */
  pieceToId(piece: string): number {
    return this.pieceIds.get(piece) ?? this.unkId;
  }

  idToPiece(id: number): string {
    this.checkId(id);
    return this.pieces[id]!;
  }

  /** True for special added tokens (skipped by decode with skipSpecialTokens). */
  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  get unkId(): number {
    return this.model.unkId;
  }

  /**
   * The BOS a prompt starts with: the token the post-processor puts first (Gemma's <bos>), else
   * tokenizer_config.json's bos_token unless add_bos_token is false there, else -1 (Qwen).
   */
  get bosId(): number {
    if (this.template.prefix.length > 0) return this.template.prefix[0]!;
    const bos = this.config.bosToken;
    if (bos === undefined || this.config.raw.add_bos_token === false) return -1;
    return this.pieceIds.get(bos) ?? -1;
  }

  /** tokenizer_config.json's eos_token, else the post-processor's last token, else -1. */
  get eosId(): number {
    const eos = this.config.eosToken;
    if (eos !== undefined) return this.pieceIds.get(eos) ?? -1;
    return this.template.suffix.length > 0 ? this.template.suffix[this.template.suffix.length - 1]! : -1;
  }

  /** tokenizer_config.json's pad_token, else -1. */
  get padId(): number {
    const pad = this.config.padToken;
    return pad !== undefined ? (this.pieceIds.get(pad) ?? -1) : -1;
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.pieces.length) {
      throw new RangeError(`token id ${id} is out of range (vocabulary size ${this.pieces.length})`);
    }
  }

  // ---- encoding ----

  encodeAsIds(text: string, options: HFEncodeOptions = {}): number[] {
    if (typeof text !== "string") throw new TypeError(`expected text as a string, got ${text === null ? "null" : typeof text}`);
    const ids: number[] = [];
    if (options.addSpecialTokens) ids.push(...this.template.prefix);
    if (options.addBos) ids.push(this.required(this.bosId, "Bos", "BOS"));
    for (const section of this.rawMatcher.split(text)) {
      if (section.id >= 0) ids.push(section.id);
      else this.encodeSection(section.text, section.start === 0, ids);
    }
    if (options.addSpecialTokens) ids.push(...this.template.suffix);
    if (options.addEos) ids.push(this.required(this.eosId, "Eos", "EOS"));
    return ids;
  }

  encodeAsPieces(text: string, options: HFEncodeOptions = {}): string[] {
    return this.encodeAsIds(text, options).map((id) => this.pieces[id]!);
  }

  /** SentencePieceProcessor's shape: ids by default, pieces with outType "pieces". */
  encode(text: string, options: HFEncodeOptions & { outType: "pieces" }): string[];
  encode(text: string, options?: HFEncodeOptions & { outType?: "ids" }): number[];
  encode(text: string, options: HFEncodeOptions & { outType?: "ids" | "pieces" } = {}): number[] | string[] {
    return options.outType === "pieces" ? this.encodeAsPieces(text, options) : this.encodeAsIds(text, options);
  }

  private required(id: number, option: string, name: string): number {
    if (id < 0) throw new Error(`add${option}: ${this.fileName} has no ${name} token`);
    return id;
  }

  /** Text between raw-matched added tokens: normalize, match normalized added tokens, encode words. */
  private encodeSection(text: string, atStart: boolean, out: number[]): void {
    const normalized = this.normalizer ? this.normalizer(text) : text;
    for (const section of this.normalizedMatcher.split(normalized)) {
      if (section.id >= 0) {
        out.push(section.id);
        continue;
      }
      const words: Piece[] = this.preTokenizer.run([{ text: section.text, atStart: atStart && section.start === 0 }]);
      const byteLevel = this.preTokenizer.byteLevel;
      for (const w of words) this.model.encodeWord(w.text, byteLevel, out);
    }
  }

  // ---- decoding ----

  decode(ids: readonly number[], options: HFDecodeOptions = {}): string {
    if (!Array.isArray(ids)) throw new TypeError(`decode: expected an array of ids, got ${typeof ids}`);
    const tokens: string[] = [];
    for (const id of ids) {
      this.checkId(id);
      if (options.skipSpecialTokens && this.specialIds.has(id)) continue;
      tokens.push(this.pieces[id]!);
    }
    const text = tokens.length === 0 ? "" : this.decodeTokens(tokens);
    const cleanUp = options.cleanUpTokenizationSpaces ?? this.config.cleanUpTokenizationSpaces;
    return cleanUp ? cleanUpTokenizationSpaces(text) : text;
  }

  decodeIds(ids: readonly number[]): string {
    return this.decode(ids);
  }

  /** Text of ids pushed one at a time, never half a UTF-8 character (no clean-up of spaces). */
  createStreamDecoder(options: { skipSpecialTokens?: boolean } = {}): HFStreamDecoder {
    return new HFStreamDecoder(
      (ids) => this.decode(ids, { skipSpecialTokens: options.skipSpecialTokens, cleanUpTokenizationSpaces: false }),
      this.vocabSize,
    );
  }
}

function buildModel(json: unknown, where: string): WordModel {
  const n = node(json, where);
  const type = typeOf(n);
  if (type === "BPE") return new BpeModel(json, where);
  if (type === "Unigram") return new UnigramModel(json, where);
  throw new TokenizerFileError(`${where}: model type '${type}' is not supported (supported: BPE, Unigram)`);
}

/** transformers' clean_up_tokenization: no space before punctuation and English contractions. */
export function cleanUpTokenizationSpaces(text: string): string {
  return text
    .replaceAll(" .", ".")
    .replaceAll(" ?", "?")
    .replaceAll(" !", "!")
    .replaceAll(" ,", ",")
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

/** A JSON file's text parsed; `path` names the file in errors. */
export function parseTokenizerJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new TokenizerFileError(`${path}: not valid JSON (${(err as Error).message})`);
  }
}
