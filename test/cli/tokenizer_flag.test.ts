// `--tokenizer PATH` on convert and quantize: the tokenizer given goes with the output (copied
// into an HF directory, embedded in a GGUF), and one that cannot fit the model is refused.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run as convert } from "../../src/cli/convert.js";
import { run as quantize } from "../../src/cli/quantize.js";
import { readGGUFCheckpoint } from "../../src/formats/gguf_llama.js";
import { readVocab } from "../../src/formats/vocab.js";
import { parseModelProto, serializeModelProto } from "../../src/tokenizer/model_proto.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";

const dir = mkdtempSync(join(tmpdir(), "tsgpt-cli-tokenizer-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function quiet(fn: (argv: string[]) => Promise<number>, argv: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const log = console.log,
    error = console.error;
  console.log = () => {};
  console.error = (...a: unknown[]) => {
    err.push(a.join(" "));
  };
  try {
    return { code: await fn(argv), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

describe("--tokenizer on convert and quantize", { skip: skipUnlessShared("models", "stories260K", "stories260K.bin") }, () => {
  const tok = () => sharedPath("models", "stories260K", "tok512.model");
  // The weights alone in a folder: no tokenizer is found beside them.
  const bareBin = () => {
    const p = join(dir, "bare", "model.bin");
    if (!existsSync(p)) {
      mkdirSync(join(dir, "bare"), { recursive: true });
      copyFileSync(sharedPath("models", "stories260K", "stories260K.bin"), p);
    }
    return p;
  };

  test("convert --to hf copies the given tokenizer into the directory", async () => {
    const without = join(dir, "hf-without");
    assert.equal((await quiet(convert, ["--model", bareBin(), "--out", without, "--to", "hf"])).code, 0);
    assert.equal(existsSync(join(without, "tokenizer.model")), false);
    const withTok = join(dir, "hf-with");
    assert.equal((await quiet(convert, ["--model", bareBin(), "--tokenizer", tok(), "--out", withTok, "--to", "hf"])).code, 0);
    assert.deepEqual(readFileSync(join(withTok, "tokenizer.model")), readFileSync(tok()));
  });

  test("quantize embeds the given tokenizer's vocabulary in the GGUF, also from a folder", async () => {
    const folder = join(dir, "tokfolder");
    mkdirSync(folder, { recursive: true });
    copyFileSync(tok(), join(folder, "tokenizer.model"));
    const out = join(dir, "q8.gguf");
    const r = await quiet(quantize, ["--model", bareBin(), "--tokenizer", folder, "--dtype", "q8_0", "--out", out]);
    assert.equal(r.code, 0, r.err);
    const vocab = readGGUFCheckpoint(out).vocab;
    assert.ok(vocab, "the GGUF carries a vocabulary");
    assert.deepEqual(vocab.tokens, readVocab(tok()).tokens);
    assert.deepEqual([...vocab.scores!], [...readVocab(tok()).scores!]);
  });

  test("convert replaces a GGUF's embedded vocabulary with the one given", async () => {
    const src = join(dir, "src.gguf");
    assert.equal((await quiet(convert, ["--model", bareBin(), "--tokenizer", tok(), "--out", src, "--to", "gguf"])).code, 0);
    // Another tokenizer of the same size: tok512 with one piece renamed.
    const proto = parseModelProto(readFileSync(tok()));
    proto.pieces[300]!.piece = "\u2581renamed";
    const other = join(dir, "other.model");
    writeFileSync(other, serializeModelProto(proto));
    const out = join(dir, "other.gguf");
    assert.equal((await quiet(convert, ["--model", src, "--tokenizer", other, "--out", out, "--to", "gguf"])).code, 0);
    const tokens = readGGUFCheckpoint(out).vocab!.tokens;
    assert.equal(tokens[300], "\u2581renamed");
    assert.deepEqual(tokens, readVocab(other).tokens);
  });

  test("a tokenizer larger than the model, or one the format cannot carry, is refused before writing", async () => {
    const big = sharedPath("testdata", "tokenizer", "llama2.model");
    if (existsSync(big)) {
      const out = join(dir, "refused.gguf");
      const r = await quiet(quantize, ["--model", bareBin(), "--tokenizer", big, "--dtype", "q8_0", "--out", out]);
      assert.equal(r.code, 2);
      assert.match(r.err, /32000 pieces but the model has 512 embeddings/);
      assert.equal(existsSync(out), false);
    }
    const r2 = await quiet(convert, ["--model", bareBin(), "--tokenizer", tok(), "--out", join(dir, "x.bin"), "--to", "llama2c"]);
    assert.equal(r2.code, 2);
    assert.match(r2.err, /llama2\.c \.bin holds only weights/);
    const r3 = await quiet(convert, ["--model", bareBin(), "--tokenizer", join(dir, "nope.model"), "--out", join(dir, "y"), "--to", "hf"]);
    assert.equal(r3.code, 2);
    assert.match(r3.err, /--tokenizer .*nope\.model: no such file/);
  });
});
