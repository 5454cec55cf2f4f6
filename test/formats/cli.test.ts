// The `inspect` and `convert` commands, run in-process with console output captured.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run as inspect } from "../../src/cli/inspect.js";
import { run as convert } from "../../src/cli/convert.js";
import { run as quantize } from "../../src/cli/quantize.js";
import { loadCheckpointSync } from "../../src/formats/load.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";

const dir = mkdtempSync(join(tmpdir(), "tsgpt-cli-formats-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a command, returning its exit code and what it printed. */
async function capture(fn: (argv: string[]) => Promise<number>, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [],
    err: string[] = [];
  const log = console.log,
    error = console.error;
  console.log = (...a: unknown[]) => {
    out.push(a.join(" "));
  };
  console.error = (...a: unknown[]) => {
    err.push(a.join(" "));
  };
  try {
    const code = await fn(argv);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

describe("tsgpt inspect / convert", { skip: skipUnlessShared("models", "stories260K", "stories260K.bin") }, () => {
  const bin = () => sharedPath("models", "stories260K", "stories260K.bin");

  test("inspect prints architecture, parameters, tensors and tokenizer", async () => {
    const r = await capture(inspect, [bin()]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /architecture: LlamaForCausalLM/);
    assert.match(r.out, /parameters: +260,032/);
    assert.match(r.out, /dtypes: +F32 \(47 tensors\)/);
    assert.match(r.out, /tokenizer: +.*tok512\.model \(512 tokens\)/);
    assert.match(r.out, /model\.layers\.4\.self_attn\.k_proj\.weight +F32 +\[32, 64\]/);
    const j = await capture(inspect, [bin(), "--json"]);
    const parsed = JSON.parse(j.out);
    assert.equal(parsed.parameters, 260_032);
    assert.equal(parsed.tensors.length, 47);
    assert.deepEqual(parsed.tensors[0], { name: "model.embed_tokens.weight", dtype: "F32", shape: [512, 64] });
  });

  test("convert to hf, gguf and back to llama2c", async () => {
    const hf = join(dir, "hf");
    let r = await capture(convert, ["--input", bin(), "--output", hf, "--to", "hf", "--dtype", "bf16"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(loadCheckpointSync(hf).tensors.get("model.norm.weight")!.dtype, "BF16");
    const gguf = join(dir, "m.gguf");
    r = await capture(convert, ["--input", bin(), "--output", gguf, "--to", "gguf"]);
    assert.equal(r.code, 0, r.err);
    const back = join(dir, "back.bin");
    r = await capture(convert, ["--input", gguf, "--output", back, "--to", "llama2c"]);
    assert.equal(r.code, 0, r.err);
    const a = readFileSync(back),
      b = readFileSync(bin());
    const tables = 2 * 512 * 4 * 4;
    assert.ok(a.subarray(0, a.length - tables).equals(b.subarray(0, b.length - tables)));
    r = await capture(inspect, [gguf]);
    assert.match(r.out, /tokenizer: +embedded in the file \(512 tokens\)/);
  });

  test("convert --dtype q8_0 writes the same GGUF as tsgpt quantize", async () => {
    const viaConvert = join(dir, "convert-q8_0.gguf");
    const viaQuantize = join(dir, "quantize-q8_0.gguf");
    let r = await capture(convert, ["--input", bin(), "--output", viaConvert, "--to", "gguf", "--dtype", "q8_0"]);
    assert.equal(r.code, 0, r.err);
    r = await capture(quantize, ["--model", bin(), "--dtype", "q8_0", "--out", viaQuantize]);
    assert.equal(r.code, 0, r.err);
    assert.ok(readFileSync(viaConvert).equals(readFileSync(viaQuantize)));
    const ck = loadCheckpointSync(viaConvert);
    assert.equal(ck.tensors.get("model.layers.0.self_attn.q_proj.weight")?.dtype, "Q8_0");
  });

  test("clear errors for bad usage and bad files", async () => {
    let r = await capture(convert, ["--input", bin(), "--output", join(dir, "x"), "--to", "hf", "--dtype", "q8_0"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--dtype q8_0: quantized weights can only be written with --to gguf/);
    r = await capture(convert, ["--input", bin(), "--output", join(dir, "x.gguf"), "--to", "gguf", "--dtype", "q5_1"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--dtype: expected f32, f16, bf16, q8_0, q6_k, q5_0, q4_1, q4_0 or q4_k, got 'q5_1'/);
    r = await capture(convert, ["--input", bin(), "--output", join(dir, "x"), "--to", "onnx"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--to: expected one of hf, gguf, llama2c, got 'onnx'/);
    const junk = join(dir, "junk.bin");
    writeFileSync(junk, "not a model at all, just some text");
    r = await capture(inspect, [junk]);
    assert.equal(r.code, 1);
    assert.match(r.err, /junk\.bin: /);
    r = await capture(inspect, []);
    assert.equal(r.code, 2);
  });
});
