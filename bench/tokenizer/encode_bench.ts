// Tokenizer speed: tsgpt beside the SentencePiece C++ library (python3-sentencepiece, called
// from a long-lived Python process that times only the library call) on the same files, in
// the same run. Every figure is the median of --rounds rounds; tsgpt and the library alternate
// round by round so both see the same machine load. Prints MB/s of UTF-8 input and the ratio.
//
//   npm run bench:tokenizer                       # builds, then runs dist/bench/tokenizer/encode_bench.js
//   node --expose-gc dist/bench/tokenizer/encode_bench.js --rounds 7 --only encode
//
// Measured: model load (llama2.model; tsgpt in fresh Node processes, so cold, and again in
// the bench's own process; the library in its long-lived process); encode, one
// thread, line by line, for llama2.model (BPE) and unigram8k_nfkc.model (Unigram), each round
// with a fresh processor (tsgpt's word memo starts empty); the whole file as one text;
// encodeBatch of 10k lines; decode line by line; the worker-thread corpus encoder on 2 threads
// against 1 (ids compared; `--only parallel` runs just this); `tsgpt tokenize --jsonl` peak
// memory on two input sizes.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { encodeBatch } from "../../src/tokenizer/batch.js";
import { ParallelEncoder, type ParallelStats } from "../../src/tokenizer/parallel_encode.js";
import { SentencePieceProcessor } from "../../src/tokenizer/processor.js";

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

const root = repoRoot();
const shared = process.env.TSGPT_SHARED_DIR ?? resolve(root, "..", "shared");
const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    only: { type: "string" },
    heldout: { type: "string", default: join(shared, "testdata", "corpus", "heldout.txt") },
    corpus: { type: "string", default: join(shared, "testdata", "corpus", "train.txt") },
  },
});
const rounds = Number(args.rounds);
const modelFile = (name: string) => join(shared, "testdata", "tokenizer", `${name}.model`);
const wanted = (what: string) => !args.only || what.includes(args.only);

/** The reference process: one JSON request per line, one answer per line. */
class Reference {
  private readonly child = spawn(
    process.env.TSGPT_PYTHON ?? "/usr/bin/python3",
    [join(root, "bench", "tokenizer", "sentencepiece_ref.py")],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  private readonly answers = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();

  async ask(req: Record<string, unknown>): Promise<Record<string, number | string>> {
    this.child.stdin!.write(JSON.stringify(req) + "\n");
    const { value, done } = await this.answers.next();
    if (done) throw new Error("the SentencePiece reference process ended (is python3-sentencepiece installed?)");
    const answer = JSON.parse(value as string) as Record<string, number | string>;
    if (answer.error) throw new Error(`reference: ${answer.error}`);
    return answer;
  }

  close(): void {
    this.child.stdin!.end();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Collects garbage left by earlier rounds first (node --expose-gc), so no round pays for another. */
const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});

function seconds(f: () => void): number {
  collect();
  const t = performance.now();
  f();
  return (performance.now() - t) / 1000;
}

const rows: string[][] = [];
function row(what: string, ours: string, lib: string, ratio: string): void {
  rows.push([what, ours, lib, ratio]);
  console.log(`  ${what.padEnd(44)} ${ours.padStart(14)} ${lib.padStart(14)} ${ratio.padStart(8)}`);
}

/** Alternates tsgpt and the library for `rounds` rounds; returns both medians in seconds. */
async function alternate(ours: () => number, lib: () => Promise<number>): Promise<[number, number]> {
  const a: number[] = [],
    b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    a.push(ours());
    b.push(await lib());
  }
  return [median(a), median(b)];
}

const mbps = (bytes: number, s: number) => `${(bytes / s / 1e6).toFixed(2)} MB/s`;

