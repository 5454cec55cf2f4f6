// One --resume spelling for train and finetune: a bare `--resume` continues the run in --out,
// `--resume DIR` continues that run; the older forms (train --resume DIR, finetune --resume --out
// DIR) keep working.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseOptions, UsageError } from "../../src/cli/args.js";
import { run as trainCli } from "../../src/cli/train.js";
import { run as finetuneCli } from "../../src/cli/finetune.js";
import { finetune, type FinetuneArgs } from "../../src/train/finetune.js";
import { DEFAULT_SETTINGS, loadAdapterCheckpoint, verifyCheckpoint } from "../../src/train/index.js";
import { skipUnlessShared } from "../helpers/shared.js";
import { TEXT, capture, tinyGPT2Config, writeTinyFinetuneBase } from "../train/helpers.js";

const dir = mkdtempSync(join(tmpdir(), "tsgpt-cli-resume-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("an option with an optional value reads bare as true, else takes the next argument", () => {
  const specs = {
    resume: { type: "string" as const, optionalValue: true, help: "" },
    out: { type: "string" as const, help: "" },
  };
  assert.equal(parseOptions("x", "", ["--resume"], specs)!.values.resume, true);
  assert.equal(parseOptions("x", "", ["--resume", "--out", "o"], specs)!.values.resume, true);
  assert.equal(parseOptions("x", "", ["--resume", "runs/a", "--out", "o"], specs)!.values.resume, "runs/a");
  assert.equal(parseOptions("x", "", ["--resume=runs/a"], specs)!.values.resume, "runs/a");
  assert.equal(parseOptions("x", "", ["--out", "o"], specs)!.values.resume, undefined);
  assert.throws(() => parseOptions("x", "", ["--resume", "a", "--resume"], specs), UsageError);
});

describe("tsgpt train --resume", () => {
  const data = join(dir, "data.txt");
  const config = join(dir, "config.json");
  const first = (out: string) => [
    "--data",
    data,
    "--char",
    "--arch",
    config,
    "--context",
    "16",
    "--batch-size",
    "2",
    "--steps",
    "2",
    "--eval-iters",
    "1",
    "--sample-tokens",
    "0",
    "--out",
    out,
  ];

  test("bare --resume continues --out; --resume DIR continues DIR; bare without --out is a usage error", async () => {
    writeFileSync(data, TEXT.repeat(6));
    writeFileSync(config, JSON.stringify({ ...tinyGPT2Config(1), vocab_size: 64 }));
    const out = join(dir, "run");
    assert.equal((await capture(() => trainCli(first(out)))).code, 0);

    const bare = await capture(() => trainCli(["--out", out, "--resume", "--steps", "3", "--sample-tokens", "0"]));
    assert.equal(bare.code, 0, bare.err);
    assert.match(bare.err, /resuming from .*last at step 2/);
    assert.equal(verifyCheckpoint(join(out, "last")).step, 3);

    const named = await capture(() => trainCli(["--resume", out, "--steps", "4", "--sample-tokens", "0"]));
    assert.equal(named.code, 0, named.err);
    assert.match(named.err, /resuming from .*last at step 3/);
    assert.equal(verifyCheckpoint(join(out, "last")).step, 4);

    const nothing = await capture(() => trainCli(["--resume", "--steps", "5"]));
    assert.equal(nothing.code, 2);
    assert.match(nothing.err, /--resume without a DIR continues the run in --out/);
  });
});

const TOKENIZER = ["testdata", "tokenizer", "tok512.model"] as const;

describe("tsgpt finetune --resume", { skip: skipUnlessShared(...TOKENIZER) }, () => {
  function setup(): FinetuneArgs {
    const { base, data } = writeTinyFinetuneBase(dir);
    return {
      base,
      data,
      valFraction: 0.25,
      template: "alpaca",
      r: 2,
      alpha: 4,
      dropout: 0,
      targets: ["q_proj"],
      settings: {
        ...DEFAULT_SETTINGS,
        steps: 2,
        lr: 1e-2,
        minLr: 1e-3,
        warmupSteps: 0,
        batchSize: 2,
        contextLength: 128,
        evalEvery: 0,
        saveEvery: 1,
        logEvery: 1,
      },
    };
  }

  test("bare --resume with --out, --resume DIR, and the two naming different runs", async () => {
    const args = setup();
    const runA = join(dir, "ft-a");
    const runB = join(dir, "ft-b");
    finetune({ args, out: runA, log: null, progress: false, stopAt: 1 });
    finetune({ args, out: runB, log: null, progress: false, stopAt: 1 });

    const bare = await capture(() => finetuneCli(["--out", runA, "--resume"]));
    assert.equal(bare.code, 0, bare.err);
    assert.equal(loadAdapterCheckpoint(runA).state.step, 2);

    const named = await capture(() => finetuneCli(["--resume", runB]));
    assert.equal(named.code, 0, named.err);
    assert.equal(loadAdapterCheckpoint(runB).state.step, 2);

    const both = await capture(() => finetuneCli(["--resume", runA, "--out", runB]));
    assert.equal(both.code, 2);
    assert.match(both.err, /name different run directories/);
    const none = await capture(() => finetuneCli(["--resume"]));
    assert.equal(none.code, 2);
    assert.match(none.err, /--resume needs the run directory/);
  });

  test("a new run into an --out that holds one: refused naming --force; --force starts over", async () => {
    const args = setup();
    const run = join(dir, "ft-force");
    finetune({ args, out: run, log: null, progress: false, stopAt: 1 });
    writeFileSync(join(run, "leftover.txt"), "an old run's file");
    const flags = ["--model", args.base, "--data", args.data, "--template", "alpaca", "--lora-r", "2", "--target", "q_proj"];
    const flagsRun = [...flags, "--steps", "1", "--batch-size", "2", "--context", "128", "--save-every", "1", "--eval-every", "0"];
    const refused = await capture(() => finetuneCli([...flagsRun, "--out", run]));
    assert.equal(refused.code, 2);
    assert.match(refused.err, /--force to start over/);
    assert.ok(existsSync(join(run, "leftover.txt")));
    const forced = await capture(() => finetuneCli([...flagsRun, "--out", run, "--force"]));
    assert.equal(forced.code, 0, forced.err);
    assert.equal(existsSync(join(run, "leftover.txt")), false, "--force clears the directory");
    assert.equal(loadAdapterCheckpoint(run).state.step, 1);
    // Never when an input lies inside it.
    const inside = join(run, "data.jsonl");
    writeFileSync(inside, readFileSync(args.data));
    const own = await capture(() => finetuneCli([...flagsRun.map((f) => (f === args.data ? inside : f)), "--out", run, "--force"]));
    assert.equal(own.code, 2);
    assert.match(own.err, /would write over the input --data/);
    assert.ok(existsSync(inside));
  });
});
