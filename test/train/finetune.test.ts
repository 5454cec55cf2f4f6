// LoRA fine-tuning (src/train/finetune.ts) on a tiny random Llama with the 512-piece tokenizer,
// LoRA with dropout. Each checkpoint is a PEFT adapter directory plus the training state, and
// 4 steps straight = 2 steps + resume + 2 steps, byte for byte. Bad requests are library errors,
// which `tsgpt finetune` reports in terms of its flags with the usage exit code.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finetune, type FinetuneArgs, type FinetuneResult } from "../../src/train/finetune.js";
import { FormatError, OptionError, RunDirectoryError } from "../../src/util/errors.js";
import { run as finetuneCli } from "../../src/cli/finetune.js";
import { applyAdapter, readAdapter } from "../../src/formats/peft.js";
import { loadCheckpointSync } from "../../src/formats/load.js";
import { DEFAULT_SETTINGS, loadAdapterCheckpoint, loadTrainingCheckpoint, verifyCheckpoint } from "../../src/train/index.js";
import { skipUnlessShared } from "../helpers/shared.js";
import { capture, writeTinyFinetuneBase } from "./helpers.js";

const TOKENIZER = ["testdata", "tokenizer", "tok512.model"] as const;

describe("finetune", { skip: skipUnlessShared(...TOKENIZER) }, () => {
  let dir = "";
  let args: FinetuneArgs;
  let runA = "";
  let straight: FinetuneResult;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "tsgpt-finetune-"));
    args = setup();
    runA = join(dir, "run-a");
    straight = finetune({ args, out: runA, log: null, progress: false });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A tiny random base model saved as an HF directory with the shared tokenizer, and its run settings. */
  function setup(): FinetuneArgs {
    const { base, data } = writeTinyFinetuneBase(dir);
    return {
      base,
      data,
      valFraction: 0.25,
      template: "alpaca",
      r: 2,
      alpha: 4,
      dropout: 0.1,
      targets: ["q_proj", "v_proj", "down_proj"],
      settings: {
        ...DEFAULT_SETTINGS,
        steps: 4,
        lr: 1e-2,
        minLr: 1e-3,
        warmupSteps: 1,
        batchSize: 3,
        contextLength: 128,
        evalEvery: 2,
        saveEvery: 2,
        logEvery: 1,
        weightDecay: 0,
      },
    };
  }

  test("each checkpoint is a PEFT adapter directory with optimizer and trainer state, checksummed", () => {
    for (const name of ["checkpoint-2", "checkpoint-4", "last", "best"]) {
      const ckpt = join(runA, name);
      assert.deepEqual(
        readdirSync(ckpt).sort(),
        ["adapter_config.json", "adapter_model.safetensors", "optimizer.safetensors", "trainer_state.json"],
        name,
      );
      const state = verifyCheckpoint(ckpt);
      assert.deepEqual(Object.keys(state.files).sort(), ["adapter_config.json", "adapter_model.safetensors", "optimizer.safetensors"]);
      // It loads as an adapter of the base model.
      const adapter = readAdapter(ckpt);
      assert.equal(adapter.config.r, 2);
      assert.equal(adapter.layers.size, 3, "q_proj, v_proj, down_proj of the one layer");
      applyAdapter(loadCheckpointSync(args.base), ckpt);
    }
    // The last checkpoint holds the same adapter as the one written at the end of the run.
    assert.ok(readFileSync(join(runA, "last", "adapter_model.safetensors")).equals(readFileSync(join(runA, "adapter_model.safetensors"))));
  });

  test("a finetune checkpoint is refused as a whole-model checkpoint", () => {
    assert.throws(
      () => loadTrainingCheckpoint(runA),
      (e: unknown) => e instanceof FormatError && /tsgpt finetune --resume/.test(e.message),
    );
    assert.equal(loadAdapterCheckpoint(runA).state.step, 4);
  });

  test("the adapter after 2 + resume + 2 steps is byte-identical to 4 straight steps", () => {
    assert.ok(straight.trainable < straight.total);
    const runB = join(dir, "run-b");
    finetune({ args, out: runB, log: null, progress: false, stopAt: 2 });
    const resumed = finetune({ out: runB, resume: true, log: null, progress: false });
    assert.deepEqual(resumed.losses, straight.losses.slice(2));
    assert.ok(readFileSync(join(runA, "adapter_model.safetensors")).equals(readFileSync(join(runB, "adapter_model.safetensors"))));
    assert.ok(straight.finalValLoss! < straight.baseValLoss!, `held-out loss ${straight.baseValLoss} → ${straight.finalValLoss}`);
  });

  test("a damaged checkpoint adapter is an error naming the file", () => {
    const runC = join(dir, "run-c");
    finetune({ args, out: runC, log: null, progress: false, stopAt: 2 });
    const weights = join(runC, "last", "adapter_model.safetensors");
    const bytes = readFileSync(weights);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(weights, bytes);
    assert.throws(
      () => finetune({ out: runC, resume: true, log: null, progress: false }),
      (e: unknown) => e instanceof FormatError && e.file === weights && /checksum/.test(e.message),
    );
  });

  test("a new run into a directory that holds one, or a resume without the run's settings, is a RunDirectoryError; damaged settings a FormatError", () => {
    assert.throws(
      () => finetune({ args, out: runA, log: null, progress: false }),
      (e: unknown) => e instanceof RunDirectoryError && e.reason === "occupied" && e.dir === runA,
    );
    const runD = join(dir, "run-d");
    finetune({ args, out: runD, log: null, progress: false, stopAt: 2 });
    unlinkSync(join(runD, "finetune_args.json"));
    assert.throws(
      () => finetune({ out: runD, resume: true, log: null, progress: false }),
      (e: unknown) => e instanceof RunDirectoryError && e.reason === "not-a-run" && /finetune_args\.json not found/.test(e.message),
    );
    writeFileSync(join(runD, "finetune_args.json"), JSON.stringify({ ...args, r: "2" }));
    // The checkpoint recorded the args file's sha256: an edited one is refused as such.
    assert.throws(
      () => finetune({ out: runD, resume: true, log: null, progress: false }),
      (e: unknown) => e instanceof FormatError && e.field === "sha256" && /finetune_args\.json/.test(e.message),
    );
    // A run from before that checksum: the fields themselves are checked.
    const statePath = join(runD, "last", "trainer_state.json");
    const { state_sha256: _sum, ...state } = JSON.parse(readFileSync(statePath, "utf8"));
    delete state.settings.argsSha256;
    writeFileSync(statePath, JSON.stringify(state));
    assert.throws(
      () => finetune({ out: runD, resume: true, log: null, progress: false }),
      (e: unknown) => e instanceof FormatError && e.field === "r" && /expected a number, got "2"/.test(e.message),
    );
  });

  test("a target that is not a linear layer of the model is an OptionError naming `targets`", () => {
    assert.throws(
      () => finetune({ args: { ...args, targets: ["q_proj", "c_attn"] }, out: join(dir, "run-e"), log: null, progress: false }),
      (e: unknown) => e instanceof OptionError && e.option === "targets" && /c_attn is not a linear layer of a llama model/.test(e.message),
    );
  });

  test("tsgpt finetune reports those errors in terms of its flags, with exit code 2", async () => {
    const flags = ["--base", args.base, "--data", args.data, "--steps", "1"];
    const occupied = await capture(() => finetuneCli([...flags, "--out", runA]));
    assert.equal(occupied.code, 2);
    assert.match(
      occupied.err,
      /already holds a run: pass --resume to continue it, --force to start over \(clears it\), or choose another --out/,
    );
    const badTarget = await capture(() => finetuneCli([...flags, "--target", "c_attn", "--out", join(dir, "run-f")]));
    assert.equal(badTarget.code, 2);
    assert.match(badTarget.err, /tsgpt finetune: --target: c_attn is not a linear layer of a llama model \(choose from /);
    const runG = join(dir, "run-g");
    finetune({ args, out: runG, log: null, progress: false, stopAt: 1 });
    unlinkSync(join(runG, "finetune_args.json"));
    const noRun = await capture(() => finetuneCli(["--resume", "--out", runG]));
    assert.equal(noRun.code, 2);
    assert.match(noRun.err, /tsgpt finetune: --resume: .*finetune_args\.json not found/);
  });
});
