// Whole-model quantization on the real stories260K: the `tsgpt quantize` command writes a GGUF
// whose tensors are the quantized weights (checked through the GGUF reader), with llama.cpp's
// output-head rule and fallbacks; the quantized model's perplexity stays close to the f32 one.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { loadCheckpointSync } from "../../src/formats/load.js";
import { readGGUFCheckpoint } from "../../src/formats/gguf_llama.js";
import { SentencePieceProcessor } from "../../src/tokenizer/processor.js";
import { isTied, plannedDType, quantizeCheckpoint } from "../../src/quant/checkpoint.js";
import { evaluateQuantization } from "../../src/generate/perplexity.js";
import { run } from "../../src/cli/quantize.js";

const skip = skipUnlessShared("models", "stories260K", "stories260K.bin");
const model = sharedPath("models", "stories260K", "stories260K.bin");
const dir = mkdtempSync(join(tmpdir(), "tsgpt-quant-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("dtype plan (llama.cpp's llama_tensor_get_type for tsgpt's types)", () => {
  const W = "model.layers.0.mlp.up_proj.weight",
    EMB = "model.embed_tokens.weight",
    OUT = "lm_head.weight";

  test("norms stay F32, rows the block does not divide fall back like llama-quantize", () => {
    assert.equal(plannedDType("Q8_0", "model.norm.weight", [64], false), "F32");
    assert.equal(plannedDType("Q8_0", W, [64, 64], false), "Q8_0");
    assert.equal(plannedDType("Q4_0", W, [64, 172], false), "F16");
    assert.equal(plannedDType("Q4_K", W, [64, 64], false), "Q5_0"); // not Q4_0: llama.cpp's fallback
    assert.equal(plannedDType("Q4_K", W, [64, 172], false), "F16");
    assert.equal(plannedDType("Q4_K", W, [64, 512], false), "Q4_K");
    assert.equal(plannedDType("Q6_K", W, [64, 64], false), "Q8_0");
    assert.equal(plannedDType("Q6_K", W, [64, 512], false), "Q6_K");
    assert.equal(plannedDType("Q5_0", W, [64, 96], false), "Q5_0");
    assert.equal(plannedDType("Q5_0", W, [64, 172], false), "F16");
    assert.equal(plannedDType("Q4_1", W, [64, 64], false), "Q4_1");
    assert.equal(plannedDType("Q4_1", W, [64, 172], false), "F16");
  });

  test("the output head gets Q6_K, or Q8_0 for Q8_0 and for rows that 256 does not divide", () => {
    for (const dt of ["Q4_0", "Q4_1", "Q4_K", "Q5_0", "Q6_K"] as const) {
      assert.equal(plannedDType(dt, OUT, [512, 256], false), "Q6_K", dt);
      assert.equal(plannedDType(dt, OUT, [512, 64], false), "Q8_0", dt);
    }
    assert.equal(plannedDType("Q8_0", OUT, [512, 256], false), "Q8_0");
    assert.equal(plannedDType("Q8_ROW", OUT, [512, 256], false), "Q8_ROW");
    assert.equal(plannedDType("Q4_0", OUT, [512, 48], false), "F16"); // not even Q8_0 fits
  });

  test("a tied embedding is the output head; an untied one is an ordinary weight", () => {
    assert.equal(plannedDType("Q4_0", EMB, [512, 256], true), "Q6_K");
    assert.equal(plannedDType("Q4_K", EMB, [512, 64], true), "Q8_0");
    assert.equal(plannedDType("Q4_0", EMB, [512, 256], false), "Q4_0");
    assert.equal(plannedDType("Q4_1", EMB, [512, 64], true), "Q8_0");
    assert.equal(plannedDType("Q4_1", EMB, [512, 64], false), "Q4_1");
    assert.equal(plannedDType("Q4_K", EMB, [512, 64], false), "Q5_0");
    assert.equal(plannedDType("Q4_0", "transformer.wte.weight", [512, 256], true), "Q6_K"); // GPT-2
  });

  test("output: same (--pure) and an explicit dtype; embeddings wins over the output rule", () => {
    assert.equal(plannedDType("Q4_0", OUT, [512, 256], false, { output: "same" }), "Q4_0");
    assert.equal(plannedDType("Q4_K", EMB, [512, 64], true, { output: "same" }), "Q5_0");
    assert.equal(plannedDType("Q4_1", EMB, [512, 64], true, { output: "same" }), "Q4_1");
    assert.equal(plannedDType("Q4_0", OUT, [512, 256], false, { output: "Q8_0" }), "Q8_0");
    assert.equal(plannedDType("Q4_0", OUT, [512, 256], false, { output: "F16" }), "F16");
    assert.equal(plannedDType("Q4_0", OUT, [512, 64], false, { output: "Q6_K" }), "Q8_0"); // Q6_K's fallback
    assert.equal(plannedDType("Q4_0", EMB, [512, 256], true, { embeddings: "F16" }), "F16");
    assert.equal(plannedDType("Q4_0", OUT, [512, 256], false, { embeddings: "F16" }), "Q6_K"); // lm_head is not the embedding
  });
});

