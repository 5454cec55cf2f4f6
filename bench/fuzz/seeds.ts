// The valid files the fuzzer starts from, one folder per format, made here (not read from
// ../shared) so a run needs nothing but the repository: a tiny Llama (hidden 32, 2 layers, vocab
// 300) written as safetensors, a Hugging Face directory, GGUF and llama2.c; a SentencePiece BPE
// model trained on a few lines; a byte-level BPE tokenizer.json; a PEFT adapter for the model.
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeSafetensors } from "../../src/formats/safetensors.js";
import { saveHFCheckpoint } from "../../src/formats/hf.js";
import { writeGGUFCheckpoint } from "../../src/formats/gguf_llama.js";
import { writeLlama2c } from "../../src/formats/llama2c.js";
import { loraConfig, writeAdapter, type LoraLayerWeights } from "../../src/formats/peft.js";
import { createModel, modelToCheckpoint, type LlamaConfig } from "../../src/models/index.js";
import { serializeModelProto } from "../../src/tokenizer/model_proto.js";
import { trainSentencePiece } from "../../src/tokenizer/trainer.js";

export const FORMATS = ["safetensors", "hf", "gguf", "llama2c", "spm", "tokenizer-json", "peft"] as const;
export type FuzzFormat = (typeof FORMATS)[number];

/** Where each format's seed lives under the seeds folder: a file or a directory. */
export const SEED_PATH: Record<FuzzFormat, string> = {
  safetensors: "model.safetensors",
  hf: "hf",
  gguf: "model.gguf",
  llama2c: "model.bin",
  spm: "tokenizer.model",
  "tokenizer-json": "tokenizer.json",
  peft: "adapter",
};

const TEXT = [
  "Once upon a time there was a little fox named Fig.",
  "Fig liked to run in the park with her friend the clock.",
  "데비안은 자유 소프트웨어입니다. 한국어 문장도 하나 넣습니다.",
  "Tick, tock, said the clock, and the sun went down.",
];

export const VOCAB = 340;

export const CONFIG: LlamaConfig = {
  model_type: "llama",
  vocab_size: VOCAB,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: false,
  bos_token_id: 1,
  eos_token_id: 2,
};

/** GPT-2's byte → printable character table (the ByteLevel pre-tokenizer's alphabet). */
function byteChars(): string[] {
  const direct = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let extra = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(direct(b) ? b : 256 + extra++));
}

/** A small byte-level BPE tokenizer.json (GPT-2's layout): 256 byte symbols, a few merges, one special token. */
function tokenizerJson(): string {
  const chars = byteChars();
  const vocab: Record<string, number> = {};
  chars.forEach((c, i) => {
    vocab[c] = i;
  });
  const sp = chars[32]!; // "Ġ"
  const merges = [
    [sp, "t"],
    ["h", "e"],
    [`${sp}t`, "he"],
    ["o", "n"],
    [sp, "a"],
    ["i", "n"],
  ];
  for (const [a, b] of merges) vocab[a! + b!] = Object.keys(vocab).length;
  vocab["<|endoftext|>"] = Object.keys(vocab).length;
  return JSON.stringify({
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: vocab["<|endoftext|>"],
        content: "<|endoftext|>",
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
    ],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      vocab,
      merges: merges.map((m) => m.join(" ")),
    },
  });
}

/** Writes every seed under `dir` (created); returns `dir`. */
export async function writeSeeds(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const textPath = join(dir, "text.txt");
  writeFileSync(textPath, `${TEXT.join("\n")}\n`.repeat(3));
  const proto = await trainSentencePiece({
    input: [textPath],
    modelType: "bpe",
    vocabSize: VOCAB,
    byteFallback: true,
    hardVocabLimit: false,
  });
  const spm = join(dir, SEED_PATH.spm);
  writeFileSync(spm, serializeModelProto(proto));

  const model = createModel(CONFIG, { seed: 7 });
  const ckpt = modelToCheckpoint(model, { tokenizerPath: spm });
  writeSafetensors(join(dir, SEED_PATH.safetensors), ckpt.tensors);
  saveHFCheckpoint(join(dir, SEED_PATH.hf), ckpt);
  writeGGUFCheckpoint(join(dir, SEED_PATH.gguf), ckpt);
  writeLlama2c(join(dir, SEED_PATH.llama2c), ckpt);
  copyFileSync(spm, join(dir, "tokenizer-for-bin.model"));
  writeFileSync(join(dir, SEED_PATH["tokenizer-json"]), tokenizerJson());

  const r = 4;
  const h = CONFIG.hidden_size;
  const factor = (rows: number, cols: number, scale: number) => ({
    shape: [rows, cols],
    data: Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 0.37) * scale),
  });
  const layers = new Map<string, LoraLayerWeights>();
  for (let l = 0; l < CONFIG.num_hidden_layers; l++) {
    layers.set(`model.layers.${l}.self_attn.q_proj`, { a: factor(r, h, 0.1), b: factor(h, r, 0.01) });
    layers.set(`model.layers.${l}.self_attn.v_proj`, { a: factor(r, h, 0.1), b: factor((h / 4) * 2, r, 0.01) });
  }
  writeAdapter(join(dir, SEED_PATH.peft), { config: loraConfig({ r, loraAlpha: 8, targetModules: ["q_proj", "v_proj"] }), layers });
  return dir;
}
