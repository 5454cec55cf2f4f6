// Options of the SentencePiece trainers: the flags of `spm_train`, in camelCase, with the same
// defaults and the same range checks, and how they are recorded in the model's TrainerSpec.
import { ModelType, type NormalizerSpec, type TrainerSpec } from "./model_proto.js";
import { intInRange, numberInRange } from "../util/validate.js";

export type ModelTypeName = "unigram" | "bpe" | "word" | "char";

/** Built-in normalization rules (their maps ship in src/tokenizer/charsmaps/). */
export const NORMALIZATION_RULES = ["nmt_nfkc", "nfkc", "nmt_nfkc_cf", "nfkc_cf", "identity"] as const;
export type NormalizationRuleName = (typeof NORMALIZATION_RULES)[number];

export interface TrainerOptions {
  /** Text file(s), one sentence per line (`--input`). Exclusive with `sentences`. */
  input?: string | string[];
  /** Sentences given directly instead of files. */
  sentences?: Iterable<string> | AsyncIterable<string>;
  /** "text" (default) or "tsv" (`word<TAB>frequency` per line). */
  inputFormat?: "" | "text" | "tsv";
  /** Output prefix: writeModelFiles() writes PREFIX.model and PREFIX.vocab. */
  modelPrefix?: string;
  modelType?: ModelTypeName;
  vocabSize?: number;
  characterCoverage?: number;
  /** Use at most this many sentences (0: all). */
  inputSentenceSize?: number;
  /** With inputSentenceSize: draw the sentences at random (seeded) instead of taking the first. */
  shuffleInputSentence?: boolean;
  seedSentencepieceSize?: number;
  shrinkingFactor?: number;
  /** Lines longer than this many UTF-8 bytes are skipped. */
  maxSentenceLength?: number;
  /**
   * spm_train's num_threads. Unigram: the E step sums its counts in this many shards, as the
   * library's threads do, and runs on up to this many cores (the vocabulary depends on this
   * number, not on the number of cores). Recorded in the model.
   */
  numThreads?: number;
  numSubIterations?: number;
  maxSentencepieceLength?: number;
  splitByUnicodeScript?: boolean;
  splitByNumber?: boolean;
  splitByWhitespace?: boolean;
  treatWhitespaceAsSuffix?: boolean;
  allowWhitespaceOnlyPieces?: boolean;
  splitDigits?: boolean;
  controlSymbols?: string[];
  userDefinedSymbols?: string[];
  /** Characters that must be in the vocabulary whatever their frequency. */
  requiredChars?: string;
  byteFallback?: boolean;
  vocabularyOutputPieceScore?: boolean;
  hardVocabLimit?: boolean;
  useAllVocab?: boolean;
  unkId?: number;
  bosId?: number;
  eosId?: number;
  /** -1 (default) means no padding piece. */
  padId?: number;
  unkPiece?: string;
  bosPiece?: string;
  eosPiece?: string;
  padPiece?: string;
  unkSurface?: string;
  trainExtremelyLargeCorpus?: boolean;
  normalizationRuleName?: NormalizationRuleName;
  /** Custom TSV rules: not supported (an error says so). */
  normalizationRuleTsv?: string;
  addDummyPrefix?: boolean;
  removeExtraWhitespaces?: boolean;
  /** Seed of the sentence sampler (default 12345678, the constant spm_train uses). */
  seed?: number;
  /** Progress lines (default: none). */
  onProgress?: (message: string) => void;
}

/** The options with every default filled in. */
export type ResolvedOptions = Required<Omit<TrainerOptions, "input" | "sentences" | "seed" | "onProgress" | "normalizationRuleTsv">> & {
  input: string[];
  sentences?: Iterable<string> | AsyncIterable<string>;
  seed: number;
  onProgress: (message: string) => void;
};

export const DEFAULT_SAMPLER_SEED = 12345678;

