// `tsgpt eval --quantize` on a GPT-2 checkpoint: every tensor quantizeCheckpoint quantizes is one
// the decoder can run (a quantized position table is dequantized where positions are looked up),
// and each row's loss is that of the dequantized model computed by the f32 decoder.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run as evalCli } from "../../src/cli/eval.js";
import { saveHFCheckpoint } from "../../src/formats/hf.js";
import { createModel, modelToCheckpoint } from "../../src/models/index.js";
import { dequantizeCheckpoint, quantizeCheckpoint } from "../../src/quant/checkpoint.js";
import { TEXT, capture, charTokenizer, tinyGPT2Config } from "../train/helpers.js";

const dir = mkdtempSync(join(tmpdir(), "tsgpt-eval-quant-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("eval --quantize on a GPT-2 checkpoint gives each dtype's loss, as the dequantized model scores it", async () => {
  const { path: tok } = charTokenizer(dir);
  // Rows of 32 values: every matrix (and the position table) is quantizable with 32-blocks.
  const config = { ...tinyGPT2Config(64, 32), n_embd: 32 };
  const model = createModel(config, { seed: 5 });
  const ckptDir = join(dir, "gpt2");
  saveHFCheckpoint(ckptDir, modelToCheckpoint(model, { tokenizerPath: tok }));
  const data = join(dir, "heldout.txt");
  writeFileSync(data, TEXT.repeat(3));

  const r = await capture(() =>
    evalCli(["--model", ckptDir, "--data", data, "--quantize", "q8_0,q4_0", "--output-type", "same", "--json"]),
  );
  assert.equal(r.code, 0, r.err);
  const rows = (JSON.parse(r.out) as { rows: Array<{ dtype: string; loss: number }> }).rows;
  assert.deepEqual(
    rows.map((x) => x.dtype),
    ["F32", "Q8_0", "Q4_0"],
  );

  // The reference: each dtype quantized, dequantized back to f32 and saved, scored by plain eval
  // (the training model's batched path, not the decoder).
  const plain = async (path: string) => {
    const p = await capture(() => evalCli(["--model", path, "--data", data, "--json"]));
    assert.equal(p.code, 0, p.err);
    return (JSON.parse(p.out) as { loss: number }).loss;
  };
  assert.ok(Math.abs(rows[0]!.loss - (await plain(ckptDir))) < 1e-4, "F32 row");
  for (const row of rows.slice(1)) {
    const q = quantizeCheckpoint(modelToCheckpoint(model, { tokenizerPath: tok }), row.dtype as "Q8_0" | "Q4_0", { output: "same" });
    const back = join(dir, `dequantized-${row.dtype}`);
    saveHFCheckpoint(back, dequantizeCheckpoint(q));
    const ref = await plain(back);
    // The decoder's integer kernels round the activations to 8 bits: close, not identical.
    assert.ok(Math.abs(ref - row.loss) < 0.01 * ref, `${row.dtype}: ${row.loss} vs dequantized ${ref}`);
  }
  assert.notEqual(rows[2]!.loss, rows[0]!.loss, "q4_0 changes the weights");
});
