// `tsgpt train` and `tsgpt eval` end to end on a tiny model, and their answers to bad input.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run as trainCli } from "../../src/cli/train.js";
import { run as evalCli } from "../../src/cli/eval.js";
import { SentencePieceProcessor } from "../../src/tokenizer/index.js";
import { verifyCheckpoint } from "../../src/train/index.js";
import { TEXT, capture, tempDir, tinyGPT2Config } from "./helpers.js";

describe("tsgpt train / eval", () => {
  test("trains a character-level model, writes checkpoints, log, curve; eval scores it; resume continues", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const data = join(dir, "data.txt");
      writeFileSync(data, TEXT.repeat(6));
      const config = join(dir, "config.json");
      writeFileSync(config, JSON.stringify({ ...tinyGPT2Config(1), vocab_size: 64 }));
      const out = join(dir, "run");
      const args = [
        "--data",
        data,
        "--char",
        "--model",
        config,
        "--context",
        "16",
        "--batch-size",
        "2",
        "--eval-every",
        "5",
        "--eval-iters",
        "2",
        "--save-every",
        "5",
        "--warmup",
        "2",
        "--sample-tokens",
        "10",
        "--out",
        out,
      ];
      const r = await capture(() => trainCli([...args, "--steps", "10"]));
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /--- sample ---/);
      for (const d of ["checkpoint-5", "checkpoint-10", "last", "best"]) verifyCheckpoint(join(out, d));
      const sp = SentencePieceProcessor.load(join(out, "last", "tokenizer.model"));
      assert.deepEqual(sp.decode(sp.encodeAsIds("Speak, speak.\nAll:")), "Speak, speak.\nAll:");
      const log = readFileSync(join(out, "log.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      assert.ok(log.some((x) => x.type === "train" && x.step === 10) && log.some((x) => x.type === "eval" && x.step === 10));
      const svg = readFileSync(join(out, "loss_curve.svg"), "utf8");
      assert.match(svg, /^<svg[^]*<path[^]*validation[^]*<\/svg>\n$/);

      const ev = await capture(() => evalCli(["--model", join(out, "last"), "--data", data, "--json"]));
      assert.equal(ev.code, 0, ev.err);
      const score = JSON.parse(ev.out);
      assert.ok(score.loss > 0 && Math.abs(score.perplexity - Math.exp(score.loss)) < 1e-9 * score.perplexity);

      const resumed = await capture(() => trainCli(["--resume", out, "--steps", "12", "--sample-tokens", "0"]));
      assert.equal(resumed.code, 0, resumed.err);
      assert.match(resumed.err, /resuming from .*last at step 10/);
      assert.equal(verifyCheckpoint(join(out, "last")).step, 12);
    } finally {
      cleanup();
    }
  });

  test("bad data: empty, binary, not UTF-8, shorter than a context window → an error naming the file; nothing written", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const cases: Array<[string, Uint8Array | string, RegExp]> = [
        ["empty.txt", "", /empty/],
        ["image.png", new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), /binary|UTF-8/],
        ["latin1.txt", Buffer.from("caf\xe9 au lait\n", "latin1"), /not valid UTF-8/],
        ["short.txt", "To be or not to be.\n", /too short/],
      ];
      for (const [name, content, re] of cases) {
        const file = join(dir, name);
        writeFileSync(file, content);
        const out = join(dir, `out-${name}`);
        const r = await capture(() => trainCli(["--data", file, "--char", "--context", "32", "--out", out]));
        assert.equal(r.code, 1, `${name}: ${r.err}`);
        assert.ok(r.err.includes(file) && re.test(r.err), `${name}: ${r.err}`);
        assert.equal(existsSync(out), false, `${name}: nothing is written`);
      }
    } finally {
      cleanup();
    }
  });

  test("a second run into the same --out is refused unless --force, which starts over", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const data = join(dir, "data.txt");
      writeFileSync(data, TEXT.repeat(6));
      const config = join(dir, "config.json");
      writeFileSync(config, JSON.stringify({ ...tinyGPT2Config(1), vocab_size: 64 }));
      const out = join(dir, "run");
      const args = [
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
      assert.equal((await capture(() => trainCli(args))).code, 0);
      const log = readFileSync(join(out, "log.jsonl"), "utf8");
      const before = readdirSync(out).sort();
      const again = await capture(() => trainCli(args));
      assert.equal(again.code, 2, again.err);
      assert.match(again.err, /already holds files.*--resume .*run.*--force/);
      assert.deepEqual(readdirSync(out).sort(), before);
      assert.equal(readFileSync(join(out, "log.jsonl"), "utf8"), log);

      writeFileSync(join(out, "checkpoint-999"), "an old run's leftover");
      const forced = await capture(() => trainCli([...args, "--force"]));
      assert.equal(forced.code, 0, forced.err);
      assert.equal(existsSync(join(out, "checkpoint-999")), false, "--force clears the directory");
      const steps = readFileSync(join(out, "log.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
        .filter((x) => x.type === "train");
      assert.deepEqual(
        steps.map((x) => x.step),
        [...new Set(steps.map((x) => x.step))],
        "one run in the log",
      );

      const inside = join(out, "data.txt");
      writeFileSync(inside, TEXT.repeat(6));
      const own = await capture(() => trainCli([...args.slice(2), "--data", inside, "--force"]));
      assert.equal(own.code, 2);
      assert.match(own.err, /would write over the input --data/);
      assert.ok(existsSync(inside));
    } finally {
      cleanup();
    }
  });

  test("--resume reads only the data recorded with its sha256, or the --data given now", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const data = join(dir, "data.txt");
      writeFileSync(data, TEXT.repeat(6));
      const config = join(dir, "config.json");
      writeFileSync(config, JSON.stringify({ ...tinyGPT2Config(1), vocab_size: 64 }));
      const out = join(dir, "run");
      const r = await capture(() =>
        trainCli([
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
        ]),
      );
      assert.equal(r.code, 0, r.err);
      const statePath = join(out, "last", "trainer_state.json");
      const state = JSON.parse(readFileSync(statePath, "utf8"));
      assert.equal(state.settings.source.dataSha256.length, 1);
      // trainer_state.json edited to read another file: its state_sha256 no longer matches.
      const other = join(dir, "secret.txt");
      writeFileSync(other, TEXT.repeat(7));
      const text = readFileSync(statePath, "utf8");
      writeFileSync(statePath, text.replace(JSON.stringify(data), JSON.stringify(other)));
      const edited = await capture(() => trainCli(["--resume", out, "--steps", "3", "--sample-tokens", "0"]));
      assert.equal(edited.code, 1, edited.err);
      assert.match(edited.err, /trainer_state\.json: state_sha256: does not match the file's contents/);
      // The same edit in a state without the checksum (an older run): one warning, then the
      // data's own sha256 refuses the other file, naming it.
      const { state_sha256: _sum, ...old } = state;
      const oldState = { ...old, settings: { ...old.settings, source: { ...old.settings.source, dataFiles: [other] } } };
      writeFileSync(statePath, JSON.stringify(oldState));
      const bad = await capture(() => trainCli(["--resume", out, "--steps", "3", "--sample-tokens", "0"]));
      assert.equal(bad.code, 1, bad.err);
      assert.match(bad.err, /has no state_sha256/);
      assert.match(bad.err, /secret\.txt: sha256 differs/);
      // No checksums recorded: --data is needed.
      const { dataSha256: _drop, ...noSums } = state.settings.source;
      writeFileSync(statePath, JSON.stringify({ ...old, settings: { ...old.settings, source: noSums } }));
      const unsure = await capture(() => trainCli(["--resume", out, "--steps", "3", "--sample-tokens", "0"]));
      assert.equal(unsure.code, 2);
      assert.match(unsure.err, /pass --data/);
      const given = await capture(() => trainCli(["--resume", out, "--data", data, "--steps", "3", "--sample-tokens", "0"]));
      assert.equal(given.code, 0, given.err);
      assert.equal(verifyCheckpoint(join(out, "last")).step, 3);
    } finally {
      cleanup();
    }
  });

  test("resume from a checkpoint with a missing or corrupted file → an error naming it; nothing overwritten", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const data = join(dir, "data.txt");
      writeFileSync(data, TEXT.repeat(6));
      const config = join(dir, "config.json");
      writeFileSync(config, JSON.stringify({ ...tinyGPT2Config(1), vocab_size: 64 }));
      const out = join(dir, "run");
      const r = await capture(() =>
        trainCli([
          "--data",
          data,
          "--char",
          "--model",
          config,
          "--context",
          "16",
          "--batch-size",
          "2",
          "--steps",
          "3",
          "--eval-iters",
          "1",
          "--sample-tokens",
          "0",
          "--out",
          out,
        ]),
      );
      assert.equal(r.code, 0, r.err);
      const weights = join(out, "last", "model.safetensors");
      const bytes = readFileSync(weights);
      bytes[bytes.length - 5] ^= 1;
      writeFileSync(weights, bytes);
      const before = readdirSync(out).sort();
      const bad = await capture(() => trainCli(["--resume", out, "--steps", "6"]));
      assert.equal(bad.code, 1);
      assert.ok(bad.err.includes(weights) && /checksum/.test(bad.err), bad.err);
      assert.deepEqual(readdirSync(out).sort(), before);
      const state = join(out, "checkpoint-3", "trainer_state.json");
      writeFileSync(state, "{");
      const bad2 = await capture(() => trainCli(["--resume", join(out, "checkpoint-3"), "--steps", "6"]));
      assert.equal(bad2.code, 1);
      assert.ok(bad2.err.includes(state), bad2.err);
    } finally {
      cleanup();
    }
  });
});