const DEFAULTS = {
  inputFormat: "",
  modelPrefix: "",
  modelType: "unigram",
  vocabSize: 8000,
  characterCoverage: 0.9995,
  inputSentenceSize: 0,
  shuffleInputSentence: true,
  seedSentencepieceSize: 1000000,
  shrinkingFactor: 0.75,
  maxSentenceLength: 4192,
  numThreads: 16,
  numSubIterations: 2,
  maxSentencepieceLength: 16,
  splitByUnicodeScript: true,
  splitByNumber: true,
  splitByWhitespace: true,
  treatWhitespaceAsSuffix: false,
  allowWhitespaceOnlyPieces: false,
  splitDigits: false,
  controlSymbols: [] as string[],
  userDefinedSymbols: [] as string[],
  requiredChars: "",
  byteFallback: false,
  vocabularyOutputPieceScore: true,
  hardVocabLimit: true,
  useAllVocab: false,
  unkId: 0,
  bosId: 1,
  eosId: 2,
  padId: -1,
  unkPiece: "<unk>",
  bosPiece: "<s>",
  eosPiece: "</s>",
  padPiece: "<pad>",
  unkSurface: " \u2047 ",
  trainExtremelyLargeCorpus: false,
  normalizationRuleName: "nmt_nfkc",
  addDummyPrefix: true,
  removeExtraWhitespaces: true,
} as const;

export class TrainerOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainerOptionError";
  }
}

/** util/validate's range check, thrown as the TrainerOptionError that callers of the trainer catch. */
function checkRange(name: string, v: number, min: number, max: number, integer: boolean): void {
  try {
    if (integer) intInRange(name, v, min, max);
    else numberInRange(name, v, min, max);
  } catch (err) {
    throw new TrainerOptionError(`trainer option ${(err as Error).message}`);
  }
}

