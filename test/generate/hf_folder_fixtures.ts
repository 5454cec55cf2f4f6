// Hugging Face checkpoint folders for the in-browser loader's tests, written by tsgpt's own savers:
// stories260K (the shared model) with its SentencePiece tokenizer.model, and a tiny random Llama
// with a byte-level tokenizer.json cut from Qwen3's (+ its tokenizer_config.json), its weights in
// F16 split over two shards with model.safetensors.index.json (as transformers writes large models).
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadCheckpoint } from "../../src/formats/load.js";
import { saveHFCheckpoint } from "../../src/formats/hf.js";
import { readSafetensors, writeSafetensors } from "../../src/formats/safetensors.js";
import type { PickedFile } from "../../src/generate/in_browser.js";
import { loadTokenizer } from "../../src/tokenizer/tokenizer.js";
import { sharedPath } from "../helpers/shared.js";
import { shippedDir } from "../tokenizer/hf_reference.js";
import { tinyLlama } from "./tiny_models.js";

/** stories260K as a Hugging Face folder with tokenizer.model, in `dir`. */
export async function writeStoriesHF(dir: string): Promise<string> {
  const ckpt = await loadCheckpoint(sharedPath("models", "stories260K", "stories260K.bin"));
  ckpt.tokenizerPath = sharedPath("models", "stories260K", "tok512.model");
  saveHFCheckpoint(dir, ckpt);
  return dir;
}

/**
 * Qwen3's tokenizer.json with its vocabulary cut to the 256 byte symbols and the first `merges`
 * merges (BPE ids follow merge order, so the cut is closed under merging), its added tokens
 * renumbered after them: Qwen3's normalizer, regex split, byte-level mapping and decoder, with a
 * vocabulary small enough for a tiny test model.
 */
function qwenStyleTokenizer(tokDir: string, merges: number): object {
  const json = JSON.parse(readFileSync(join(tokDir, "tokenizer.json"), "utf8"));
  const size = 256 + merges;
  const vocab = Object.fromEntries(Object.entries(json.model.vocab as Record<string, number>).filter(([, id]) => id < size));
  const added = (json.added_tokens as { id: number }[]).map((t, i) => ({ ...t, id: size + i }));
  return { ...json, added_tokens: added, model: { ...json.model, vocab, merges: json.model.merges.slice(0, merges) } };
}

/**
 * A tiny Llama (2 layers, hidden 16) with a byte-level tokenizer.json cut from Qwen3's (and its
 * tokenizer_config.json), in F16, with two weight shards and an index; null when the dev
 * dependency holding Qwen3's tokenizer is not installed.
 */
export function writeShardedQwenTokenizerHF(dir: string): string | null {
  const tokDir = shippedDir("qwen3");
  if (!tokDir) return null;
  mkdirSync(join(dir, "tok"), { recursive: true });
  writeFileSync(join(dir, "tok", "tokenizer.json"), JSON.stringify(qwenStyleTokenizer(tokDir, 1500)));
  copyFileSync(join(tokDir, "tokenizer_config.json"), join(dir, "tok", "tokenizer_config.json"));
  const tokenizer = loadTokenizer(join(dir, "tok", "tokenizer.json"));
  const ckpt = tinyLlama(7, { vocab: tokenizer.vocabSize, context: 128 });
  delete ckpt.config.bos_token_id; // Qwen3 has no BOS
  ckpt.config.eos_token_id = tokenizer.eosId;
  ckpt.tokenizerPath = join(dir, "tok", "tokenizer.json"); // copied with its tokenizer_config.json
  saveHFCheckpoint(dir, ckpt, { dtype: "F16" });
  rmSync(join(dir, "tok"), { recursive: true });
  // Re-shard model.safetensors as transformers does for large models: two files and an index.
  const whole = join(dir, "model.safetensors");
  const { tensors } = readSafetensors(whole);
  const names = [...tensors.keys()];
  const shards = [names.slice(0, names.length >> 1), names.slice(names.length >> 1)];
  const weightMap: Record<string, string> = {};
  shards.forEach((part, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    writeSafetensors(
      join(dir, file),
      part.map((n) => [n, tensors.get(n)!]),
      { format: "pt" },
    );
    for (const n of part) weightMap[n] = file;
  });
  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }, null, 2));
  rmSync(whole);
  return dir;
}

/** The files directly in `dir` as a page's picked files (what a browser File gives). */
export function pickedFiles(dir: string): PickedFile[] {
  return readdirSync(dir).map((name) => ({
    name,
    arrayBuffer: async () => {
      const b = readFileSync(join(dir, name));
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
    },
  }));
}
