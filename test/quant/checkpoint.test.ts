// Whole-model quantization on the real stories260K: the `tsgpt quantize` command writes a GGUF
// whose tensors are the quantized weights (checked through the GGUF reader), with llama.cpp's
// fallbacks; the quantized model's perplexity stays close to the f32 one.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { loadCheckpointSync } from "../../src/formats/load.js";
import { readGGUFCheckpoint } from "../../src/formats/gguf_llama.js";
import { SentencePieceProcessor } from "../../src/tokenizer/processor.js";
import { plannedDType, quantizeCheckpoint } from "../../src/quant/checkpoint.js";
import { evaluateQuantization } from "../../src/quant/evaluate.js";
import { run } from "../../src/cli/quantize.js";

const skip = skipUnlessShared("models", "stories260K", "stories260K.bin");
const model = sharedPath("models", "stories260K", "stories260K.bin");
const dir = mkdtempSync(join(tmpdir(), "tsgpt-quant-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("dtype plan", () => {
  test("norms stay F32, rows the block does not divide fall back like llama-quantize", () => {
    assert.equal(plannedDType("Q8_0", [64]), "F32");
    assert.equal(plannedDType("Q8_0", [64, 64]), "Q8_0");
    assert.equal(plannedDType("Q4_0", [64, 172]), "F16");
    assert.equal(plannedDType("Q4_K", [64, 64]), "Q4_0");
    assert.equal(plannedDType("Q4_K", [64, 512]), "Q4_K");
  });
});

describe("tsgpt quantize on stories260K", { skip }, () => {
  for (const dtype of ["q8_0", "q4_0"] as const) {
    test(`${dtype}: the GGUF holds the quantized weights`, async () => {
      const out = join(dir, `s-${dtype}.gguf`);
      const log = console.log;
      console.log = () => {};
      let code: number;
      try {
        code = await run(["--model", model, "--dtype", dtype, "--out", out]);
      } finally {
        console.log = log;
      }
      assert.equal(code, 0);
      const ck = loadCheckpointSync(model);
      const expected = quantizeCheckpoint(ck, dtype.toUpperCase() as "Q8_0" | "Q4_0");
      const back = readGGUFCheckpoint(out);
      assert.equal(back.vocab?.tokens.length, 512);
      for (const [name, t] of expected.tensors) {
        const g = back.tensors.get(name)!;
        assert.equal(g.dtype, t.dtype, name);
        assert.deepEqual(g.shape, t.shape, name);
        assert.ok(Buffer.from(g.data.buffer, g.data.byteOffset, g.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), name);
      }
    });
  }

  test("usage errors exit with 2 and name the option", async () => {
    const err = console.error;
    const lines: string[] = [];
    console.error = (s: string) => lines.push(s);
    try {
      assert.equal(await run(["--model", model, "--dtype", "q3", "--out", join(dir, "x.gguf")]), 2);
      assert.equal(await run(["--model", join(dir, "missing.bin"), "--dtype", "q8_0", "--out", join(dir, "x.gguf")]), 1);
    } finally {
      console.error = err;
    }
    assert.match(lines[0]!, /--dtype must be q8_0, q4_0 or q4_k, got 'q3'/);
    assert.ok(!existsSync(join(dir, "x.gguf")));
  });

  test("perplexity: Q8_0 within 1 % of f32, Q4_0 within 30 % (a 64-wide model suffers from 4 bits)", () => {
    const sp = SentencePieceProcessor.load(sharedPath("models", "stories260K", "tok512.model"));
    const seqs = ["Once upon a time, there was a little girl named Lily. She loved to play outside.", "The cat was very happy. It jumped on the bed."]
      .map((s) => [1, ...sp.encode(s)]);
    const [f32, q8, q4] = evaluateQuantization(loadCheckpointSync(model), seqs, ["Q8_0", "Q4_0"]);
    assert.ok(f32!.perplexity > 1 && f32!.perplexity < 20, `f32 perplexity ${f32!.perplexity}`);
    assert.ok(Math.abs(q8!.perplexity / f32!.perplexity - 1) < 0.01, `Q8_0 ${q8!.perplexity} vs ${f32!.perplexity}`);
    assert.ok(Math.abs(q4!.perplexity / f32!.perplexity - 1) < 0.3, `Q4_0 ${q4!.perplexity} vs ${f32!.perplexity}`);
    assert.ok(q8!.weightBytes < f32!.weightBytes / 3 && q4!.weightBytes < q8!.weightBytes);
  });
});
