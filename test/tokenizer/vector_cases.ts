// Reads the shared SentencePiece test vectors (../shared/testdata/tokenizer/*.public.jsonl).
import { readFileSync } from "node:fs";
import { sharedPath } from "../helpers/shared.js";

export const MODELS = ["llama2", "tok512", "bpe8k_nfkc", "unigram8k_nfkc", "bpe4k_identity_bytefallback"] as const;

export interface VectorCase {
  text: string;
  ids: number[];
  pieces: string[];
  decoded: string;
  case: string;
}

export function loadVectors(model: string): VectorCase[] {
  const lines = readFileSync(sharedPath("testdata", "tokenizer", `${model}.public.jsonl`), "utf8").split("\n");
  return lines.filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as VectorCase);
}

export function modelPath(model: string): string {
  return sharedPath("testdata", "tokenizer", `${model}.model`);
}
