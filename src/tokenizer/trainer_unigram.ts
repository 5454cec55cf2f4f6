import type { PieceRules } from "./train/piece_rules.js";
import type { Sentence } from "./train/sentences.js";
export interface UnigramInput {
  sentences: Sentence[];
  requiredChars: Array<[number, number]>;
  rules: PieceRules;
  vocabSize: number;
  metaCount: number;
  seedSentencepieceSize: number;
  shrinkingFactor: number;
  numSubIterations: number;
  splitIntoWords: boolean;
  treatWhitespaceAsSuffix: boolean;
  allowWhitespaceOnlyPieces: boolean;
  inputFormatTsv: boolean;
  onProgress?: (message: string) => void;
}
export function trainUnigramPieces(input: UnigramInput): Array<[string, number]> {
  throw new Error("todo " + input.vocabSize);
}