describe("quantizeCheckpoint applies the plan to every tensor", { skip }, () => {
  const ck = loadCheckpointSync(model);
  test("stories260K (tied, dim 64, hidden 172): embedding Q8_0, Q4_K layers Q5_0, w2 F16", () => {
    assert.ok(isTied(ck), "stories260K shares its classifier with the embedding");
    const got = new Map<string, string>();
    const q = quantizeCheckpoint(ck, "Q4_K", { onTensor: (name, _from, to) => got.set(name, to) });
    for (const [name, t] of q.tensors) {
      assert.equal(got.get(name), t.dtype, name);
      const expected = t.shape.length < 2 ? "F32" : name === "model.embed_tokens.weight" ? "Q8_0" : t.shape[1] === 172 ? "F16" : "Q5_0";
      assert.equal(t.dtype, expected, name);
    }
    const pure = quantizeCheckpoint(ck, "Q4_K", { output: "same" });
    assert.equal(pure.tensors.get("model.embed_tokens.weight")!.dtype, "Q5_0");
  });

  test("stories260K Q4_1: like Q4_0, layers Q4_1, the tied embedding (output head) Q8_0, w2 (rows of 172) F16", () => {
    for (const [name, t] of quantizeCheckpoint(ck, "Q4_1").tensors) {
      const expected = t.shape.length < 2 ? "F32" : name === "model.embed_tokens.weight" ? "Q8_0" : t.shape[1] === 172 ? "F16" : "Q4_1";
      assert.equal(t.dtype, expected, name);
    }
  });

  test("an untied copy: lm_head gets the output rule, the embedding the requested dtype", () => {
    const emb = ck.tensors.get("model.embed_tokens.weight")!;
    const untied = {
      ...ck,
      config: { ...ck.config, tie_word_embeddings: false } as typeof ck.config,
      tensors: new Map([...ck.tensors, ["lm_head.weight", emb]]),
    };
    assert.ok(!isTied(untied));
    const q = quantizeCheckpoint(untied, "Q4_0");
    assert.equal(q.tensors.get("lm_head.weight")!.dtype, "Q8_0"); // rows of 64: Q8_0, not Q6_K
    assert.equal(q.tensors.get("model.embed_tokens.weight")!.dtype, "Q4_0");
  });
});

describe("tsgpt quantize on stories260K", { skip }, () => {
  const cases = [
    ["q8_0", "auto"],
    ["q4_0", "auto"],
    ["q4_1", "auto"],
    ["q4_k", "auto"],
    ["q6_k", "auto"],
    ["q4_0", "same"],
    ["q4_1", "same"],
  ] as const;
  for (const [dtype, outputType] of cases) {
    test(`${dtype}, --output-type ${outputType}: the GGUF holds the quantized weights`, async () => {
      const out = join(dir, `s-${dtype}-${outputType}.gguf`);
      const log = console.log;
      console.log = () => {};
      let code: number;
      try {
        code = await run(["--model", model, "--dtype", dtype, "--output-type", outputType, "--out", out]);
      } finally {
        console.log = log;
      }
      assert.equal(code, 0);
      const ck = loadCheckpointSync(model);
      const expected = quantizeCheckpoint(ck, dtype.toUpperCase() as "Q8_0" | "Q4_0" | "Q4_1" | "Q4_K" | "Q6_K", { output: outputType });
      const emb = expected.tensors.get("model.embed_tokens.weight")!.dtype;
      assert.equal(emb, outputType === "same" ? dtype.toUpperCase() : "Q8_0"); // rows of 64: the output rule gives Q8_0
      const back = readGGUFCheckpoint(out);
      assert.equal(back.vocab?.tokens.length, 512);
      for (const [name, t] of expected.tensors) {
        const g = back.tensors.get(name)!;
        assert.equal(g.dtype, t.dtype, name);
        assert.deepEqual(g.shape, t.shape, name);
        assert.ok(
          Buffer.from(g.data.buffer, g.data.byteOffset, g.data.byteLength).equals(
            Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
          ),
          name,
        );
      }
    });
  }

  test("usage errors exit with 2 and name the option", async () => {
    const err = console.error;
    const lines: string[] = [];
    console.error = (s: string) => lines.push(s);
    try {
      assert.equal(await run(["--model", model, "--dtype", "q3", "--out", join(dir, "x.gguf")]), 2);
      assert.equal(await run(["--model", model, "--dtype", "q4_0", "--output-type", "q3", "--out", join(dir, "x.gguf")]), 2);
      assert.equal(await run(["--model", join(dir, "missing.bin"), "--dtype", "q8_0", "--out", join(dir, "x.gguf")]), 1);
    } finally {
      console.error = err;
    }
    assert.match(lines[0]!, /--dtype must be q8_0, q6_k, q5_0, q4_1, q4_0 or q4_k, got 'q3'/);
    assert.match(lines[1]!, /--output-type must be auto, same, q8_0, q6_k, q5_0, q4_1, q4_0, q4_k, f16, f32, got 'q3'/);
    assert.ok(!existsSync(join(dir, "x.gguf")));
  });

  test("perplexity: Q8_0 within 1 % of f32, Q4_0 within 30 % (a 64-wide model suffers from 4 bits)", () => {
    const sp = SentencePieceProcessor.load(sharedPath("models", "stories260K", "tok512.model"));
    const seqs = [
      "Once upon a time, there was a little girl named Lily. She loved to play outside.",
      "The cat was very happy. It jumped on the bed.",
    ].map((s) => [1, ...sp.encode(s)]);
    const [f32, q8, q4] = evaluateQuantization(loadCheckpointSync(model), seqs, ["Q8_0", "Q4_0"]);
    assert.ok(f32!.perplexity > 1 && f32!.perplexity < 20, `f32 perplexity ${f32!.perplexity}`);
    assert.ok(Math.abs(q8!.perplexity / f32!.perplexity - 1) < 0.01, `Q8_0 ${q8!.perplexity} vs ${f32!.perplexity}`);
    assert.ok(Math.abs(q4!.perplexity / f32!.perplexity - 1) < 0.3, `Q4_0 ${q4!.perplexity} vs ${f32!.perplexity}`);
    assert.ok(q8!.weightBytes < f32!.weightBytes / 3 && q4!.weightBytes < q8!.weightBytes);
  });
});
