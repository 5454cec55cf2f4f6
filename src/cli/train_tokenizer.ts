// `tsgpt train-tokenizer`: train a SentencePiece model from text, like spm_train.
//   tsgpt train-tokenizer --input corpus.txt --model-prefix tok --vocab-size 8000 --model-type bpe
// writes tok.model (loads in the SentencePiece library too) and tok.vocab (piece<TAB>score).
// Flags are spm_train's, with dashes; flags that default to true are turned off with --no-...
import { parseOptions, numberOption, UsageError, type OptionSpecs, runCommand } from "./args.js";
import { trainSentencePiece, writeModelFiles } from "../tokenizer/trainer.js";
import { existsNonEmpty, refuseOverInputs } from "./outputs.js";
import { NORMALIZATION_RULES, type TrainerOptions } from "../tokenizer/trainer_options.js";

const SPECS: OptionSpecs = {
  input: { type: "string", arg: "FILE[,FILE]", help: "training text, one sentence per line" },
  "model-prefix": { type: "string", arg: "PREFIX", help: "writes PREFIX.model and PREFIX.vocab" },
  "model-type": { type: "string", arg: "TYPE", help: "unigram, bpe, char or word", default: "unigram" },
  "vocab-size": { type: "string", arg: "N", help: "vocabulary size", default: "8000" },
  "character-coverage": { type: "string", arg: "X", help: "share of characters the alphabet must cover", default: "0.9995" },
  "input-format": { type: "string", arg: "FMT", help: "text, or tsv (text<TAB>frequency)" },
  "input-sentence-size": { type: "string", arg: "N", help: "use at most N sentences (0: all)", default: "0" },
  "no-shuffle-input-sentence": { type: "boolean", help: "with --input-sentence-size, take the first N instead of a seeded random draw" },
  seed: { type: "string", arg: "N", help: "seed of the sentence sampler", default: "12345678" },
  "max-sentence-length": { type: "string", arg: "BYTES", help: "skip longer lines", default: "4192" },
  "max-sentencepiece-length": { type: "string", arg: "N", help: "longest piece in characters", default: "16" },
  "seed-sentencepiece-size": { type: "string", arg: "N", help: "unigram: seed vocabulary size", default: "1000000" },
  "shrinking-factor": { type: "string", arg: "X", help: "unigram: share of pieces kept per pruning round", default: "0.75" },
  "num-sub-iterations": { type: "string", arg: "N", help: "unigram: EM steps per round", default: "2" },
  "num-threads": {
    type: "string",
    arg: "N",
    help: "unigram: EM sums in N shards as spm_train's threads do, on up to N cores (the vocabulary depends on N, not on the cores)",
    default: "16",
  },
  "no-split-by-whitespace": { type: "boolean", help: "let pieces cross the space symbol" },
  "no-split-by-unicode-script": { type: "boolean", help: "let pieces mix scripts" },
  "no-split-by-number": { type: "boolean", help: "let digits join letters" },
  "split-digits": { type: "boolean", help: "every digit is its own piece" },
  "treat-whitespace-as-suffix": { type: "boolean", help: "the space symbol ends pieces instead of starting them" },
  "allow-whitespace-only-pieces": { type: "boolean", help: "allow pieces made only of spaces" },
  "user-defined-symbols": { type: "string", arg: "A,B", help: "pieces always kept whole" },
  "control-symbols": { type: "string", arg: "A,B", help: "control pieces (never produced from text)" },
  "required-chars": { type: "string", arg: "CHARS", help: "characters always in the vocabulary" },
  "byte-fallback": { type: "boolean", help: "add the 256 byte pieces; unknown characters become bytes" },
  "no-hard-vocab-limit": { type: "boolean", help: "allow a smaller vocabulary than --vocab-size" },
  "use-all-vocab": { type: "boolean", help: "char/word models: keep every character / word" },
  "unk-id": { type: "string", arg: "ID", help: "id of <unk>", default: "0" },
  "bos-id": { type: "string", arg: "ID", help: "id of <s> (-1: none)", default: "1" },
  "eos-id": { type: "string", arg: "ID", help: "id of </s> (-1: none)", default: "2" },
  "pad-id": { type: "string", arg: "ID", help: "id of <pad> (-1: none)", default: "-1" },
  "unk-piece": { type: "string", arg: "S", help: "unknown piece", default: "<unk>" },
  "bos-piece": { type: "string", arg: "S", help: "begin-of-sentence piece", default: "<s>" },
  "eos-piece": { type: "string", arg: "S", help: "end-of-sentence piece", default: "</s>" },
  "pad-piece": { type: "string", arg: "S", help: "padding piece", default: "<pad>" },
  "unk-surface": { type: "string", arg: "S", help: "text that decoding prints for <unk>", default: " \u2047 " },
  "normalization-rule-name": { type: "string", arg: "NAME", help: NORMALIZATION_RULES.join(", "), default: "nmt_nfkc" },
  "no-add-dummy-prefix": { type: "boolean", help: "do not add a space before the text" },
  "no-remove-extra-whitespaces": { type: "boolean", help: "keep leading, trailing and repeated spaces" },
  quiet: { type: "boolean", help: "no progress on stderr" },
  force: { type: "boolean", help: "overwrite an existing PREFIX.model / PREFIX.vocab" },
};

