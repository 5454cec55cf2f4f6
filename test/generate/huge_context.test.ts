// A config that claims a huge context (max_position_embeddings 1e9, GGUF context_length
// 2^32 - 1) costs nothing until positions are used: the RoPE tables and the KV cache are sized by
// what a run needs. Loading and generating a few tokens stays fast and small, on both backends,
// and gives the same tokens as the model with its real context.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { loadCheckpointSync, saveCheckpointSync } from "../../src/formats/load.js";
import { repoRoot, sharedPath, skipUnlessShared } from "../helpers/shared.js";

const dir = mkdtempSync(join(tmpdir(), "tsgpt-huge-context-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Loads `model` in a fresh process and generates 8 greedy tokens; returns them, the time and peak RSS. */
function run(model: string, backend: string): { tokens: number[]; seconds: number; rssMiB: number; context: number } {
  const lib = pathToFileURL(join(repoRoot, "dist", "src", "generate", "index.js")).href;
  const script = `
    const { TextGenerator } = await import(${JSON.stringify(lib)});
    const t0 = performance.now();
    const gen = await TextGenerator.load(${JSON.stringify(model)}, { tokenizerPath: ${JSON.stringify(sharedPath("models", "stories260K", "tok512.model"))} });
    const r = await gen.generate("Once upon a time", { temperature: 0, maxNewTokens: 8 });
    console.log(JSON.stringify({ tokens: r.tokens, seconds: (performance.now() - t0) / 1000, rssMiB: process.resourceUsage().maxRSS / 1024, context: gen.model.dims.context }));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
    env: { ...process.env, TSGPT_BACKEND: backend },
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

describe("huge context in a config", { skip: skipUnlessShared("models", "stories260K", "stories260K.bin") }, () => {
  const bin = () => sharedPath("models", "stories260K", "stories260K.bin");

  test("HF max_position_embeddings 1e9 and GGUF context_length 2^32-1: fast, small, same tokens", () => {
    const hf = join(dir, "hf");
    saveCheckpointSync(hf, loadCheckpointSync(bin()), "hf");
    const config = JSON.parse(readFileSync(join(hf, "config.json"), "utf8"));
    writeFileSync(join(hf, "config.json"), JSON.stringify({ ...config, max_position_embeddings: 1e9 }));
    const gguf = join(dir, "huge.gguf");
    const ck = loadCheckpointSync(bin());
    (ck.config as { max_position_embeddings: number }).max_position_embeddings = 2 ** 32 - 1;
    saveCheckpointSync(gguf, ck, "gguf");
    const backends = ["js", ...(process.env.TSGPT_BACKEND === "js" ? [] : ["native"])];
    for (const backend of backends) {
      const reference = run(bin(), backend);
      for (const [model, context] of [
        [hf, 1e9],
        [gguf, 2 ** 32 - 1],
      ] as const) {
        const r = run(model, backend);
        assert.equal(r.context, context, `${backend} ${model}`);
        assert.deepEqual(r.tokens, reference.tokens, `${backend} ${model}`);
        assert.ok(r.seconds < 3, `${backend} ${model}: ${r.seconds.toFixed(2)} s`);
        assert.ok(
          r.rssMiB < reference.rssMiB + 100,
          `${backend} ${model}: peak RSS ${r.rssMiB.toFixed(0)} MiB vs ${reference.rssMiB.toFixed(0)} MiB`,
        );
      }
    }
  });
});
