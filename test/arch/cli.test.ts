// `tsgpt train --model config.json` and `tsgpt convert --to gguf` for each Llama-like family: a
// few training steps, then GGUF (f32 and Q8_0); the GGUF must read back as the same family and
// decode exactly as the trained Hugging Face directory does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { run as trainCli } from "../../src/cli/train.js";
import { run as convertCli } from "../../src/cli/convert.js";
import { loadCheckpointSync } from "../../src/formats/load.js";
import { DecoderModel } from "../../src/generate/decoder.js";
import { TEXT, tempDir } from "../train/helpers.js";
import { maxDiff } from "../models/tiny.js";
import { FAMILIES } from "./tiny_families.js";

/** Runs a CLI entry point with its console output silenced; returns its exit code. */
async function quiet(fn: () => Promise<number>): Promise<number> {
  const o = process.stdout.write.bind(process.stdout),
    e = process.stderr.write.bind(process.stderr),
    ce = console.error,
    cl = console.log;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  console.error = () => {};
  console.log = () => {};
  try {
    return await fn();
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
    console.error = ce;
    console.log = cl;
  }
}

function lastLogits(ckptPath: string, ids: number[]): Float32Array {
  const d = DecoderModel.fromCheckpoint(loadCheckpointSync(ckptPath));
  const cache = d.createCache(1, ids.length);
  return d.forward(cache, Int32Array.from(ids), Int32Array.from(ids.keys()), new Uint8Array(ids.length).fill(1), ids.length);
}

for (const { name, config } of FAMILIES) {
  test(`${name}: tsgpt train --model config.json, then convert --to gguf (f32, q8_0)`, async () => {
    const { dir, cleanup } = tempDir("tsgpt-arch-cli-");
    try {
      writeFileSync(join(dir, "data.txt"), TEXT.repeat(6));
      writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, vocab_size: 64, max_position_embeddings: 32 }));
      const out = join(dir, "run");
      const code = await quiet(() =>
        trainCli([
          "--data",
          join(dir, "data.txt"),
          "--char",
          "--model",
          join(dir, "config.json"),
          "--context",
          "16",
          "--batch-size",
          "2",
          "--steps",
          "3",
          "--warmup",
          "1",
          "--eval-every",
          "0",
          "--eval-iters",
          "1",
          "--sample-tokens",
          "0",
          "--out",
          out,
        ]),
      );
      assert.equal(code, 0);
      const hf = join(out, "last");
      assert.equal(loadCheckpointSync(hf).config.model_type, config.model_type);
      const ids = [1, 5, 9, 2, 7, 3, 11, 4, 6, 8, 10, 12];
      const ref = lastLogits(hf, ids);
      for (const dtype of ["f32", "q8_0"]) {
        const gguf = join(dir, `m-${dtype}.gguf`);
        assert.equal(await quiet(() => convertCli(["--input", hf, "--output", gguf, "--to", "gguf", "--dtype", dtype])), 0);
        const back = loadCheckpointSync(gguf);
        assert.equal(back.config.model_type, config.model_type);
        const got = lastLogits(gguf, ids);
        const scale = Math.max(...ref.map(Math.abs));
        assert.ok(maxDiff(got, ref) <= (dtype === "f32" ? 1e-5 : 0.05) * scale, `${dtype}: max |Δ| ${maxDiff(got, ref)}`);
      }
    } finally {
      cleanup();
    }
  });
}