/** Fills defaults and checks ranges exactly as spm_train's VerifySpec does. */
export function resolveOptions(options: TrainerOptions): ResolvedOptions {
  if (options === null || typeof options !== "object") throw new TrainerOptionError("trainer options: expected an object");
  const o = { ...DEFAULTS, ...stripUndefined(options) } as ResolvedOptions & { input?: string | string[]; normalizationRuleTsv?: string };
  const input = options.input === undefined ? [] : typeof options.input === "string" ? [options.input] : [...options.input];
  if (input.some((f) => typeof f !== "string" || f === "")) throw new TrainerOptionError("trainer option input: expected file names");
  if (input.length > 0 && options.sentences !== undefined)
    throw new TrainerOptionError("trainer options: give either input files or sentences, not both");
  if (input.length === 0 && options.sentences === undefined)
    throw new TrainerOptionError("trainer options: input (files) or sentences is required");
  if (!["unigram", "bpe", "word", "char"].includes(o.modelType)) {
    throw new TrainerOptionError(`trainer option modelType: expected unigram, bpe, word or char, got '${String(o.modelType)}'`);
  }
  if (!["", "text", "tsv"].includes(o.inputFormat))
    throw new TrainerOptionError(`trainer option inputFormat: expected text or tsv, got '${String(o.inputFormat)}'`);
  if (!(NORMALIZATION_RULES as readonly string[]).includes(o.normalizationRuleName)) {
    throw new TrainerOptionError(
      `trainer option normalizationRuleName: expected one of ${NORMALIZATION_RULES.join(", ")}, got '${String(o.normalizationRuleName)}'`,
    );
  }
  if (options.normalizationRuleTsv) {
    throw new TrainerOptionError(
      "trainer option normalizationRuleTsv: custom normalization rules are not supported; use normalizationRuleName",
    );
  }
  checkRange("vocabSize", o.vocabSize, 1, 2 ** 31 - 1, true);
  checkRange("characterCoverage", o.characterCoverage, 0.98, 1.0, false);
  checkRange("maxSentencepieceLength", o.maxSentencepieceLength, 1, 512, true);
  checkRange("numSubIterations", o.numSubIterations, 1, 10, true);
  checkRange("numThreads", o.numThreads, 1, 1024, true);
  checkRange("shrinkingFactor", o.shrinkingFactor, 0.5, 0.95, false);
  checkRange("maxSentenceLength", o.maxSentenceLength, 10, 1073741824, true);
  checkRange("seedSentencepieceSize", o.seedSentencepieceSize, 1, 2 ** 31 - 1, true);
  checkRange("inputSentenceSize", o.inputSentenceSize, 0, Number.MAX_SAFE_INTEGER, true);
  if (o.inputSentenceSize > 0 && o.inputSentenceSize <= 100) {
    throw new TrainerOptionError(`trainer option inputSentenceSize: must be 0 (all) or more than 100, got ${o.inputSentenceSize}`);
  }
  for (const k of ["unkId", "bosId", "eosId", "padId"] as const) checkRange(k, o[k], -1, 2 ** 31 - 1, true);
  for (const k of ["unkPiece", "bosPiece", "eosPiece", "padPiece"] as const) {
    if (typeof o[k] !== "string" || o[k] === "") throw new TrainerOptionError(`trainer option ${k}: must be a non-empty string`);
  }
  for (const k of ["controlSymbols", "userDefinedSymbols"] as const) {
    if (!Array.isArray(o[k]) || o[k].some((s) => typeof s !== "string" || s === "")) {
      throw new TrainerOptionError(`trainer option ${k}: expected a list of non-empty strings`);
    }
  }
  if ((o.modelType === "unigram" || o.modelType === "bpe") && o.useAllVocab) {
    throw new TrainerOptionError("trainer option useAllVocab: only valid for word and char models");
  }
  const seed = options.seed ?? DEFAULT_SAMPLER_SEED;
  checkRange("seed", seed, 0, 0xffffffff, true);
  return { ...o, input, sentences: options.sentences, seed, onProgress: options.onProgress ?? (() => {}) };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const MODEL_TYPE_IDS: Record<ModelTypeName, number> = {
  unigram: ModelType.UNIGRAM,
  bpe: ModelType.BPE,
  word: ModelType.WORD,
  char: ModelType.CHAR,
};

/** The TrainerSpec spm_train 0.1.97 records for these options (the same fields, set). */
export function toTrainerSpec(o: ResolvedOptions): TrainerSpec {
  const spec: TrainerSpec = {
    input: o.input,
    inputFormat: o.inputFormat,
    modelPrefix: o.modelPrefix,
    modelType: MODEL_TYPE_IDS[o.modelType],
    vocabSize: o.vocabSize,
    selfTestSampleSize: 0,
    characterCoverage: Math.fround(o.characterCoverage),
    inputSentenceSize: o.inputSentenceSize,
    seedSentencepieceSize: o.seedSentencepieceSize,
    shrinkingFactor: Math.fround(o.shrinkingFactor),
    numThreads: o.numThreads,
    numSubIterations: o.numSubIterations,
    maxSentenceLength: o.maxSentenceLength,
    shuffleInputSentence: o.shuffleInputSentence,
    maxSentencepieceLength: o.maxSentencepieceLength,
    splitByUnicodeScript: o.splitByUnicodeScript,
    splitByWhitespace: o.splitByWhitespace,
    splitByNumber: o.splitByNumber,
    treatWhitespaceAsSuffix: o.treatWhitespaceAsSuffix,
    splitDigits: o.splitDigits,
    allowWhitespaceOnlyPieces: o.allowWhitespaceOnlyPieces,
    vocabularyOutputPieceScore: o.vocabularyOutputPieceScore,
    hardVocabLimit: o.hardVocabLimit,
    useAllVocab: o.useAllVocab,
    byteFallback: o.byteFallback,
    requiredChars: o.requiredChars,
    unkId: o.unkId,
    bosId: o.bosId,
    eosId: o.eosId,
    padId: o.padId,
    unkSurface: o.unkSurface,
    unkPiece: o.unkPiece,
    bosPiece: o.bosPiece,
    eosPiece: o.eosPiece,
    padPiece: o.padPiece,
    trainExtremelyLargeCorpus: o.trainExtremelyLargeCorpus,
    enableDifferentialPrivacy: false,
    differentialPrivacyNoiseLevel: 0,
    differentialPrivacyClippingThreshold: 0,
  };
  if (o.controlSymbols.length > 0) spec.controlSymbols = o.controlSymbols;
  if (o.userDefinedSymbols.length > 0) spec.userDefinedSymbols = o.userDefinedSymbols;
  return spec;
}

/** The NormalizerSpec spm_train records: the rule's name and map, and the whitespace flags. */
export function toNormalizerSpec(o: ResolvedOptions, charsmap: Uint8Array): NormalizerSpec {
  return {
    name: o.normalizationRuleName,
    precompiledCharsmap: charsmap,
    addDummyPrefix: o.addDummyPrefix,
    removeExtraWhitespaces: o.removeExtraWhitespaces,
    normalizationRuleTsv: "",
  };
}