async function main(): Promise<void> {
  const ref = new Reference();
  const version = (await ref.ask({ op: "version" })).version;
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(
    `tsgpt vs SentencePiece ${version} (C++ via python3-sentencepiece), ${cpu}, ${cpus().length} cores, median of ${rounds} rounds`,
  );
  console.log(`  ${"".padEnd(44)} ${"tsgpt".padStart(14)} ${"C++".padStart(14)} ${"ratio".padStart(8)}`);
  const heldout = args.heldout!;
  const text = readFileSync(heldout, "utf8");
  const lines = text.split("\n");
  const bytes = Buffer.byteLength(text);

  if (wanted("load")) {
    // tsgpt: a fresh Node process per round (a cold load, as a user meets it). Wall time, and
    // CPU time (all threads of the process; the library's process: its CPU time), which a
    // busy machine disturbs less.
    // Also timed from the import of the module to the end of a first encode (which builds
    // what the load leaves for later: the piece trie, the texts' checks).
    const script = `const c0 = process.cpuUsage(); const t0 = performance.now(); import(${JSON.stringify(join(root, "dist", "src", "tokenizer", "processor.js"))}).then(({ SentencePieceProcessor: P }) => { const c = process.cpuUsage(); const t = performance.now(); const sp = P.load(${JSON.stringify(modelFile("llama2"))}); const w = performance.now() - t; const u = process.cpuUsage(c); sp.encodeAsIds("Hello world, this is a test."); const all = process.cpuUsage(c0); console.log(w + " " + (u.user + u.system) / 1000 + " " + (performance.now() - t0) + " " + (all.user + all.system) / 1000); })`;
    const cold: number[] = [],
      coldCpu: number[] = [],
      first: number[] = [],
      firstCpu: number[] = [],
      libWall: number[] = [],
      libCpu: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const [w, c, fw, fc] = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" }).stdout.trim().split(" ").map(Number);
      cold.push(w! / 1000);
      coldCpu.push(c! / 1000);
      first.push(fw! / 1000);
      firstCpu.push(fc! / 1000);
      const answer = await ref.ask({ op: "load", model: modelFile("llama2") });
      libWall.push(answer.seconds as number);
      libCpu.push(answer.cpu as number);
    }
    const [ours, lib] = [median(cold), median(libWall)];
    const [oursCpu, libCpuMedian] = [median(coldCpu), median(libCpu)];
    row("load llama2.model, cold process (ms)", (ours * 1000).toFixed(1), (lib * 1000).toFixed(1), (lib / ours).toFixed(2) + "×");
    row(
      "  the same, CPU time (ms)",
      (oursCpu * 1000).toFixed(1),
      (libCpuMedian * 1000).toFixed(1),
      (libCpuMedian / oursCpu).toFixed(2) + "×",
    );
    row("  import → load → first encode (ms)", (median(first) * 1000).toFixed(1), "", "");
    row("  the same, CPU time (ms)", (median(firstCpu) * 1000).toFixed(1), "", "");
    // tsgpt again, in this process (warm code, as in a server that loads models).
    const [warm, lib2] = await alternate(
      () => seconds(() => SentencePieceProcessor.load(modelFile("llama2"))),
      async () => (await ref.ask({ op: "load", model: modelFile("llama2") })).seconds as number,
    );
    row("load llama2.model, warm process (ms)", (warm * 1000).toFixed(1), (lib2 * 1000).toFixed(1), (lib2 / warm).toFixed(2) + "×");
  }

  for (const name of ["llama2", "unigram8k_nfkc"]) {
    const path = modelFile(name);
    // A fresh processor per round: its word memo starts empty. One short text first builds its
    // lazy structures (the piece trie), which the load line does not time either.
    const fresh = () => {
      const sp = SentencePieceProcessor.load(path);
      sp.encodeAsIds("a");
      return sp;
    };
    if (wanted("encode")) {
      const [ours, lib] = await alternate(
        () => {
          const sp = fresh();
          return seconds(() => {
            for (const l of lines) sp.encodeAsIds(l);
          });
        },
        async () => (await ref.ask({ op: "encode_lines", model: path, file: heldout })).seconds as number,
      );
      row(`encode ${name}, per line, 1 thread`, mbps(bytes, ours), mbps(bytes, lib), (lib / ours).toFixed(2) + "×");
      const [oursF, libF] = await alternate(
        () => {
          const sp = fresh();
          return seconds(() => sp.encodeAsIds(text));
        },
        async () => (await ref.ask({ op: "encode_file", model: path, file: heldout })).seconds as number,
      );
      row(`encode ${name}, whole file as one text`, mbps(bytes, oursF), mbps(bytes, libF), (libF / oursF).toFixed(2) + "×");
      const batch = lines.slice(0, 10_000);
      const batchBytes = Buffer.byteLength(batch.join("\n"));
      const [oursB, libB] = await alternate(
        () => {
          const sp = fresh();
          return seconds(() => encodeBatch(sp, batch));
        },
        async () => (await ref.ask({ op: "encode_batch", model: path, file: heldout, count: 10_000 })).seconds as number,
      );
      row(`encodeBatch ${name}, 10k lines, 1 thread`, mbps(batchBytes, oursB), mbps(batchBytes, libB), (libB / oursB).toFixed(2) + "×");
    }
    if (wanted("decode")) {
      const sp = fresh();
      const ids = lines.map((l) => sp.encodeAsIds(l));
      const [ours, lib] = await alternate(
        () =>
          seconds(() => {
            for (const x of ids) sp.decode(x);
          }),
        async () => (await ref.ask({ op: "decode_lines", model: path, file: heldout })).seconds as number,
      );
      row(`decode ${name}, per line`, mbps(bytes, ours), mbps(bytes, lib), (lib / ours).toFixed(2) + "×");
    }
  }
  ref.close();

  if (wanted("parallel")) await parallelBench();
  if (wanted("jsonl")) jsonlMemory(lines);
}

