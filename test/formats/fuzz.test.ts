// The fuzz harness (bench/fuzz/) as a test: 2,000 mutated files per format (safetensors, HF
// directories, GGUF, llama2.c, SentencePiece .model, tokenizer.json, PEFT adapters) through the
// loaders on both backends, in watched child processes. Every run must load or be refused with a
// clear error naming the file: no crash, no hang (10 s), no internal error escaping.
// `npm run fuzz -- --cases 10000` runs more of them (the cases continue the same sequence).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { availableBackends } from "../../src/backend/index.js";
import { runPool } from "../../bench/fuzz/pool.js";
import { summarize } from "../../bench/fuzz/summary.js";
import { checkSeed } from "../../bench/fuzz/targets.js";
import { FORMATS, writeSeeds } from "../../bench/fuzz/seeds.js";

const CASES_PER_FORMAT = 2000;
let seedsDir = "";

before(async () => {
  seedsDir = await writeSeeds(mkdtempSync(join(tmpdir(), "tsgpt-fuzz-test-")));
});
after(() => rmSync(seedsDir, { recursive: true, force: true }));

test("every seed file loads as it is (else its mutations would test nothing)", async () => {
  for (const format of FORMATS) await checkSeed(seedsDir, format);
});

test(`${CASES_PER_FORMAT} mutated files per format: no crash, no hang, no unclear error`, async () => {
  const cases = FORMATS.flatMap((format) => Array.from({ length: CASES_PER_FORMAT }, (_, index) => ({ format, index })));
  const report = await runPool(cases, {
    seedsDir,
    seed: 1,
    backends: availableBackends(),
    workers: Math.min(2, cpus().length),
  });
  const failures = report.results.flatMap((r) =>
    r.results
      .filter((x) => x.outcome === "bad-error" || x.outcome === "crash" || x.outcome === "hang")
      .map(
        (x) => `${x.outcome}: ${r.format} #${r.index} [${x.backend}] ${r.mutation.kind} ${r.mutation.detail.slice(0, 100)} → ${x.message}`,
      ),
  );
  assert.deepEqual(
    failures.slice(0, 20),
    [],
    `${failures.length} failing runs (replay one with npm run fuzz -- --format F --from I --cases 1)`,
  );
  const rows = summarize(report.results, FORMATS);
  for (const row of rows) {
    assert.equal(row.cases, CASES_PER_FORMAT, row.format);
    // The mutations must reach past the first check: some cases load, many are refused.
    assert.ok(row.ok > 0 && row.clean > 0, `${row.format}: ${row.ok} loaded, ${row.clean} refused`);
  }
});
