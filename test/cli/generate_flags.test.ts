// `tsgpt generate --explain`, `--ignore-eos` and `--top-logprobs` without --json.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { loadCheckpointSync, saveCheckpointSync } from "../../src/formats/load.js";
import { repoRoot, sharedPath, skipUnlessShared } from "../helpers/shared.js";

/** Runs `tsgpt generate` in a child process (the test runner reports on this process's stdout). */
async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = spawnSync(process.execPath, [join(repoRoot, "bin", "tsgpt.js"), "generate", ...argv], { encoding: "utf8" });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe("tsgpt generate flags", { skip: skipUnlessShared("models", "stories260K", "stories260K.bin") }, () => {
  const base = () => [
    "--model",
    sharedPath("models", "stories260K", "stories260K.bin"),
    "--tokenizer",
    sharedPath("models", "stories260K", "tok512.model"),
    "--prompt",
    "Once upon a time",
  ];

  test("--explain reports, per token, the chosen one among candidates with a draw probability", async () => {
    const r = await capture([
      ...base(),
      "--max-new-tokens",
      "6",
      "--explain",
      "--explain-top",
      "4",
      "--top-k",
      "3",
      "--temperature",
      "1.5",
      "--seed",
      "5",
      "--json",
    ]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.explain.length, j.tokens.length);
    j.explain.forEach((s: any, i: number) => {
      assert.equal(s.token, j.tokens[i]);
      assert.equal(s.candidates.length, 4);
      const chosen = s.candidates.find((c: any) => c.token === s.token);
      assert.ok(chosen && chosen.finalProbability > 0 && chosen.cutBy === null, `step ${i}`);
      assert.ok(s.candidates.filter((c: any) => c.cutBy === "topK").length >= 1, "top-k 3 of 4 shown cuts one");
      assert.ok(Math.abs(Math.exp(j.logprobs[i].logprob) - s.candidates.find((c: any) => c.token === s.token).probability) < 1e-4);
    });
    const text = await capture([...base(), "--max-new-tokens", "2", "--explain", "--temperature", "0"]);
    assert.equal(text.code, 0, text.err);
    assert.match(text.err, /step 0: chose .* \(greedy/);
    assert.match(text.err, /greedy \(not the argmax\)/);
  });

  test("--ignore-eos generates past the end-of-text token, up to --max-new-tokens", async () => {
    // A copy of the model whose end-of-text token is the 5th token greedy decoding picks.
    const dir = mkdtempSync(join(tmpdir(), "tsgpt-ignore-eos-"));
    try {
      const first = JSON.parse((await capture([...base(), "--max-new-tokens", "8", "--temperature", "0", "--json"])).out);
      const eos = first.tokens[4];
      const hf = join(dir, "hf");
      saveCheckpointSync(hf, loadCheckpointSync(sharedPath("models", "stories260K", "stories260K.bin")), "hf");
      writeFileSync(join(hf, "generation_config.json"), JSON.stringify({ eos_token_id: eos }));
      const args = ["--model", hf, ...base().slice(2), "--max-new-tokens", "30", "--temperature", "0", "--json"];
      const stopped = JSON.parse((await capture(args)).out);
      assert.equal(stopped.finishReason, "eos");
      assert.equal(stopped.tokens.length, first.tokens.indexOf(eos), "stops at the first end-of-text token (not reported)");
      const r = JSON.parse((await capture([...args, "--ignore-eos"])).out);
      assert.equal(r.finishReason, "length");
      assert.equal(r.tokens.length, 30);
      assert.deepEqual(r.tokens.slice(0, 8), first.tokens);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("chat --explain prints a table per token of the reply", () => {
    const r = spawnSync(
      process.execPath,
      [
        join(repoRoot, "bin", "tsgpt.js"),
        "chat",
        "--model",
        sharedPath("models", "stories260K", "stories260K.bin"),
        "--template",
        "llama2",
        "--max-new-tokens",
        "3",
        "--explain",
        "--explain-top",
        "2",
        "--temperature",
        "0",
      ],
      { encoding: "utf8", input: "Hi\n/exit\n" },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal((r.stderr.match(/^step \d+: chose /gm) ?? []).length, 3);
    assert.equal((r.stderr.match(/^→ /gm) ?? []).length, 3);
  });

  test("--top-logprobs without --json says --json is needed", async () => {
    const r = await capture([...base(), "--top-logprobs", "3"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /add --json/);
  });
});