const SUMMARY = "Train a SentencePiece tokenizer (BPE, Unigram, char or word) from text; writes PREFIX.model and PREFIX.vocab.";

export function run(argv: string[]): Promise<number> {
  return runCommand("train-tokenizer", () => runOrThrow(argv));
}

/**
 * The one rule for outputs: PREFIX.model and PREFIX.vocab are not written over an existing file
 * without --force (a tokenizer that a trained model depends on would be silently replaced), and
 * never over one of the --input files.
 */
function checkOutputs(prefix: string, input: string, force: boolean): void {
  const inputs = Object.fromEntries(input.split(",").map((f, i) => [i === 0 ? "--input" : `--input (${i + 1})`, f]));
  for (const out of [`${prefix}.model`, `${prefix}.vocab`]) {
    refuseOverInputs(out, "--model-prefix", inputs);
    if (!force && existsNonEmpty(out)) throw new UsageError(`${out} already exists (add --force to overwrite it)`);
  }
}

function list(v: unknown): string[] | undefined {
  return typeof v === "string" ? v.split(",").filter((s) => s !== "") : undefined;
}

async function runOrThrow(argv: string[]): Promise<number> {
  const parsed = parseOptions("train-tokenizer", SUMMARY, argv, SPECS);
  if (!parsed) return 0;
  const v = parsed.values;
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
  if (typeof v.input !== "string" || v.input === "") throw new UsageError("--input is required");
  if (typeof v["model-prefix"] !== "string" || v["model-prefix"] === "") throw new UsageError("--model-prefix is required");
  const modelType = v["model-type"] as string;
  if (!["unigram", "bpe", "char", "word"].includes(modelType))
    throw new UsageError(`--model-type: expected unigram, bpe, char or word, got '${modelType}'`);
  const rule = v["normalization-rule-name"] as string;
  if (!(NORMALIZATION_RULES as readonly string[]).includes(rule)) {
    throw new UsageError(`--normalization-rule-name: expected one of ${NORMALIZATION_RULES.join(", ")}, got '${rule}'`);
  }
  const inputFormat = v["input-format"];
  if (inputFormat !== undefined && inputFormat !== "text" && inputFormat !== "tsv")
    throw new UsageError(`--input-format: expected text or tsv, got '${String(inputFormat)}'`);
  const int = (name: string, min?: number): number => numberOption(v, name, { integer: true, min })!;
  const num = (name: string): number => numberOption(v, name)!;
  const quiet = v.quiet === true;

  const options: TrainerOptions = {
    input: (v.input as string).split(",").filter((s) => s !== ""),
    modelPrefix: v["model-prefix"] as string,
    modelType: modelType as TrainerOptions["modelType"],
    vocabSize: int("vocab-size", 1),
    characterCoverage: num("character-coverage"),
    inputFormat: inputFormat === "tsv" ? "tsv" : inputFormat === "text" ? "text" : "",
    inputSentenceSize: int("input-sentence-size", 0),
    shuffleInputSentence: v["no-shuffle-input-sentence"] !== true,
    seed: int("seed", 0),
    maxSentenceLength: int("max-sentence-length"),
    maxSentencepieceLength: int("max-sentencepiece-length"),
    seedSentencepieceSize: int("seed-sentencepiece-size"),
    shrinkingFactor: num("shrinking-factor"),
    numSubIterations: int("num-sub-iterations"),
    numThreads: int("num-threads"),
    splitByWhitespace: v["no-split-by-whitespace"] !== true,
    splitByUnicodeScript: v["no-split-by-unicode-script"] !== true,
    splitByNumber: v["no-split-by-number"] !== true,
    splitDigits: v["split-digits"] === true,
    treatWhitespaceAsSuffix: v["treat-whitespace-as-suffix"] === true,
    allowWhitespaceOnlyPieces: v["allow-whitespace-only-pieces"] === true,
    userDefinedSymbols: list(v["user-defined-symbols"]),
    controlSymbols: list(v["control-symbols"]),
    requiredChars: typeof v["required-chars"] === "string" ? v["required-chars"] : undefined,
    byteFallback: v["byte-fallback"] === true,
    hardVocabLimit: v["no-hard-vocab-limit"] !== true,
    useAllVocab: v["use-all-vocab"] === true,
    unkId: int("unk-id"),
    bosId: int("bos-id"),
    eosId: int("eos-id"),
    padId: int("pad-id"),
    unkPiece: v["unk-piece"] as string,
    bosPiece: v["bos-piece"] as string,
    eosPiece: v["eos-piece"] as string,
    padPiece: v["pad-piece"] as string,
    unkSurface: v["unk-surface"] as string,
    normalizationRuleName: rule as TrainerOptions["normalizationRuleName"],
    addDummyPrefix: v["no-add-dummy-prefix"] !== true,
    removeExtraWhitespaces: v["no-remove-extra-whitespaces"] !== true,
    onProgress: quiet ? undefined : (m) => console.error(`train-tokenizer: ${m}`),
  };
  checkOutputs(options.modelPrefix!, v.input, v.force === true);
  const proto = await trainSentencePiece(options);
  const files = writeModelFiles(proto, options.modelPrefix!);
  if (!quiet) console.error(`train-tokenizer: wrote ${files.model} and ${files.vocab}`);
  return 0;
}
