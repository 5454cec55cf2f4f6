// The tokenizer rebuilt from a GGUF's embedded vocabulary (tokenizer.ggml.*) encodes like the
// SentencePiece model it came from: stories260K written to GGUF with tok512's vocabulary, then
// the first 50 shared tok512 vectors (made by the C++ library) encoded with the GGUF's tokenizer.
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { readLlama2c } from "../../src/formats/llama2c.js";
import { readGGUFCheckpoint, writeGGUFCheckpoint } from "../../src/formats/gguf_llama.js";
import { modelProtoFromVocab, tokenizerForCheckpoint } from "../../src/formats/gguf_tokenizer.js";
import type { Checkpoint } from "../../src/formats/types.js";

const skip =
  skipUnlessShared("models", "stories260K", "stories260K.bin") || skipUnlessShared("testdata", "tokenizer", "tok512.public.jsonl");

describe("tokenizer from a GGUF's embedded vocabulary", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-gguf-tok-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("encodes the shared tok512 vectors as the C++ library did", () => {
    const ckpt = readLlama2c(sharedPath("models", "stories260K", "stories260K.bin"));
    ckpt.tokenizerPath = sharedPath("models", "stories260K", "tok512.model");
    const path = join(dir, "stories260K.gguf");
    writeGGUFCheckpoint(path, ckpt);
    const gguf = readGGUFCheckpoint(path);
    assert.ok(gguf.vocab, "the GGUF carries a vocabulary");
    const sp = tokenizerForCheckpoint(gguf);
    assert.equal(sp.vocabSize, 512);
    const cases = readFileSync(sharedPath("testdata", "tokenizer", "tok512.public.jsonl"), "utf8")
      .split("\n")
      .filter((l) => l.trim())
      .slice(0, 50)
      .map((l) => JSON.parse(l) as { text: string; ids: number[] });
    assert.equal(cases.length, 50);
    for (const c of cases) {
      assert.deepEqual(sp.encode(c.text), c.ids, JSON.stringify(c.text));
      assert.equal(sp.decode(c.ids), sp.decode(sp.encode(c.text)));
    }
  });

  test("clear errors for vocabularies that are not SentencePiece ones", () => {
    const noVocab = { source: { path: "x.gguf", format: "gguf" } } as unknown as Checkpoint;
    assert.throws(() => tokenizerForCheckpoint(noVocab), /x\.gguf: no SentencePiece tokenizer/);
    assert.throws(() => modelProtoFromVocab({ model: "gpt2", tokens: ["a"] }, "y.gguf"), /y\.gguf: tokenizer\.ggml\.model is 'gpt2'/);
    assert.throws(() => modelProtoFromVocab({ model: "llama", tokens: ["a", "b"] }, "z.gguf"), /z\.gguf: .*no unknown piece/);
    assert.throws(
      () => modelProtoFromVocab({ model: "llama", tokens: ["<unk>", "b"], tokenTypes: Int32Array.from([2, 9]) }, "w.gguf"),
      /token_type\[1\] is 9/,
    );
  });
});
