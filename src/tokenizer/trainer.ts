// Training SentencePiece models: `trainSentencePiece(options)` is what `spm_train` does.
// It loads and normalizes the text (train/sentences.ts), runs the BPE, Unigram, char or word
// trainer, and lays the pieces out around the special pieces exactly as the library does,
// so the result loads in the C++ library and in tsgpt alike.
import { writeFileAtomic } from "../util/atomic_write.js";
import { serializeModelProto, type ModelProto, type SentencePiece } from "./model_proto.js";
import { resolveOptions, toNormalizerSpec, toTrainerSpec, type ResolvedOptions, type TrainerOptions } from "./trainer_options.js";
import { loadCharsmap } from "./train/charsmaps.js";
import { metaPieces, type MetaPiece } from "./train/meta_pieces.js";
import { loadCorpus, type Corpus } from "./train/sentences.js";
import { countWords } from "./train/words.js";
import { UNK_CHAR, type PieceRules } from "./train/piece_rules.js";
import { trainBpePieces } from "./trainer_bpe.js";
import { trainUnigramPieces } from "./trainer_unigram.js";

export type { TrainerOptions } from "./trainer_options.js";

/** Trains a model from text; the returned proto is ready for serializeModelProto / writeModelFiles. */
export async function trainSentencePiece(options: TrainerOptions): Promise<ModelProto> {
  const o = resolveOptions(options);
  const normalizerSpec = toNormalizerSpec(o, loadCharsmap(o.normalizationRuleName));
  const trainerSpec = toTrainerSpec(o);
  const meta = metaPieces(o);
  const metaStrings = [...meta.values()].map((m) => m.piece);
  const started = Date.now();
  const corpus = await loadCorpus(o, normalizerSpec, metaStrings);
  const pieces = await learnPieces(o, corpus, meta.size);
  const proto = layOut(o, meta, pieces);
  proto.trainerSpec = { ...trainerSpec, vocabSize: o.hardVocabLimit && o.modelType !== "char" ? o.vocabSize : proto.pieces.length };
  if ((o.modelType === "char" || o.modelType === "word") && o.useAllVocab) proto.trainerSpec.vocabSize = proto.pieces.length;
  proto.normalizerSpec = normalizerSpec;
  o.onProgress(`trained ${proto.pieces.length} pieces in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return proto;
}

function pieceRules(o: ResolvedOptions): PieceRules {
  return {
    maxSentencepieceLength: o.maxSentencepieceLength,
    splitByWhitespace: o.splitByWhitespace,
    splitByUnicodeScript: o.splitByUnicodeScript,
    splitByNumber: o.splitByNumber,
    splitDigits: o.splitDigits,
    treatWhitespaceAsSuffix: o.treatWhitespaceAsSuffix,
    allowWhitespaceOnlyPieces: o.allowWhitespaceOnlyPieces,
  };
}

/** The learned pieces with their scores, in vocabulary order. */
async function learnPieces(o: ResolvedOptions, corpus: Corpus, metaCount: number): Promise<Array<[string, number]>> {
  const rules = pieceRules(o);
  switch (o.modelType) {
    case "bpe":
      return trainBpePieces({
        sentences: corpus.sentences,
        requiredChars: corpus.requiredChars,
        rules,
        numMerges: o.vocabSize - metaCount - corpus.requiredChars.length,
        splitIntoWords: o.splitByWhitespace,
        treatWhitespaceAsSuffix: o.treatWhitespaceAsSuffix,
        allowWhitespaceOnlyPieces: o.allowWhitespaceOnlyPieces,
        onProgress: o.onProgress,
      });
    case "unigram":
      return trainUnigramPieces({
        sentences: corpus.sentences,
        requiredChars: corpus.requiredChars,
        rules,
        vocabSize: o.vocabSize,
        metaCount,
        seedSentencepieceSize: o.seedSentencepieceSize,
        shrinkingFactor: o.shrinkingFactor,
        numSubIterations: o.numSubIterations,
        numThreads: o.numThreads,
        splitIntoWords: o.splitByWhitespace,
        treatWhitespaceAsSuffix: o.treatWhitespaceAsSuffix,
        allowWhitespaceOnlyPieces: o.allowWhitespaceOnlyPieces,
        inputFormatTsv: o.inputFormat === "tsv",
        onProgress: o.onProgress,
      });
    case "char":
      return charPieces(o, corpus, metaCount);
    case "word":
      return wordPieces(o, corpus, metaCount);
  }
}

/** Char model: the alphabet, scored by log frequency (char_model_trainer.cc). */
function charPieces(o: ResolvedOptions, corpus: Corpus, metaCount: number): Array<[string, number]> {
  // float logarithms, as char_model_trainer.cc computes them.
  let sum = 0;
  for (const [, f] of corpus.requiredChars) sum += f;
  const logsum = Math.fround(Math.log(Math.fround(sum)));
  const out: Array<[string, number]> = [];
  for (const [c, f] of corpus.requiredChars) {
    if (!o.useAllVocab && out.length === o.vocabSize - metaCount) break;
    out.push([String.fromCodePoint(c), Math.fround(Math.fround(Math.log(Math.fround(f))) - logsum)]);
  }
  return out;
}

/** Word model: the most frequent words, scored by log frequency (word_model_trainer.cc). */
function wordPieces(o: ResolvedOptions, corpus: Corpus, metaCount: number): Array<[string, number]> {
  const words = countWords(corpus.sentences, o.treatWhitespaceAsSuffix, o.allowWhitespaceOnlyPieces);
  let sum = 0;
  for (const w of words) sum += w.freq;
  const logsum = Math.fround(Math.log(Math.fround(sum)));
  const unk = String.fromCodePoint(UNK_CHAR);
  const out: Array<[string, number]> = [];
  for (const w of words) {
    if (w.text.includes(unk)) continue;
    if (!o.useAllVocab && out.length === o.vocabSize - metaCount) break;
    out.push([w.text, Math.fround(Math.fround(Math.log(Math.fround(w.freq))) - logsum)]);
  }
  return out;
}

/** Special pieces at their ids, learned pieces filling the other ids in order (Serialize()). */
function layOut(o: ResolvedOptions, meta: Map<number, MetaPiece>, learned: Array<[string, number]>): ModelProto {
  const pieces: SentencePiece[] = [];
  const seen = new Set<string>();
  const add = (p: SentencePiece): void => {
    if (seen.has(p.piece)) throw new Error(`trainer: piece '${p.piece}' would appear twice in the vocabulary`);
    seen.add(p.piece);
    pieces.push(p);
  };
  const vocabSize = (o.modelType === "char" || o.modelType === "word") && o.useAllVocab ? learned.length + meta.size : o.vocabSize;
  let next = 0;
  for (let id = 0; id < vocabSize; id++) {
    const m = meta.get(id);
    if (m) add({ piece: m.piece, score: 0, type: m.type });
    else if (next < learned.length) {
      const [piece, score] = learned[next++]!;
      add({ piece, score: Math.fround(score) });
    }
  }
  if (next !== learned.length) throw new Error(`trainer: ${learned.length - next} learned pieces do not fit in vocabSize ${vocabSize}`);
  if (o.hardVocabLimit && o.modelType !== "char" && pieces.length !== vocabSize) {
    throw new Error(`Vocabulary size too high (${vocabSize}). Please set it to a value <= ${pieces.length}.`);
  }
  return { pieces };
}

/** A float as C++ `std::ostream << float` prints it (%g, 6 significant digits). */
export function formatScore(x: number): string {
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  if (!Number.isFinite(x)) return Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
  const [mant, expStr] = x.toExponential(5).split("e") as [string, string];
  const exp = Number(expStr);
  if (exp < -4 || exp >= 6) {
    const m = mant.includes(".") ? mant.replace(/0+$/, "").replace(/\.$/, "") : mant;
    return `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  const fixed = x.toFixed(Math.max(0, 5 - exp));
  return fixed.includes(".") ? fixed.replace(/0+$/, "").replace(/\.$/, "") : fixed;
}

/** The .vocab text: "piece<TAB>score" per line (only the piece without vocabulary_output_piece_score). */
export function vocabText(proto: ModelProto): string {
  const withScore = proto.trainerSpec?.vocabularyOutputPieceScore ?? true;
  return proto.pieces.map((p) => (withScore ? `${p.piece}\t${formatScore(p.score ?? 0)}` : p.piece) + "\n").join("");
}

/** Writes PREFIX.model and PREFIX.vocab (each atomically). Returns the two paths. */
export function writeModelFiles(proto: ModelProto, prefix: string): { model: string; vocab: string } {
  if (!prefix) throw new Error("writeModelFiles: a model prefix is required");
  const model = `${prefix}.model`,
    vocab = `${prefix}.vocab`;
  writeFileAtomic(model, serializeModelProto(proto));
  writeFileAtomic(vocab, Buffer.from(vocabText(proto), "utf8"));
  return { model, vocab };
}
