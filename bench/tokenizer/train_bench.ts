// Trains the same tokenizers with tsgpt and with spm_train (the SentencePiece library,
// Debian package `sentencepiece`) on the same corpus, in one run, and prints for each:
// wall time of both and their ratio, CPU time (user + system, all threads) of both, the share
// of spm_train's pieces that tsgpt also has, whether the .model files are byte-identical, and
// how many tokens each model needs for the held-out text (ratio tsgpt / spm_train; both models
// encoded by tsgpt's processor). Both sides get the same thread count (num_threads=2). With
// --rounds N the two sides alternate N times per config and the medians are printed.
//
//   npm run bench:train-tokenizer -- [--corpus FILE] [--heldout FILE] [--only NAME,...] [--rounds N]
//
// It runs from dist/ (npm run build): the Unigram E step's worker threads load compiled code.
//
// Defaults: ../shared/testdata/corpus/{train,heldout}.txt (or $TSGPT_SHARED_DIR). The configs
// are the ones that made the shared reference models (see ../shared/testdata/tokenizer/README.md).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { trainSentencePiece, writeModelFiles, type TrainerOptions } from "../../src/tokenizer/trainer.js";
import { parseModelProto, type ModelProto } from "../../src/tokenizer/model_proto.js";
import { SentencePieceProcessor } from "../../src/tokenizer/processor.js";

interface Config {
  name: string;
  options: Partial<TrainerOptions>;
  flags: string[];
}

const CONFIGS: Config[] = [
  {
    name: "bpe8k_nfkc",
    options: { modelType: "bpe", vocabSize: 8000, characterCoverage: 0.9995, numThreads: 2 },
    flags: ["--model_type=bpe", "--vocab_size=8000", "--character_coverage=0.9995", "--num_threads=2"],
  },
  {
    name: "unigram8k_nfkc",
    options: { modelType: "unigram", vocabSize: 8000, characterCoverage: 0.9995, numThreads: 2 },
    flags: ["--model_type=unigram", "--vocab_size=8000", "--character_coverage=0.9995", "--num_threads=2"],
  },
  {
    name: "bpe4k_identity_bytefallback",
    options: {
      modelType: "bpe",
      vocabSize: 4000,
      characterCoverage: 0.9995,
      numThreads: 2,
      byteFallback: true,
      normalizationRuleName: "identity",
    },
    flags: [
      "--model_type=bpe",
      "--vocab_size=4000",
      "--character_coverage=0.9995",
      "--num_threads=2",
      "--byte_fallback=true",
      "--normalization_rule_name=identity",
    ],
  },
];

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

interface Timing {
  wall: number;
  /** user + system seconds, all threads */
  cpu: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs spm_train under /usr/bin/time (for its CPU time, children included). */
function runSpmTrain(corpus: string, prefix: string, flags: string[]): Timing {
  const args = [`--input=${corpus}`, `--model_prefix=${prefix}`, "--minloglevel=2", ...flags];
  const timed = existsSync("/usr/bin/time");
  const t = performance.now();
  const r = timed
    ? spawnSync("/usr/bin/time", ["-f", "TIME %U %S", "spm_train", ...args], { encoding: "utf8" })
    : spawnSync("spm_train", args, { encoding: "utf8" });
  const wall = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`spm_train failed: ${r.stderr}`);
  const m = /TIME ([\d.]+) ([\d.]+)/.exec(r.stderr ?? "");
  return { wall, cpu: m ? Number(m[1]) + Number(m[2]) : NaN };
}

function countTokens(modelFile: string, lines: string[]): number {
  const sp = SentencePieceProcessor.load(modelFile);
  let n = 0;
  for (const l of lines) n += sp.encodeAsIds(l).length;
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { corpus: { type: "string" }, heldout: { type: "string" }, only: { type: "string" }, rounds: { type: "string" } },
  });
  const rounds = Number(values.rounds ?? 1);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${values.rounds}`);
  const shared = process.env.TSGPT_SHARED_DIR ?? resolve(repoRoot(), "..", "shared");
  const corpus = resolve(values.corpus ?? join(shared, "testdata", "corpus", "train.txt"));
  const heldoutFile = resolve(values.heldout ?? join(shared, "testdata", "corpus", "heldout.txt"));
  if (!existsSync(corpus)) throw new Error(`corpus not found: ${corpus} (use --corpus or TSGPT_SHARED_DIR)`);
  if (spawnSync("spm_train", ["--version"]).status !== 0) throw new Error("spm_train not found on PATH (Debian package `sentencepiece`)");
  const heldout = existsSync(heldoutFile)
    ? readFileSync(heldoutFile, "utf8")
        .split("\n")
        .filter((l) => l !== "")
    : [];
  const only = values.only?.split(",");
  const work = mkdtempSync(join(tmpdir(), "tsgpt-train-bench-"));
  console.log(`corpus: ${corpus}\nheld-out: ${heldout.length} lines`);
  console.log(`rounds: ${rounds} (medians)`);
  console.log(
    "config                        tsgpt s  spm_train s  ratio  tsgpt cpu s  spm cpu s  cpu ratio  overlap  identical  held-out tokens tsgpt/spm",
  );
  try {
    for (const c of CONFIGS) {
      if (only && !only.includes(c.name)) continue;
      const spmPrefix = join(work, `spm_${c.name}`);
      const oursPrefix = join(work, `tsgpt_${c.name}`);
      const spm: Timing[] = [],
        ours: Timing[] = [];
      let proto: ModelProto | undefined;
      for (let r = 0; r < rounds; r++) {
        spm.push(runSpmTrain(corpus, spmPrefix, c.flags));
        // Same input and prefix strings, so the recorded TrainerSpec can match byte for byte.
        const t = performance.now();
        const cpu = process.cpuUsage();
        proto = await trainSentencePiece({ input: corpus, modelPrefix: spmPrefix, ...c.options });
        const used = process.cpuUsage(cpu);
        ours.push({ wall: (performance.now() - t) / 1000, cpu: (used.user + used.system) / 1e6 });
      }
      writeModelFiles(proto!, oursPrefix);

      const ref = parseModelProto(readFileSync(`${spmPrefix}.model`));
      const refSet = new Set(ref.pieces.map((p) => p.piece));
      const overlap = proto!.pieces.filter((p) => refSet.has(p.piece)).length / ref.pieces.length;
      const identical = Buffer.compare(readFileSync(`${oursPrefix}.model`), readFileSync(`${spmPrefix}.model`)) === 0;
      const tokenRatio =
        heldout.length > 0 ? countTokens(`${oursPrefix}.model`, heldout) / countTokens(`${spmPrefix}.model`, heldout) : NaN;
      const oursWall = median(ours.map((x) => x.wall)),
        spmWall = median(spm.map((x) => x.wall));
      const oursCpu = median(ours.map((x) => x.cpu)),
        spmCpu = median(spm.map((x) => x.cpu));
      console.log(
        `${c.name.padEnd(28)} ${oursWall.toFixed(2).padStart(8)} ${spmWall.toFixed(2).padStart(12)} ${(oursWall / spmWall).toFixed(2).padStart(6)}` +
          `  ${oursCpu.toFixed(2).padStart(11)} ${spmCpu.toFixed(2).padStart(10)} ${(oursCpu / spmCpu).toFixed(2).padStart(10)}` +
          `  ${(overlap * 100).toFixed(2).padStart(6)}%  ${(identical ? "yes" : "no").padEnd(9)}  ${tokenRatio.toFixed(4)}`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`train_bench: ${(err as Error).message}`);
  process.exitCode = 1;
});
