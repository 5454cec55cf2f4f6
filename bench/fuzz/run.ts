// The fuzz harness: mutated checkpoints and tokenizer files through every loader, on both
// backends, in child processes that are watched for crashes, hangs and memory.
//
//   npm run fuzz -- --cases 10000 --seed 1
//   npm run fuzz -- --cases 200 --format gguf --backend native --workers 2
//   npm run fuzz -- --format hf --from 1234 --cases 1        (replay one case, printing it)
//
// Formats: safetensors, hf (config.json + safetensors + tokenizer.model), gguf, llama2c,
// spm (SentencePiece .model), tokenizer-json, peft (adapter_config.json + safetensors).
// Each case is a pure function of (--seed, format, index); a finding is printed with its index.
// Exit code 1 when any case crashed, hung or failed with a bad error.
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { availableBackends, type BackendName } from "../../src/backend/index.js";
import { runPool } from "./pool.js";
import { checkSeed } from "./targets.js";
import { summarize, type FormatSummary } from "./summary.js";
import { FORMATS, writeSeeds, type FuzzFormat } from "./seeds.js";

const { values } = parseArgs({
  options: {
    cases: { type: "string", default: "1000" },
    format: { type: "string" },
    seed: { type: "string", default: "1" },
    from: { type: "string", default: "0" },
    backend: { type: "string" },
    workers: { type: "string", default: "2" },
    timeout: { type: "string", default: "10" },
  },
});

function int(name: string, v: string | undefined, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    console.error(`fuzz: --${name} must be an integer >= ${min}, got '${v}'`);
    process.exit(2);
  }
  return n;
}

const casesPerFormat = int("cases", values.cases, 1);
const seed = int("seed", values.seed, 0);
const from = int("from", values.from, 0);
const workers = int("workers", values.workers, 1);
const timeoutMs = int("timeout", values.timeout, 1) * 1000;
const formats = (values.format ?? FORMATS.join(",")).split(",") as FuzzFormat[];
for (const f of formats) {
  if (!FORMATS.includes(f)) {
    console.error(`fuzz: --format: unknown format '${f}' (expected ${FORMATS.join(", ")})`);
    process.exit(2);
  }
}
const backends = (values.backend ?? availableBackends().join(",")).split(",") as BackendName[];
for (const b of backends) {
  if (!availableBackends().includes(b)) {
    console.error(`fuzz: --backend: '${b}' is not available here (available: ${availableBackends().join(", ")})`);
    process.exit(2);
  }
}

const seedsDir = mkdtempSync(join(tmpdir(), "tsgpt-fuzz-seeds-"));
try {
  await writeSeeds(seedsDir);
  for (const f of formats) await checkSeed(seedsDir, f); // a seed that does not load would make every case meaningless
  const cases = formats.flatMap((format) => Array.from({ length: casesPerFormat }, (_, i) => ({ format, index: from + i })));
  const t0 = performance.now();
  let done = 0;
  const report = await runPool(cases, {
    seedsDir,
    seed,
    backends,
    workers,
    timeoutMs,
    onResult: (r) => {
      done++;
      const bad = r.results.filter((x) => x.outcome === "bad-error" || x.outcome === "crash" || x.outcome === "hang");
      for (const x of bad) {
        console.log(
          `${x.outcome}: ${r.format} #${r.index} [${x.backend}] ${r.mutation.kind} ${r.mutation.detail.slice(0, 120)} → ${x.message}`,
        );
      }
      if (casesPerFormat === 1 && cases.length === 1) console.log(JSON.stringify(r, null, 2));
      if (done % 1000 === 0) process.stderr.write(`${done} / ${cases.length} cases, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const rows: FormatSummary[] = summarize(report.results, formats);
  console.log(
    `\nseed ${seed}, cases ${from}…${from + casesPerFormat - 1} per format, backends ${backends.join(",")}, ${workers} worker(s)`,
  );
  console.log("| format | cases | runs | ok | clean error | bad error | crash | hang |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of rows) console.log(`| ${r.format} | ${r.cases} | ${r.runs} | ${r.ok} | ${r.clean} | ${r.bad} | ${r.crash} | ${r.hang} |`);
  const total = rows.reduce((t, r) => ({ runs: t.runs + r.runs, failures: t.failures + r.bad + r.crash + r.hang }), {
    runs: 0,
    failures: 0,
  });
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  console.log(
    `\n${total.runs} runs in ${seconds.toFixed(1)} s on ${workers} worker(s) (${cpus()[0]?.model ?? "unknown CPU"}); ` +
      `peak RSS per worker: ${report.peakRss.map(mib).join(", ")}; workers started: ${report.started}`,
  );
  process.exitCode = total.failures > 0 ? 1 : 0;
} finally {
  rmSync(seedsDir, { recursive: true, force: true });
}
