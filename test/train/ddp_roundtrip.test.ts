// Past one machine and back: a tsgpt run continues on PyTorch's DDP (torchrun, gloo, 2 processes)
// and comes back to tsgpt.
//
//   tsgpt train 20 steps → torchrun 2 processes continue to 40 → tsgpt resumes to 60
//
// and, from the same 20-step checkpoint, tsgpt's own continuation to 40 and the PyTorch one on 1
// process: the same data order and the same math, so the losses agree at every step. The final
// checkpoint must load in tsgpt (generate, eval, quantize) and in PyTorch; bad run directories are
// refused before any step (python/tests/test_bad_input.py, run from here).
//
// Needs Debian's python3-torch (/usr/bin/python3, or TSGPT_PYTHON): skipped with a message without it.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { verifyCheckpoint } from "../../src/train/index.js";
import { repoRoot, sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { python, skipUnlessTorch, tempDir } from "./helpers.js";

const TSGPT = join(repoRoot, "bin", "tsgpt.js");
const PYTHON_DIR = join(repoRoot, "python");
/** Loss agreement the issue asks for, per step (float32 on both sides; measured ≈ 5e-7). */
const TOLERANCE = 1e-4;

/** A tiny Llama: 2 layers × 64 dims, grouped-query attention, its own lm_head. */
const CONFIG = {
  model_type: "llama",
  vocab_size: 80,
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: false,
};

/** A tiny GPT-2: 2 layers × 64 dims, tied head, biases. */
const GPT2_CONFIG = { model_type: "gpt2", vocab_size: 80, n_embd: 64, n_layer: 2, n_head: 4, n_positions: 64, layer_norm_epsilon: 1e-5 };

function runChecked(cmd: string, args: string[], env: Record<string, string> = {}, timeout = 180_000): string {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, timeout, maxBuffer: 64 << 20 });
  const out = `${r.stdout?.toString() ?? ""}${r.stderr?.toString() ?? ""}`;
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}):\n${out.slice(-4000)}`);
  return out;
}

const tsgpt = (...args: string[]) => runChecked(process.execPath, [TSGPT, ...args]);
const pyEnv = { PYTHONPATH: PYTHON_DIR, OMP_NUM_THREADS: "1" };
const torchTrain = (...args: string[]) => runChecked(python, ["-m", "tsgpt_torch.train", ...args], pyEnv);
/**
 * torchrun, as `python -m torch.distributed.run` (the same program). `--redirects 1 --tee 1`: Debian
 * 12's torch 1.13 under Python 3.11 cannot parse the default "0" of these two flags.
 */
const torchrun = (procs: number, ...args: string[]) =>
  runChecked(
    python,
    [
      "-m",
      "torch.distributed.run",
      "--standalone",
      "--nproc_per_node",
      String(procs),
      "--monitor_interval",
      "1",
      "--redirects",
      "1",
      "--tee",
      "1",
      "-m",
      "tsgpt_torch.train",
      ...args,
    ],
    pyEnv,
  );

interface Log {
  train: Map<number, number>;
  val: Map<number, number>;
  trainSteps: number[];
}

function readLog(run: string): Log {
  const records = readFileSync(join(run, "log.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const train = records.filter((r) => r.type === "train");
  return {
    train: new Map(train.map((r) => [r.step, r.loss])),
    val: new Map(records.filter((r) => r.type === "eval").map((r) => [r.step, r.val_loss])),
    trainSteps: train.map((r) => r.step),
  };
}

function maxDelta(a: Map<number, number>, b: Map<number, number>, from: number, to: number): number {
  let worst = 0;
  for (let s = from; s <= to; s++) {
    assert.ok(a.has(s) && b.has(s), `step ${s}: a loss is missing from one of the logs`);
    worst = Math.max(worst, Math.abs(a.get(s)! - b.get(s)!));
  }
  return worst;
}

const mean = (m: Map<number, number>, from: number, to: number) => {
  let sum = 0;
  for (let s = from; s <= to; s++) sum += m.get(s)!;
  return sum / (to - from + 1);
};

describe("DDP round trip (tsgpt → torchrun → tsgpt)", () => {
  const skip = skipUnlessTorch() || skipUnlessShared("data", "tinyshakespeare.txt");

  test("20 tsgpt steps, 20 on 2 torchrun processes, 20 tsgpt steps; 1-process PyTorch = tsgpt step for step", { skip }, (t) => {
    const { dir, cleanup } = tempDir("tsgpt-ddp-");
    try {
      const data = join(dir, "data.txt");
      writeFileSync(data, readFileSync(sharedPath("data", "tinyshakespeare.txt"), "utf8").slice(0, 60_000));
      const config = join(dir, "config.json");
      writeFileSync(config, JSON.stringify(CONFIG));
      const run = join(dir, "run"); // the round trip
      const own = join(dir, "own"); // tsgpt's own continuation
      const one = join(dir, "one"); // PyTorch on 1 process
      const pristine = join(dir, "pristine"); // for the bad-input cases
      tsgpt(
        "train",
        "--data",
        data,
        "--char",
        "--model",
        config,
        "--context",
        "32",
        "--batch-size",
        "8",
        "--steps",
        "20",
        "--warmup",
        "2",
        "--eval-every",
        "10",
        "--eval-iters",
        "2",
        "--save-every",
        "10",
        "--log-every",
        "1",
        "--sample-tokens",
        "0",
        "--out",
        run,
      );
      for (const copy of [own, one, pristine]) cpSync(run, copy, { recursive: true });

      tsgpt("train", "--resume", own, "--steps", "40", "--sample-tokens", "0");
      torchTrain("--run", one, "--steps", "40");
      const ddpOut = torchrun(2, "--run", run, "--steps", "40");
      assert.match(ddpOut, /on 2 process\(es\).*8 sequences per batch \(4 per process\)/);

      const ownLog = readLog(own);
      const oneLog = readLog(one);
      const ddpLog = readLog(run);
      const d1 = maxDelta(oneLog.train, ownLog.train, 21, 40);
      const d2 = maxDelta(ddpLog.train, ownLog.train, 21, 40);
      const dVal = Math.max(maxDelta(oneLog.val, ownLog.val, 30, 30), maxDelta(oneLog.val, ownLog.val, 40, 40));
      t.diagnostic(
        `steps 21-40, max |loss delta| vs tsgpt's own continuation: 1 process ${d1.toExponential(2)}, 2 processes ${d2.toExponential(2)}; val loss ${dVal.toExponential(2)}`,
      );
      assert.ok(d1 < TOLERANCE, `1-process PyTorch differs from tsgpt by ${d1} in loss`);
      assert.ok(d2 < TOLERANCE, `2-process DDP differs from tsgpt by ${d2} in loss`);
      assert.ok(dVal < TOLERANCE, `validation losses differ by ${dVal}`);

      // What PyTorch wrote is a tsgpt checkpoint: checksums verify, the data position is tsgpt's own.
      const fromTorch = verifyCheckpoint(join(run, "last"));
      const fromTsgpt = verifyCheckpoint(join(own, "last"));
      assert.equal(fromTorch.step, 40);
      assert.deepEqual(fromTorch.data, fromTsgpt.data);
      assert.deepEqual([fromTorch.tokensSeen, fromTorch.bestStep], [fromTsgpt.tokensSeen, fromTsgpt.bestStep]);
      assert.deepEqual(Object.keys(fromTorch.files), Object.keys(fromTsgpt.files));
      verifyCheckpoint(join(run, "checkpoint-30"));
      verifyCheckpoint(join(run, "best"));

      const back = tsgpt("train", "--resume", run, "--steps", "60", "--sample-tokens", "0");
      assert.match(back, /resuming from .*last at step 40/);
      const log = readLog(run);
      assert.deepEqual(
        log.trainSteps,
        Array.from({ length: 60 }, (_, i) => i + 1),
        "one training record per step, none twice",
      );
      const means = [mean(log.train, 1, 20), mean(log.train, 21, 40), mean(log.train, 41, 60)];
      const vals = [log.val.get(20)!, log.val.get(40)!, log.val.get(60)!];
      t.diagnostic(
        `mean train loss, steps 1-20 (tsgpt) / 21-40 (torchrun ×2) / 41-60 (tsgpt): ${means.map((x) => x.toFixed(4)).join(" / ")}`,
      );
      t.diagnostic(`val loss at steps 20 / 40 / 60: ${vals.map((x) => x.toFixed(4)).join(" / ")}`);
      assert.ok(means[0]! > means[1]! && means[1]! > means[2]!, `the training loss must keep falling: ${means}`);
      assert.ok(vals[0]! > vals[1]! && vals[1]! > vals[2]!, `the validation loss must keep falling: ${vals}`);

      // The final checkpoint loads everywhere.
      const last = join(run, "last");
      assert.equal(verifyCheckpoint(last).step, 60);
      const gen = JSON.parse(
        tsgpt("generate", "--model", last, "--prompt", "ROMEO:", "--max-new-tokens", "8", "--temperature", "0", "--json")
          .trim()
          .split("\n")
          .at(-1)!,
      );
      assert.equal(typeof gen.text, "string");
      const sample = join(dir, "sample.txt");
      writeFileSync(sample, readFileSync(data, "utf8").slice(-2000));
      const score = JSON.parse(tsgpt("eval", "--model", last, "--data", sample, "--json").trim().split("\n").at(-1)!);
      assert.ok(Number.isFinite(score.loss));
      const gguf = join(dir, "final-q8_0.gguf");
      tsgpt("quantize", "--model", last, "--dtype", "q8_0", "--out", gguf);
      tsgpt(
        "generate",
        "--model",
        gguf,
        "--tokenizer",
        join(last, "tokenizer.model"),
        "--prompt",
        "ROMEO:",
        "--max-new-tokens",
        "4",
        "--temperature",
        "0",
      );
      const checked = /val loss (\d+\.\d+)/.exec(torchTrain("--run", run, "--steps", "61", "--check"));
      assert.ok(checked, "tsgpt_torch --check prints the validation loss");
      const dFinal = Math.abs(Number(checked[1]) - vals[2]!);
      t.diagnostic(`final checkpoint: PyTorch val loss ${checked[1]} vs tsgpt ${vals[2]!.toFixed(6)}`);
      assert.ok(dFinal < TOLERANCE, `PyTorch reads the final checkpoint differently: val loss off by ${dFinal}`);

      // Bad input: the Python side's own tests, on copies of the 20-step run.
      const unit = runChecked(python, ["-m", "unittest", "discover", "-s", join(PYTHON_DIR, "tests"), "-t", PYTHON_DIR], {
        ...pyEnv,
        TSGPT_TEST_RUN: pristine,
      });
      assert.match(unit, /\nOK\b/);
      assert.doesNotMatch(unit, /skipped/);
    } finally {
      cleanup();
    }
  });

  test("GPT-2 with gradient accumulation: 1-process PyTorch = tsgpt step for step", { skip }, (t) => {
    const { dir, cleanup } = tempDir("tsgpt-ddp-gpt2-");
    try {
      const data = join(dir, "data.txt");
      writeFileSync(data, readFileSync(sharedPath("data", "tinyshakespeare.txt"), "utf8").slice(0, 30_000));
      const config = join(dir, "config.json");
      writeFileSync(config, JSON.stringify(GPT2_CONFIG));
      const own = join(dir, "own");
      const one = join(dir, "one");
      tsgpt(
        "train",
        "--data",
        data,
        "--char",
        "--model",
        config,
        "--context",
        "32",
        "--batch-size",
        "4",
        "--grad-accum",
        "2",
        "--steps",
        "10",
        "--warmup",
        "2",
        "--eval-every",
        "0",
        "--eval-iters",
        "2",
        "--log-every",
        "1",
        "--sample-tokens",
        "0",
        "--out",
        own,
      );
      cpSync(own, one, { recursive: true });
      tsgpt("train", "--resume", own, "--steps", "20", "--sample-tokens", "0");
      torchTrain("--run", one, "--steps", "20");
      const d = maxDelta(readLog(one).train, readLog(own).train, 11, 20);
      t.diagnostic(`GPT-2, steps 11-20, max |loss delta| vs tsgpt: ${d.toExponential(2)}`);
      assert.ok(d < TOLERANCE, `1-process PyTorch differs from tsgpt by ${d} in loss`);
      assert.deepEqual(verifyCheckpoint(join(one, "last")).data, verifyCheckpoint(join(own, "last")).data);
    } finally {
      cleanup();
    }
  });
});