/**
 * The worker-thread corpus encoder (ParallelEncoder, as `tsgpt train` uses it), 2 threads
 * against 1 thread of the same code, on the training corpus and on it 4 times over (~20 MB).
 * "cold": a fresh worker pool (its start-up timed, as one `tsgpt train` run pays it); "warm":
 * the pool kept from the round before. Besides wall times (which other processes on the
 * machine disturb), each thread's CPU time: CPU ms per MB, and the speed-up the busy times
 * give (1-thread CPU / the busiest thread's CPU in the 2-thread run).
 */
async function parallelBench(): Promise<void> {
  const base = readFileSync(args.corpus!, "utf8");
  const corpora = [base, [base, base, base, base].join("\n")];
  console.log(
    `  (load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}, ${cpus().length} cores)`,
  );
  for (const text of corpora) {
    const corpus = text.split("\n");
    const bytes = Buffer.byteLength(text);
    const mb = (bytes / 1e6).toFixed(1);
    for (const name of ["llama2", "unigram8k_nfkc"]) {
      const path = modelFile(name);
      const run = (threads: number): { wall: number; ids: Int32Array; stats: ParallelStats } => {
        const enc = new ParallelEncoder(SentencePieceProcessor.load(path), threads);
        collect();
        const t = performance.now();
        const ids = enc.encodeLines(corpus).ids;
        const wall = (performance.now() - t) / 1000;
        enc.close();
        return { wall, ids, stats: enc.lastStats! };
      };
      const one: number[] = [],
        cold: number[] = [],
        warm: number[] = [],
        cpu1: number[] = [],
        cpu2: number[] = [],
        busiest: number[] = [],
        workerStart: number[] = [];
      let same = true;
      for (let r = 0; r < rounds; r++) {
        const a = run(1);
        await ParallelEncoder.shutdown();
        const b = run(2); // the pool starts here
        const c = run(2); // and is warm here
        one.push(a.wall);
        cold.push(b.wall);
        warm.push(c.wall);
        const cpu = (s: ParallelStats) => s.threads.map((t) => t.cpuMs ?? Number.NaN);
        cpu1.push(cpu(a.stats)[0]!);
        cpu2.push(cpu(c.stats).reduce((x, y) => x + y, 0));
        busiest.push(Math.max(...cpu(c.stats)));
        workerStart.push(b.stats.threads[1]?.firstMs ?? Number.NaN);
        same &&= [b.ids, c.ids].every((ids) => ids.length === a.ids.length && ids.every((v, i) => v === a.ids[i]));
      }
      const [o, co, wa] = [median(one), median(cold), median(warm)];
      row(`corpus ${name} ${mb} MB, 1 thread`, mbps(bytes, o), "", "");
      row(`corpus ${name} ${mb} MB, 2 threads, cold pool`, mbps(bytes, co), "", `${(o / co).toFixed(2)}×`);
      row(`corpus ${name} ${mb} MB, 2 threads, warm pool`, mbps(bytes, wa), "", `${(o / wa).toFixed(2)}×`);
      const perMb = (ms: number) => `${((ms / bytes) * 1e6).toFixed(0)} ms/MB`;
      console.log(
        `    2-thread/1-thread: ${(o / co).toFixed(2)}× cold, ${(o / wa).toFixed(2)}× warm (wall); CPU ${perMb(median(cpu1))} on 1 thread, ${perMb(median(cpu2))} on 2 (both threads);` +
          ` busy-time speed-up ${(median(cpu1) / median(busiest)).toFixed(2)}×; a cold worker's first chunk after ${median(workerStart).toFixed(0)} ms; ids identical: ${same}`,
      );
    }
  }
}

/** Peak memory of `tsgpt tokenize --jsonl` on two input sizes: flat when it streams. */
function jsonlMemory(lines: string[]): void {
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-jsonl-"));
  try {
    const body = lines.map((text) => JSON.stringify({ text })).join("\n") + "\n";
    for (const copies of [4, 32]) {
      const file = join(dir, `in${copies}.jsonl`);
      writeFileSync(file, body.repeat(copies));
      const size = Buffer.byteLength(body) * copies;
      const t = performance.now();
      const r = spawnSync(
        "/usr/bin/time",
        ["-f", "%M", process.execPath, join(root, "bin", "tsgpt.js"), "tokenize", "--model", modelFile("llama2"), "--jsonl", file],
        { encoding: "utf8", stdio: ["ignore", "ignore", "pipe"], maxBuffer: 1 << 20 },
      );
      const s = (performance.now() - t) / 1000;
      const peakKb = Number(r.stderr.trim().split("\n").pop());
      row(`tokenize --jsonl ${(size / 1e6).toFixed(0)} MB: peak RSS`, `${(peakKb / 1024).toFixed(0)} MiB`, "", "");
      console.log(`    ${mbps(size, s)} of JSONL in, ids and pieces out (exit ${r.status})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
