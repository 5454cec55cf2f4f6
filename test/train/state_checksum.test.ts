// trainer_state.json carries state_sha256 (the sha256 of its own bytes without that field), so a
// resume never trusts an edited state; a state written before the field existed resumes with one
// warning. finetune_args.json is covered through the checkpoint (settings.argsSha256) and covers
// its data files (dataSha256).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FormatError } from "../../src/util/errors.js";
import { modelToCheckpoint } from "../../src/models/index.js";
import { Generator, getRngState } from "../../src/tensor/index.js";
import { AdamW, DEFAULT_SETTINGS, saveTrainingCheckpoint, verifyCheckpoint } from "../../src/train/index.js";
import { finetune, type FinetuneArgs } from "../../src/train/finetune.js";
import { skipUnlessShared } from "../helpers/shared.js";
import { charTokenizer, tinyGPT2Config, tinyModel, writeTinyFinetuneBase } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "tsgpt-state-sum-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs fn with stderr captured. */
function stderrOf(fn: () => void): string {
  const chunks: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((c: string | Uint8Array) => {
    chunks.push(String(c));
    return true;
  }) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = write;
  }
  return chunks.join("");
}

function saveTiny(out: string): string {
  const { path: tok } = charTokenizer(dir);
  const model = tinyModel(tinyGPT2Config(20), 1);
  const opt = new AdamW(model.namedParameters());
  return saveTrainingCheckpoint(out, modelToCheckpoint(model, { tokenizerPath: tok }), opt.stateTensors(), {
    step: 7,
    tokensSeen: 70,
    bestValLoss: null,
    bestStep: null,
    rng: { global: getRngState() },
    data: { kind: "windows", rng: new Generator(7).getState() },
    settings: { steps: 100, source: { dataFiles: ["data.txt"] } },
  });
}

describe("trainer_state.json state_sha256", () => {
  test("is the last field and the sha256 of the file without it; verify accepts it and drops it", () => {
    const ckpt = saveTiny(join(dir, "a"));
    const text = readFileSync(join(ckpt, "trainer_state.json"), "utf8");
    const m = /,\n {2}"state_sha256": "([0-9a-f]{64})"\n\}\n$/.exec(text);
    assert.ok(m, "the last field");
    const without = `${text.slice(0, m.index)}\n}\n`;
    assert.equal(createHash("sha256").update(without).digest("hex"), m[1]);
    const state = verifyCheckpoint(ckpt);
    assert.equal(state.step, 7);
    assert.equal("state_sha256" in state, false);
  });

  test("an edited value, or the field moved, is refused naming the file and state_sha256", () => {
    const ckpt = saveTiny(join(dir, "b"));
    const path = join(ckpt, "trainer_state.json");
    const text = readFileSync(path, "utf8");
    writeFileSync(path, text.replace('"data.txt"', '"/etc/passwd"'));
    assert.throws(
      () => verifyCheckpoint(ckpt),
      (e: unknown) => e instanceof FormatError && e.file === path && e.field === "state_sha256" && /does not match/.test(e.message),
    );
    writeFileSync(path, JSON.stringify(JSON.parse(text)));
    assert.throws(
      () => verifyCheckpoint(ckpt),
      (e: unknown) => e instanceof FormatError && e.field === "state_sha256" && /last field/.test(e.message),
    );
  });

  test("a state without it (an older run) is read, with one warning per file", () => {
    const ckpt = saveTiny(join(dir, "c"));
    const path = join(ckpt, "trainer_state.json");
    const { state_sha256: _sum, ...old } = JSON.parse(readFileSync(path, "utf8"));
    writeFileSync(path, JSON.stringify(old));
    const first = stderrOf(() => assert.equal(verifyCheckpoint(ckpt).step, 7));
    assert.match(first, /trainer_state\.json has no state_sha256/);
    const second = stderrOf(() => verifyCheckpoint(ckpt));
    assert.equal(second, "", "warned once");
  });
});

const TOKENIZER = ["testdata", "tokenizer", "tok512.model"] as const;

describe("finetune_args.json checked on resume", { skip: skipUnlessShared(...TOKENIZER) }, () => {
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

  test("edited args or changed data are refused naming the file; an older run resumes with a warning", () => {
    const args = setup();
    const run = join(dir, "ft");
    finetune({ args, out: run, log: null, progress: false, stopAt: 1 });
    const argsPath = join(run, "finetune_args.json");
    const original = readFileSync(argsPath, "utf8");
    assert.match(original, /"dataSha256"/);

    writeFileSync(argsPath, original.replace(JSON.stringify(args.data), JSON.stringify(join(dir, "other.jsonl"))));
    assert.throws(
      () => finetune({ out: run, resume: true, log: null, progress: false }),
      (e: unknown) => e instanceof FormatError && e.file === argsPath && /argsSha256/.test(e.message),
    );
    writeFileSync(argsPath, original);

    const data = readFileSync(args.data, "utf8");
    writeFileSync(args.data, `${data}${JSON.stringify({ instruction: "x", output: "y" })}\n`);
    assert.throws(
      () => finetune({ out: run, resume: true, log: null, progress: false }),
      (e: unknown) => e instanceof FormatError && e.file === args.data && /not the data this run started on/.test(e.message),
    );
    writeFileSync(args.data, data);

    // An older run: no dataSha256 in the args, no argsSha256 in the checkpoint.
    const { dataSha256: _d, ...oldArgs } = JSON.parse(original);
    writeFileSync(argsPath, JSON.stringify(oldArgs));
    const statePath = join(run, "last", "trainer_state.json");
    const { state_sha256: _s, ...state } = JSON.parse(readFileSync(statePath, "utf8"));
    delete state.settings.argsSha256;
    writeFileSync(statePath, JSON.stringify(state));
    let result: ReturnType<typeof finetune> | undefined;
    const warned = stderrOf(() => {
      result = finetune({ out: run, resume: true, log: null, progress: false });
    });
    assert.equal(result!.valLosses.length >= 0 && result!.losses.length, 1, "the one remaining step");
    assert.match(warned, /finetune_args\.json: the checkpoint records no settings\.argsSha256/);
  });
});
