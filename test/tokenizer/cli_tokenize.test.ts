// `tsgpt tokenize` against the golden vectors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../../src/cli/tokenize.js";
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { repoRoot, skipUnlessShared, testDataPath } from "../helpers/shared.js";
import { loadVectors, modelPath } from "./vector_cases.js";
import { loadReference, readShipped, skipUnlessShipped } from "./hf_reference.js";

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "",
    err = "";
  const write = process.stdout.write.bind(process.stdout);
  const log = console.log,
    error = console.error;
  process.stdout.write = ((s: string) => {
    out += s;
    return true;
  }) as typeof process.stdout.write;
  console.log = (...a: unknown[]) => {
    out += a.join(" ") + "\n";
  };
  console.error = (...a: unknown[]) => {
    err += a.join(" ") + "\n";
  };
  try {
    const code = await run(argv);
    return { code, out, err };
  } finally {
    process.stdout.write = write;
    console.log = log;
    console.error = error;
  }
}

test("tokenize --text / --input give the library's pieces and ids", {
  skip: skipUnlessShared("testdata", "tokenizer", "llama2.model"),
}, async () => {
  const cases = loadVectors("llama2")
    .filter((c) => c.case.startsWith("heldout:"))
    .slice(0, 3);
  const one = await capture(["--model", modelPath("llama2"), "--text", cases[0]!.text, "--json", "--bos"]);
  assert.equal(one.code, 0);
  assert.deepEqual(JSON.parse(one.out).ids, [1, ...cases[0]!.ids]);
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-tok-"));
  try {
    const file = join(dir, "in.txt");
    writeFileSync(file, cases.map((c) => c.text).join("\n") + "\n");
    const ids = await capture(["--model", modelPath("llama2"), "--input", file, "--ids"]);
    assert.equal(ids.out, cases.map((c) => c.ids.join(" ")).join("\n") + "\n");
    const pieces = await capture(["--model", modelPath("llama2"), "--input", file]);
    assert.equal(pieces.out, cases.map((c) => c.pieces.join(" ")).join("\n") + "\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("tokenize: usage errors exit 2, a bad model exits 1 naming it", async () => {
  assert.equal((await capture(["--text", "x"])).code, 2);
  assert.equal((await capture(["--model", "m.model"])).code, 2);
  const bad = await capture(["--model", "does-not-exist.model", "--text", "x"]);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /does-not-exist\.model/);
});

test("tokenize --model tokenizer.json (or its folder) gives the reference's ids", { skip: skipUnlessShipped("qwen3") }, async () => {
  const reference = await loadReference();
  if (typeof reference === "string") return;
  const { dir, json, config } = readShipped("qwen3");
  const ref = new reference.Tokenizer(json, config);
  const text = "Hello world, 안녕하세요 🎉 <|im_start|>";
  const byFile = await capture(["--model", join(dir, "tokenizer.json"), "--text", text, "--json"]);
  assert.equal(byFile.code, 0, byFile.err);
  const out = JSON.parse(byFile.out) as { ids: number[]; pieces: string[] };
  assert.deepEqual(out.ids, ref.encode(text, { add_special_tokens: false }).ids);
  assert.equal(out.pieces.length, out.ids.length);
  const byDir = await capture(["--model", dir, "--text", text, "--ids"]);
  assert.equal(byDir.out, out.ids.join(" ") + "\n");
});

/** Runs the real command in its own process: streamed output and partial output are seen as a user sees them. */
function tsgpt(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [join(repoRoot, "bin", "tsgpt.js"), ...args], { encoding: "utf8" });
}

const llama = { skip: skipUnlessShared("testdata", "tokenizer", "llama2.model") };

test("tokenize --jsonl streams {ids, pieces} per line, in order, texts with newlines included", llama, () => {
  const cases = loadVectors("llama2")
    .filter((c) => c.case.startsWith("heldout:"))
    .slice(0, 5);
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-tok-"));
  try {
    const file = join(dir, "in.jsonl");
    const texts = [...cases.map((c) => c.text), "two\nlines"];
    writeFileSync(file, texts.map((text) => JSON.stringify({ text, id: 7 })).join("\n") + "\n");
    const r = tsgpt(["tokenize", "--model", modelPath("llama2"), "--jsonl", file]);
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { ids: number[]; pieces: string[] });
    assert.equal(rows.length, texts.length);
    cases.forEach((c, i) => assert.deepEqual(rows[i], { ids: c.ids, pieces: c.pieces }));
    // "two\nlines": the newline is a byte-fallback piece inside one output line
    assert.deepEqual(rows[5]!.pieces, ["▁two", "<0x0A>", "lines"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("tokenize --jsonl: a malformed line is an error naming its number, after the lines before it", llama, () => {
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-tok-"));
  try {
    const file = join(dir, "bad.jsonl");
    for (const [bad, why] of [
      ['{"text": "unterminated', /line 3: not valid JSON/],
      ['{"txt": "x"}', /line 3: "text" must be a string/],
      ["[1]", /line 3: expected a JSON object/],
    ] as const) {
      writeFileSync(file, `{"text": "a"}\n{"text": "b"}\n${bad}\n{"text": "c"}\n`);
      const r = tsgpt(["tokenize", "--model", modelPath("llama2"), "--jsonl", file]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, why);
      assert.match(r.stderr, /bad\.jsonl/);
      assert.deepEqual(
        r.stdout
          .trimEnd()
          .split("\n")
          .map((l) => JSON.parse(l).pieces),
        [["▁a"], ["▁b"]],
        "the two good lines before the bad one are written",
      );
    }
    const missing = tsgpt(["tokenize", "--model", modelPath("llama2"), "--jsonl", join(dir, "nope.jsonl")]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /nope\.jsonl/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("tokenize --decode --ids prints the library's decoded text; bad ids name the id", llama, async () => {
  const c = loadVectors("llama2").find((v) => v.case.startsWith("heldout:"))!;
  const r = await capture(["--model", modelPath("llama2"), "--decode", "--ids", c.ids.join(",")]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, c.decoded + "\n");
  const bad = await capture(["--model", modelPath("llama2"), "--decode", "--ids", "1,32000"]);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /'32000' is not a piece id/);
});

test("tokenize --info gives the type, vocabulary size and special ids the library reports", llama, async () => {
  const ref = JSON.parse(readFileSync(testDataPath("tokenizer", "fixtures", "reference.json"), "utf8")) as {
    models: Record<string, { vocabSize: number; special: Record<string, number> }>;
  };
  for (const model of ["llama2", "unigram8k_nfkc"]) {
    const r = await capture(["--model", modelPath(model), "--info", "--json"]);
    assert.equal(r.code, 0, r.err);
    const info = JSON.parse(r.out) as {
      type: string;
      vocabSize: number;
      normalizer: { name: string };
      special: Record<string, { id: number }>;
    };
    assert.equal(info.type, model === "llama2" ? "BPE" : "UNIGRAM");
    assert.equal(info.vocabSize, ref.models[model]!.vocabSize);
    assert.equal(info.normalizer.name, model === "llama2" ? "identity" : "nmt_nfkc");
    for (const k of ["unk", "bos", "eos", "pad"]) assert.equal(info.special[k]!.id, ref.models[model]!.special[k], `${model} ${k}`);
    const text = await capture(["--model", modelPath(model), "--info"]);
    assert.match(text.out, new RegExp(`vocab size: +${info.vocabSize}`));
  }
});
