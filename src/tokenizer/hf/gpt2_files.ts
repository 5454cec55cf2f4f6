// GPT-2's original tokenizer files: vocab.json ({"token": id}) and merges.txt (one "a b" merge
// per line, after a "#version" line). They mean a byte-level BPE with GPT-2's split pattern —
// the tokenizer.json transformers builds from them (GPT2TokenizerFast), which we build too.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { HFTokenizer, readJson } from "./hf_tokenizer.js";
import { TokenizerFileError } from "./config.js";

const END_OF_TEXT = "<|endoftext|>";

/** A tokenizer from vocab.json and merges.txt (tokenizer_config.json beside them is read when present). */
export function loadGpt2Files(vocabPath: string, mergesPath: string): HFTokenizer {
  const vocab = readJson(vocabPath, "GPT-2 vocabulary");
  if (vocab === null || typeof vocab !== "object" || Array.isArray(vocab))
    throw new TokenizerFileError(`${vocabPath}: expected a JSON object {"token": id}`);
  const merges = readMerges(mergesPath);
  const configPath = join(dirname(vocabPath), "tokenizer_config.json");
  const hasEnd = Object.hasOwn(vocab, END_OF_TEXT);
  const config = existsSync(configPath) ? readJson(configPath, "tokenizer config") : hasEnd ? { eos_token: END_OF_TEXT } : {};
  const json = {
    model: { type: "BPE", vocab, merges, unk_token: null, byte_fallback: false },
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, use_regex: true },
    post_processor: { type: "ByteLevel", trim_offsets: false },
    decoder: { type: "ByteLevel" },
    added_tokens: hasEnd
      ? [{ id: (vocab as Record<string, number>)[END_OF_TEXT], content: END_OF_TEXT, special: true, normalized: false }]
      : [],
  };
  return new HFTokenizer(json, config, vocabPath);
}

function readMerges(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`cannot read GPT-2 merges '${path}': ${(err as Error).message}`);
  }
  const merges: string[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line === "" || (i === 0 && line.startsWith("#version"))) return;
    if (line.split(" ").length !== 2) throw new TokenizerFileError(`${path}:${i + 1}: expected "a b", got ${JSON.stringify(line)}`);
    merges.push(line);
  });
  return merges;
}
