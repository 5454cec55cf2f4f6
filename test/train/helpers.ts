// Shared pieces of the training tests: temporary directories, a tiny model, a character
// tokenizer, and PyTorch (Debian's python3-torch) as the reference when it is installed.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SentencePieceProcessor, serializeModelProto } from "../../src/tokenizer/index.js";
import { createModel, type CausalLM, type ModelConfig } from "../../src/models/index.js";
import { charModelProto } from "../../src/train/index.js";
import { saveHFCheckpoint } from "../../src/formats/hf.js";
import { LlamaForCausalLM, modelToCheckpoint } from "../../src/models/index.js";
import { sharedPath } from "../helpers/shared.js";

export function tempDir(prefix = "tsgpt-train-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const TEXT =
  [
    "First Citizen:",
    "Before we proceed any further, hear me speak.",
    "",
    "All:",
    "Speak, speak.",
    "You are all resolved rather to die than to famish?",
    "Resolved. resolved.",
  ].join("\n") + "\n";

/** A character-level tokenizer over TEXT's characters, written to dir/tokenizer.model. */
export function charTokenizer(dir: string, text = TEXT): { sp: SentencePieceProcessor; path: string } {
  const chars = [...new Set([...text])].sort();
  const path = join(dir, "tokenizer.model");
  writeFileSync(path, serializeModelProto(charModelProto(chars)));
  return { sp: SentencePieceProcessor.load(path), path };
}

export function tinyGPT2Config(vocabSize: number, context = 16): ModelConfig {
  return {
    model_type: "gpt2",
    vocab_size: vocabSize,
    n_embd: 16,
    n_layer: 1,
    n_head: 2,
    n_positions: context,
    layer_norm_epsilon: 1e-5,
    activation_function: "gelu_new",
    tie_word_embeddings: true,
    bias: true,
  };
}

export function tinyLlamaConfig(vocabSize: number, context = 16): ModelConfig {
  return {
    model_type: "llama",
    vocab_size: vocabSize,
    hidden_size: 16,
    intermediate_size: 32,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    max_position_embeddings: context,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: false,
  };
}

export function tinyModel(config: ModelConfig, seed = 7): CausalLM {
  return createModel(config, { seed });
}

export const python = process.env.TSGPT_PYTHON ?? "/usr/bin/python3";
let torchOk: boolean | undefined;

/** For node:test's `skip`: false when PyTorch imports, else the reason. */
export function skipUnlessTorch(): false | string {
  if (torchOk === undefined) {
    torchOk = existsSync(python) && spawnSync(python, ["-c", "import torch"], { stdio: "ignore", timeout: 60_000 }).status === 0;
  }
  return torchOk ? false : `PyTorch not available via ${python} (set TSGPT_PYTHON)`;
}

/** Runs a Python script with JSON on stdin and parses the JSON it prints. */
export function runPythonJson(script: string, input: unknown): unknown {
  const r = spawnSync(python, ["-c", script], { input: JSON.stringify(input), maxBuffer: 64 << 20, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr?.toString()}`);
  return JSON.parse(r.stdout.toString());
}

/** Runs a CLI entry point, capturing what it writes to stdout and stderr. */
export async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  const ce = console.error;
  process.stdout.write = ((s: string) => {
    out += s;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => {
    err += s;
    return true;
  }) as typeof process.stderr.write;
  console.error = (...a: unknown[]) => {
    err += a.join(" ") + "\n";
  };
  try {
    return { code: await fn(), out, err };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
    console.error = ce;
  }
}

/** The shared 512-piece tokenizer the fine-tuning tests use (under ../shared). */
export const FINETUNE_TOKENIZER = ["testdata", "tokenizer", "tok512.model"] as const;

/**
 * A fine-tuning fixture in `dir`: a tiny random Llama base saved as an HF directory with the
 * shared tokenizer, and 12 instruction rows as JSONL.
 */
export function writeTinyFinetuneBase(dir: string): { base: string; data: string } {
  const model = new LlamaForCausalLM(
    {
      model_type: "llama",
      vocab_size: 512,
      hidden_size: 16,
      intermediate_size: 32,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      num_key_value_heads: 2,
      max_position_embeddings: 128,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: true,
      bos_token_id: 1,
      eos_token_id: 2,
    },
    { seed: 3 },
  );
  const base = join(dir, "tiny-base");
  saveHFCheckpoint(base, { ...modelToCheckpoint(model), tokenizerPath: sharedPath(...FINETUNE_TOKENIZER) });
  const data = join(dir, "tiny.jsonl");
  const rows = Array.from({ length: 12 }, (_, i) => JSON.stringify({ instruction: `Count to ${i}.`, output: `one two ${i}` }));
  writeFileSync(data, `${rows.join("\n")}\n`);
  return { base, data };
}
