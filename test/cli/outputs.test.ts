// One rule for every command that writes: an existing output is refused unless --force, an
// output is never an input; the old spellings of flags still work; an unknown flag gets a hint.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run as convert } from "../../src/cli/convert.js";
import { run as quantize } from "../../src/cli/quantize.js";
import { run as merge } from "../../src/cli/merge.js";
import { run as trainTokenizer } from "../../src/cli/train_tokenizer.js";
import { parseOptions, suggestion, UsageError } from "../../src/cli/args.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";

const dir = mkdtempSync(join(tmpdir(), "tsgpt-cli-outputs-"));
after(() => rmSync(dir, { recursive: true, force: true }));

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
    return { code: await fn(argv), out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

test("an unknown option names the closest real one", () => {
  const specs = { out: { type: "string" as const, help: "" }, model: { type: "string" as const, help: "" } };
  assert.throws(
    () => parseOptions("x", "", ["--ouput", "a"], specs),
    (e: Error) => e instanceof UsageError && /unknown option --ouput; did you mean --out\?/.test(e.message),
  );
  assert.throws(
    () => parseOptions("x", "", ["--zzzzzzzz"], specs),
    (e: Error) => /unknown option --zzzzzzzz$/.test(e.message),
  );
  assert.equal(suggestion("--warmup", ["warmup-steps", "lr"]), "; did you mean --warmup-steps?");
});

test("an alias gives its value to the option it spells; both at once is an error", () => {
  const specs = { out: { type: "string" as const, help: "" }, output: { type: "string" as const, aliasOf: "out", help: "" } };
  assert.equal(parseOptions("x", "", ["--output", "a"], specs)!.values.out, "a");
  assert.throws(() => parseOptions("x", "", ["--output", "a", "--out", "b"], specs), /--output and --out mean the same/);
});

test("train-tokenizer refuses to overwrite PREFIX.model without --force, and never writes over its input", async () => {
  const corpus = join(dir, "corpus.txt");
  writeFileSync(corpus, "the cat sat on the mat\nthe dog sat on the log\n".repeat(20));
  const prefix = join(dir, "tok");
  const args = ["--input", corpus, "--model-prefix", prefix, "--model-type", "char", "--quiet"];
  assert.equal((await capture(trainTokenizer, args)).code, 0);
  const first = readFileSync(`${prefix}.model`);
  const again = await capture(trainTokenizer, args);
  assert.equal(again.code, 2);
  assert.match(again.err, /tok\.model already exists \(add --force to overwrite it\)/);
  assert.deepEqual(readFileSync(`${prefix}.model`), first);
  assert.equal((await capture(trainTokenizer, [...args, "--force"])).code, 0);
  const over = await capture(trainTokenizer, [
    "--input",
    `${prefix}.model`,
    "--model-prefix",
    prefix,
    "--model-type",
    "char",
    "--force",
    "--quiet",
  ]);
  assert.equal(over.code, 2);
  assert.match(over.err, /would write over the input --input/);
});

describe("outputs", { skip: skipUnlessShared("models", "stories260K", "stories260K.bin") }, () => {
  const bin = () => sharedPath("models", "stories260K", "stories260K.bin");

  test("quantize refuses to write over its input, and an existing output without --force", async () => {
    const input = join(dir, "in.bin");
    copyFileSync(bin(), input);
    let r = await capture(quantize, ["--model", input, "--dtype", "q8_0", "--out", input]);
    assert.equal(r.code, 2);
    assert.match(r.err, /would write over the input --model/);
    assert.ok(readFileSync(input).equals(readFileSync(bin())), "the input is untouched");
    const out = join(dir, "q.gguf");
    r = await capture(quantize, ["--model", input, "--dtype", "q8_0", "--output", out]);
    assert.equal(r.code, 0, r.err);
    const before = statSync(out).mtimeMs;
    r = await capture(quantize, ["--model", input, "--dtype", "q8_0", "--out", out]);
    assert.equal(r.code, 2);
    assert.match(r.err, /already exists \(add --force to overwrite it\)/);
    assert.equal(statSync(out).mtimeMs, before);
    r = await capture(quantize, ["--model", input, "--dtype", "q8_0", "--out", out, "--force"]);
    assert.equal(r.code, 0, r.err);
  });

  test("convert --to hf refuses an existing directory, and its input folder", async () => {
    const hf = join(dir, "hf");
    let r = await capture(convert, ["--model", bin(), "--out", hf, "--to", "hf"]);
    assert.equal(r.code, 0, r.err);
    r = await capture(convert, ["--input", bin(), "--output", hf, "--to", "hf"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--out .*hf already exists \(add --force/);
    r = await capture(convert, ["--model", hf, "--out", hf, "--to", "hf", "--force"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /would write over the input --model/);
    r = await capture(convert, ["--model", hf, "--out", join(hf, "inner.gguf"), "--to", "gguf"]);
    assert.equal(r.code, 2, "inside the input folder");
    r = await capture(convert, ["--model", bin(), "--out", hf, "--to", "hf", "--force"]);
    assert.equal(r.code, 0, r.err);
    const empty = join(dir, "empty");
    mkdirSync(empty);
    r = await capture(convert, ["--model", bin(), "--out", empty, "--to", "hf"]);
    assert.equal(r.code, 0, `an empty folder is not an existing output: ${r.err}`);
  });

  test("merge refuses an existing --out and writing into the adapter", async () => {
    const out = join(dir, "merged");
    mkdirSync(out);
    writeFileSync(join(out, "keep.txt"), "x");
    const adapter = join(dir, "adapter");
    mkdirSync(adapter);
    let r = await capture(merge, ["--base", bin(), "--adapter", adapter, "--out", out]);
    assert.equal(r.code, 2);
    assert.match(r.err, /already exists/);
    r = await capture(merge, ["--model", bin(), "--adapter", adapter, "--out", adapter, "--force"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /would write over the input --adapter/);
  });
});
