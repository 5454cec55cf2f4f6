// A character-level vocabulary (nanoGPT's shakespeare_char) stored as a SentencePiece model,
// so a checkpoint trained on characters stays self-contained: its tokenizer.model loads in
// tsgpt and in the SentencePiece library like any other.
//
// The model is BPE without merges: every piece is one character, so encoding splits the text
// into characters and maps each to its id (unknown characters to <unk>, id 0). The normalizer
// is the identity, with no dummy prefix, no whitespace folding and no "▁" escaping: the pieces
// are exactly the characters of the text, line breaks included.
import { ModelType, PieceType, type ModelProto } from "../tokenizer/index.js";
import { forEachLine } from "./text_source.js";

/** The distinct characters of `files` (line breaks included when there is more than one line), sorted by code point. */
export function collectCharacters(files: readonly string[]): string[] {
  const seen = new Set<string>();
  let lines = 0;
  forEachLine(files, (line) => {
    lines++;
    for (const ch of line) seen.add(ch);
  });
  if (lines > 1) seen.add("\n");
  return [...seen].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
}

/** A SentencePiece ModelProto whose pieces are <unk> followed by `chars`. */
export function charModelProto(chars: readonly string[]): ModelProto {
  const unique = [...new Set(chars)];
  for (const c of unique) {
    if ([...c].length !== 1) throw new RangeError(`charModelProto: "${c}" is not a single character`);
  }
  return {
    pieces: [
      { piece: "<unk>", score: 0, type: PieceType.UNKNOWN },
      // Scores only order merges, and there are none; decreasing scores keep the proto conventional.
      ...unique.map((c, i) => ({ piece: c, score: -i, type: PieceType.NORMAL })),
    ],
    trainerSpec: {
      modelType: ModelType.BPE,
      vocabSize: unique.length + 1,
      unkId: 0,
      bosId: -1,
      eosId: -1,
      padId: -1,
      characterCoverage: 1,
      splitByWhitespace: false,
      byteFallback: false,
    },
    normalizerSpec: {
      name: "identity",
      addDummyPrefix: false,
      removeExtraWhitespaces: false,
      escapeWhitespaces: false,
    },
  };
}
