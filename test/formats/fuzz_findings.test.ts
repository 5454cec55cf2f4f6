// Regression tests for what the fuzz harness (bench/fuzz/) found: each a file a user could be
// handed that made a loader fail badly (an internal error, gigabytes of memory, a hang) instead
// of refusing it with an error that names the file and the field.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadTokenizer } from "../../src/tokenizer/tokenizer.js";
import { loadCheckpoint } from "../../src/formats/load.js";
import { saveHFCheckpoint } from "../../src/formats/hf.js";
import { writeGGUFCheckpoint } from "../../src/formats/gguf_llama.js";
import { createModel, modelToCheckpoint, type LlamaConfig } from "../../src/models/index.js";
import { FormatError } from "../../src/util/errors.js";
import { readFileSync } from "node:fs";

const CONFIG: LlamaConfig = {
  model_type: "llama",
  vocab_size: 64,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 32,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: false,
};

const dir = mkdtempSync(join(tmpdir(), "tsgpt-fuzz-findings-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A minimal BPE tokenizer.json over the letters a–c, with `edit` applied. */
function tokenizerJson(edit: (j: { model: { vocab: Record<string, number> }; added_tokens: unknown[] }) => void): string {
  const j = {
    version: "1.0",
    added_tokens: [{ id: 4, content: "<eos>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    model: { type: "BPE", vocab: { a: 0, b: 1, c: 2, ab: 3 }, merges: ["a b"] },
  };
  edit(j);
  const p = join(dir, `tokenizer-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(p, JSON.stringify(j));
  return p;
}

test("tokenizer.json: a huge id in the vocabulary or the added tokens is refused at once, naming the entry", () => {
  const fine = loadTokenizer(tokenizerJson(() => {}));
  assert.deepEqual(fine.encodeAsIds("abc"), [3, 2]);
  // Ids size the id → piece table: 2^32 was "Invalid array length", 1e9 allocated gigabytes (a hang).
  for (const huge of [2 ** 32, 1e9, 2 ** 53]) {
    assert.throws(
      () => loadTokenizer(tokenizerJson((j) => (j.model.vocab.c = huge))),
      (e: Error) => /tokenizer-.*\.json: model\.vocab\["c"\]: expected an integer id in \[0, 16777215\]/.test(e.message),
    );
    assert.throws(
      () => loadTokenizer(tokenizerJson((j) => ((j.added_tokens[0] as { id: number }).id = huge))),
      (e: Error) => /added_tokens\[0\]: expected \{"id": integer in \[0, 16777215\]/.test(e.message),
    );
  }
});

test("config.json: 2^32 layers is refused naming the field (the loader used to walk them for hours)", async () => {
  const hf = join(dir, "hf");
  saveHFCheckpoint(hf, modelToCheckpoint(createModel(CONFIG, { seed: 1 })));
  const configPath = join(hf, "config.json");
  const config = JSON.parse(readFileSync(configPath, "utf8"));
  for (const layers of [2 ** 32, 2 ** 31, 1e9]) {
    writeFileSync(configPath, JSON.stringify({ ...config, num_hidden_layers: layers }));
    await assert.rejects(
      loadCheckpoint(hf),
      (e: unknown) =>
        e instanceof FormatError &&
        e.file === configPath &&
        e.field === "num_hidden_layers" &&
        /expected a layer count of at most 4096/.test(e.message),
    );
  }
});

test("GGUF: q / k rows that the head count does not divide are refused naming the tensor and the key", async () => {
  const path = join(dir, "model.gguf");
  writeGGUFCheckpoint(path, modelToCheckpoint(createModel(CONFIG, { seed: 1 })));
  const bytes = readFileSync(path);
  // The tensor info of blk.0.attn_k.weight: its name, n_dims (u32 = 2), then ne[0] (columns)
  // and ne[1] (rows) as u64. 15 rows do not split into the 2 kv heads.
  const name = Buffer.from("blk.0.attn_k.weight");
  const at = bytes.indexOf(name) + name.length;
  assert.equal(bytes.readUInt32LE(at), 2);
  assert.equal(bytes.readBigUInt64LE(at + 12), 16n);
  bytes.writeBigUInt64LE(15n, at + 12);
  writeFileSync(path, bytes);
  await assert.rejects(
    loadCheckpoint(path),
    (e: unknown) =>
      e instanceof FormatError &&
      e.file === path &&
      e.field === "blk.0.attn_k.weight" &&
      /shape \[15, 32\] does not split into 2 heads \(attention\.head_count_kv\) of an even head size/.test(e.message),
  );
});
