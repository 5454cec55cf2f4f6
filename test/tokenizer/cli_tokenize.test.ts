// `tsgpt tokenize` against the golden vectors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../../src/cli/tokenize.js";
import { skipUnlessShared } from "../helpers/shared.js";
import { loadVectors, modelPath } from "./vector_cases.js";
import { loadReference, readShipped, skipUnlessShipped } from "./hf_reference.js";

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "", err = "";
  const write = process.stdout.write.bind(process.stdout);
  const log = console.log, error = console.error;
  process.stdout.write = ((s: string) => { out += s; return true; }) as typeof process.stdout.write;
  console.log = (...a: unknown[]) => { out += a.join(" ") + "\n"; };
  console.error = (...a: unknown[]) => { err += a.join(" ") + "\n"; };
  try {
    const code = await run(argv);
    return { code, out, err };
  } finally {
    process.stdout.write = write;
    console.log = log;
    console.error = error;
  }
}

test("tokenize --text / --input give the library's pieces and ids", { skip: skipUnlessShared("testdata", "tokenizer", "llama2.model") }, async () => {
  const cases = loadVectors("llama2").filter((c) => c.case.startsWith("heldout:")).slice(0, 3);
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
