// Peak memory of `tsgpt train` on a 100 MB corpus, as a multiple of the corpus size.
// The bound: a 100 MB corpus must not need 10× its size in RAM (tokenization streams
// line by line into an on-disk cache; training reads the ids as one typed array).
//
//   npm run build && node dist/bench/train/corpus_memory.js [--mb 100]
//
// Builds the corpus by repeating ../shared/testdata/corpus/train.txt (English + Korean) in a
// temporary folder, trains 2 steps with the shared 4k byte-fallback tokenizer, and reads the
// peak resident set size of the child process from /usr/bin/time (Debian package `time`).
import { spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { once } from "node:events";

const argMb = process.argv.indexOf("--mb");
const targetBytes = (argMb > 0 ? Number(process.argv[argMb + 1]) : 100) * 1e6;
const shared = process.env.TSGPT_SHARED_DIR ?? resolve("..", "shared");
const source = join(shared, "testdata", "corpus", "train.txt");
const tokenizer = join(shared, "testdata", "tokenizer", "bpe4k_identity_bytefallback.model");
for (const p of [source, tokenizer, "/usr/bin/time", "bin/tsgpt.js"]) {
  if (!existsSync(p)) {
    console.error(`missing ${p} (run from the repository root, after npm run build, with ../shared present)`);
    process.exit(1);
  }
}

const dir = mkdtempSync(join(tmpdir(), "tsgpt-corpus-"));
try {
  const corpus = join(dir, "corpus.txt");
  const text = readFileSync(source);
  const out = createWriteStream(corpus);
  for (let written = 0; written < targetBytes; written += text.length) {
    if (!out.write(text)) await once(out, "drain");
  }
  out.end();
  await once(out, "close");
  const corpusBytes = statSync(corpus).size;

  const started = Date.now();
  const r = spawnSync(
    "/usr/bin/time",
    [
      "-f",
      "peak_kb=%M",
      process.execPath,
      "bin/tsgpt.js",
      "train",
      "--data",
      corpus,
      "--tokenizer",
      tokenizer,
      "--steps",
      "2",
      "--eval-iters",
      "2",
      "--out",
      join(dir, "run"),
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) {
    console.error(r.stdout, r.stderr);
    process.exit(1);
  }
  const peakKb = Number(/peak_kb=(\d+)/.exec(r.stderr)?.[1]);
  const tokens = /data: ([\d,]+) tokens/.exec(r.stdout + r.stderr)?.[1] ?? "?";
  const peak = peakKb * 1024;
  console.log(
    `corpus: ${(corpusBytes / 1e6).toFixed(1)} MB, ${tokens} tokens (tokenized, cached and trained in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  console.log(`peak resident memory: ${(peak / 1e6).toFixed(1)} MB = ${(peak / corpusBytes).toFixed(2)}× the corpus (bound: 10×)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
