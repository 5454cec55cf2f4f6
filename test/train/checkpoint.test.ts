import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FormatError } from "../../src/util/errors.js";
import { modelFromCheckpoint, modelToCheckpoint } from "../../src/models/index.js";
import { Generator, getRngState } from "../../src/tensor/index.js";
import {
  AdamW,
  latestCheckpoint,
  listCheckpoints,
  loadTrainingCheckpoint,
  saveTrainingCheckpoint,
  verifyCheckpoint,
} from "../../src/train/index.js";
import { charTokenizer, tempDir, tinyGPT2Config, tinyModel } from "./helpers.js";

function saveTiny(out: string, step: number, tokenizerPath: string, opts = {}) {
  const model = tinyModel(tinyGPT2Config(20), step);
  const opt = new AdamW(model.namedParameters());
  const ckpt = modelToCheckpoint(model, { tokenizerPath });
  const dir = saveTrainingCheckpoint(
    out,
    ckpt,
    opt.stateTensors(),
    {
      step,
      tokensSeen: 10 * step,
      bestValLoss: null,
      bestStep: null,
      rng: { global: getRngState() },
      data: { kind: "windows", rng: new Generator(step).getState() },
      settings: { steps: 100 },
    },
    opts,
  );
  return { model, dir };
}

describe("training checkpoints", () => {
  test("a checkpoint is a Hugging Face directory plus optimizer and trainer state, and loads back", () => {
    const { dir: out, cleanup } = tempDir();
    try {
      const { path: tok } = charTokenizer(out);
      const { model, dir } = saveTiny(out, 5, tok, { isBest: true });
      assert.equal(dir, join(out, "checkpoint-5"));
      const files = readdirSync(dir).sort();
      assert.deepEqual(files, [
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "optimizer.safetensors",
        "tokenizer.model",
        "trainer_state.json",
      ]);
      for (const d of ["last", "best"]) assert.deepEqual(readdirSync(join(out, d)).sort(), files);
      const loaded = loadTrainingCheckpoint(out);
      assert.equal(loaded.dir, join(out, "last"));
      assert.equal(loaded.state.step, 5);
      assert.equal(loaded.optimizer.size, 2 * model.namedParameters().length);
      const back = modelFromCheckpoint(loaded.checkpoint);
      for (const [name, p] of model.namedParameters()) {
        const q = back.namedParameters().find(([n]) => n === name)![1];
        assert.deepEqual(Array.from(q.data()), Array.from(p.data()), name);
      }
    } finally {
      cleanup();
    }
  });

  test("old checkpoints are pruned to keepLast; best stays", () => {
    const { dir: out, cleanup } = tempDir();
    try {
      const { path: tok } = charTokenizer(out);
      for (const step of [1, 2, 3, 4]) saveTiny(out, step, tok, { keepLast: 2, isBest: step === 2 });
      assert.deepEqual(
        listCheckpoints(out).map((c) => c.step),
        [3, 4],
      );
      assert.equal(verifyCheckpoint(join(out, "best")).step, 2);
      assert.equal(verifyCheckpoint(join(out, "last")).step, 4);
    } finally {
      cleanup();
    }
  });

  test("a missing or corrupted file is an error naming it", () => {
    const { dir: out, cleanup } = tempDir();
    try {
      const { path: tok } = charTokenizer(out);
      const { dir } = saveTiny(out, 1, tok);
      const weights = join(dir, "model.safetensors");
      const bytes = readFileSync(weights);
      bytes[bytes.length - 1] ^= 0xff;
      writeFileSync(weights, bytes);
      assert.throws(
        () => loadTrainingCheckpoint(dir),
        (e: unknown) => e instanceof FormatError && e.file === weights && /checksum/.test(e.message),
      );
      rmSync(join(dir, "optimizer.safetensors"));
      assert.throws(
        () => verifyCheckpoint(dir),
        (e: unknown) => e instanceof FormatError && /optimizer\.safetensors|model\.safetensors/.test(e.file),
      );
      writeFileSync(join(dir, "trainer_state.json"), "{ not json");
      assert.throws(
        () => verifyCheckpoint(dir),
        (e: unknown) => e instanceof FormatError && e.file.endsWith("trainer_state.json"),
      );
      rmSync(join(dir, "trainer_state.json"));
      assert.throws(() => verifyCheckpoint(dir), /trainer_state\.json: file: missing/);
    } finally {
      cleanup();
    }
  });

  test("a process killed at random moments while saving never damages a checkpoint", async () => {
    const { dir: out, cleanup } = tempDir();
    try {
      const self = fileURLToPath(import.meta.url);
      const child = join(self, "..", `save_loop_child${self.endsWith(".ts") ? ".ts" : ".js"}`);
      const g = new Generator(11);
      for (let round = 0; round < 20; round++) {
        const p = spawn(process.execPath, [...process.execArgv, child, out], { stdio: ["ignore", "pipe", "inherit"] });
        await new Promise<void>((res, rej) => {
          p.once("error", rej);
          p.stdout.once("data", () => res());
        });
        await new Promise((r) => setTimeout(r, 5 + g.randint(0, 120)));
        p.kill("SIGKILL");
        await new Promise((r) => p.once("exit", r));
        // Every directory under a real name verifies, and there is a last checkpoint to resume from.
        for (const c of listCheckpoints(out)) verifyCheckpoint(c.dir);
        for (const d of ["last", "best"]) if (existsSync(join(out, d))) verifyCheckpoint(join(out, d));
        if (listCheckpoints(out).length > 0) verifyCheckpoint(latestCheckpoint(out));
      }
      const last = loadTrainingCheckpoint(out);
      assert.ok(last.state.step >= 1, "some saves completed");
    } finally {
      cleanup();
    }
  });
});
