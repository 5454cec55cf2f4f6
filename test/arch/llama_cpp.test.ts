// Each Llama-like family, as tsgpt writes it to GGUF, run by llama.cpp (through node-llama-cpp):
// greedy decoding from the same prompt must give the same token ids as tsgpt's decoder. The
// GGUF carries a placeholder SentencePiece vocabulary of vocab_size tokens (llama.cpp wants one
// token per embedding row); prompts are token ids, so the tokenizer is never used.
// Skips when node-llama-cpp cannot be imported (it is not a dependency of tsgpt): install it, or
// point TSGPT_NODE_LLAMA_CPP at an installed node-llama-cpp package directory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createModel, modelToCheckpoint, type TransformerLM } from "../../src/models/index.js";
import { writeGGUFCheckpoint } from "../../src/formats/gguf_llama.js";
import { DecoderModel } from "../../src/generate/decoder.js";
import type { Checkpoint } from "../../src/formats/types.js";
import { randomizeParameters } from "../models/tiny.js";
import { FAMILIES } from "./tiny_families.js";

// Typed loosely: node-llama-cpp is optional and its types are not installed with tsgpt.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

async function loadNodeLlamaCpp(): Promise<Any | null> {
  const dir = process.env.TSGPT_NODE_LLAMA_CPP;
  const spec = dir ? pathToFileURL(join(dir, "dist", "index.js")).href : "node-llama-cpp";
  try {
    return await import(spec);
  } catch {
    return null;
  }
}

const nlc = await loadNodeLlamaCpp();
const skip = nlc ? false : "node-llama-cpp is not installed (set TSGPT_NODE_LLAMA_CPP to its package directory to run this check)";

/**
 * A placeholder SentencePiece vocabulary of n tokens: <unk>, <s>, </s>, the 256 byte tokens
 * (llama.cpp's tokenizer falls back to them for any text node-llama-cpp tokenizes at load), then
 * plain pieces.
 */
function placeholderVocab(ck: Checkpoint, n: number): void {
  const tokens = ["<unk>", "<s>", "</s>"];
  for (let b = 0; b < 256; b++) tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
  for (let i = tokens.length; i < n; i++) tokens.push(`t${i}`);
  const tokenTypes = Int32Array.from(tokens, (_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1));
  ck.vocab = { model: "llama", tokens, scores: new Float32Array(n), tokenTypes, unkId: 0, bosId: 1, eosId: 2 };
}

function greedyTsgpt(ck: Checkpoint, prompt: number[], steps: number): number[] {
  const d = DecoderModel.fromCheckpoint(ck);
  const cache = d.createCache(1, prompt.length + steps);
  let logits = d.forward(
    cache,
    Int32Array.from(prompt),
    Int32Array.from(prompt.keys()),
    new Uint8Array(prompt.length).fill(1),
    prompt.length,
  );
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v]! > logits[best]!) best = v;
    out.push(best);
    if (i + 1 < steps) logits = d.forward(cache, Int32Array.of(best), Int32Array.of(prompt.length + i), Uint8Array.of(1), 1);
  }
  return out;
}

async function greedyLlamaCpp(llama: Any, path: string, prompt: number[], steps: number): Promise<number[]> {
  const model = await llama.loadModel({ modelPath: path });
  try {
    const context = await model.createContext({ contextSize: 32 });
    const out: number[] = [];
    for await (const tok of context.getSequence().evaluate(prompt, { temperature: 0 })) {
      out.push(tok as number);
      if (out.length >= steps) break;
    }
    await context.dispose();
    return out;
  } finally {
    await model.dispose();
  }
}

test("llama.cpp decodes tsgpt's GGUF of each family greedily to the same ids as tsgpt", { skip }, async () => {
  const llama = await nlc.getLlama({ gpu: false, build: "never", logLevel: nlc.LlamaLogLevel.error });
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-llamacpp-"));
  try {
    for (const family of FAMILIES) {
      const name = family.name,
        config = { ...family.config, vocab_size: 300 }; // room for the byte tokens
      const model = createModel(config, { seed: 5 }) as TransformerLM;
      randomizeParameters(model, 6, 0.5);
      const ck = modelToCheckpoint(model);
      placeholderVocab(ck, config.vocab_size);
      const path = join(dir, `${config.model_type}.gguf`);
      writeGGUFCheckpoint(path, ck);
      // llama.cpp runs Mistral as its llama architecture, without the sliding window: Mistral is
      // compared only where the window (3) does not cut anything, one token after 3.
      const windowed = config.model_type === "mistral";
      const prompt = windowed ? [263, 7, 281] : [263, 7, 281, 19, 294],
        steps = windowed ? 1 : 12;
      const ours = greedyTsgpt(ck, prompt, steps);
      const theirs = await greedyLlamaCpp(llama, path, prompt, steps);
      console.log(`# ${name}: tsgpt ${JSON.stringify(ours)} llama.cpp ${JSON.stringify(theirs)}`);
      assert.deepEqual(theirs, ours, name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
