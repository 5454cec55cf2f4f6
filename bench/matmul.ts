// Matmul benchmark: GFLOP/s of the native backend beside numpy on OpenBLAS, same shapes,
// same run, interleaved (native, numpy, native, numpy, ...) so both see the same machine
// load; medians of several rounds. Also the js backend's figure (one thread, small shapes).
//
//   npm run bench:matmul            (or during development: npx tsx bench/matmul.ts)
//   options: --rounds N (default 5)  --no-js  --no-numpy  --threads 1,2  --only <label text>
//
// numpy runs in bench/matmul_numpy.py under /usr/bin/python3 (Debian's python3-numpy with
// libopenblas0-pthread; elsewhere set TSGPT_BENCH_PYTHON). Not a test: nothing is asserted,
// the ratios are printed against the target native ≥ 0.8 × OpenBLAS.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Backend } from "../src/backend/backend.js";
import { jsBackend } from "../src/backend/js.js";
import { SHAPES, type Shape, matmulArgs } from "./matmul_shapes.js";
import { cpuFeatures, getNumThreads, loadNativeBackend, nativeUnavailableReason, setNumThreads } from "../src/backend/native.js";

const TARGET = 0.8;
const MIN_SECONDS = 0.03; // timed work per measurement, per side
const OPENBLAS_IDLE_MS = 200;

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const rounds = Number(option("--rounds") ?? 5);
const threadCounts = (option("--threads") ?? "1,2").split(",").map(Number);
const withJs = !process.argv.includes("--no-js");
const withNumpy = !process.argv.includes("--no-numpy");
const only = option("--only"); // run only the shapes whose label contains this text

function flops(s: Shape): number {
  return 2 * s.batch * s.m * s.n * s.k;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function randomArray(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5;
  return a;
}

/** Median seconds per call of `run` over calls lasting at least minSeconds in all. */
function timeCalls(run: () => void, minSeconds: number, minCalls = 3): number {
  run(); // warm up
  const times: number[] = [];
  let spent = 0;
  while (spent < minSeconds || times.length < minCalls) {
    const t0 = process.hrtime.bigint();
    run();
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    times.push(dt);
    spent += dt;
  }
  return median(times);
}

/** The numpy helper process: one request per line, one reply per line. */
class Numpy {
  private readonly lines: AsyncIterableIterator<string>;
  private readonly rl: Interface;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    public readonly description: string,
    rl: Interface,
    lines: AsyncIterableIterator<string>,
  ) {
    this.rl = rl;
    this.lines = lines;
  }

  static async start(): Promise<Numpy | string> {
    const python = process.env.TSGPT_BENCH_PYTHON ?? "/usr/bin/python3";
    const script = join(packageRoot(), "bench", "matmul_numpy.py");
    if (!existsSync(python)) return `${python} not found`;
    const child = spawn(python, [script], { stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const rl = createInterface({ input: child.stdout });
    const lines = rl[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done) return `numpy helper failed: ${stderr.trim().split("\n").pop() ?? "no output"}`;
    return new Numpy(child, first.value, rl, lines);
  }

  async seconds(s: Shape, threads: number): Promise<number> {
    this.child.stdin.write(`${s.batch} ${s.m} ${s.n} ${s.k} ${threads} ${MIN_SECONDS}\n`);
    const r = await this.lines.next();
    if (r.done) throw new Error("numpy helper exited");
    return Number(r.value);
  }

  close(): void {
    this.rl.close();
    this.child.stdin.end();
  }
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("package root not found");
    dir = parent;
  }
  return dir;
}

function fmt(x: number | undefined, digits = 1): string {
  return x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(digits);
}

async function main(): Promise<void> {
  const native = loadNativeBackend();
  if (!native) {
    console.error(`native backend unavailable: ${nativeUnavailableReason()}`);
    process.exit(1);
  }
  const numpy = withNumpy ? await Numpy.start() : "skipped (--no-numpy)";
  const defaultThreads = getNumThreads();
  console.log(`native: SIMD ${cpuFeatures()}, default ${defaultThreads} threads`);
  console.log(`numpy:  ${typeof numpy === "string" ? `unavailable — ${numpy}` : numpy.description}`);
  console.log(`medians of ${rounds} interleaved rounds, ≥ ${MIN_SECONDS * 1000} ms of calls each\n`);

  const header = ["shape", "threads", "native GFLOP/s", "numpy GFLOP/s", "ratio", "js GFLOP/s"];
  const widths = [28, 7, 14, 13, 7, 10];
  const row = (cells: string[]) => console.log(cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  "));
  row(header);

  const ratios: number[] = [];
  for (const shape of SHAPES.filter((s) => !only || s.label.includes(only))) {
    const args = matmulArgs(shape, randomArray);
    // The js backend is single-threaded and slow: measured once, on shapes under ~3 GFLOP.
    const jsGflops = withJs && flops(shape) <= 3e9 ? flops(shape) / timeCalls(() => jsBackend.matmul(args), 0, 1) / 1e9 : undefined;
    for (const threads of threadCounts) {
      setNumThreads(threads);
      const nativeTimes: number[] = [];
      const numpyTimes: number[] = [];
      for (let r = 0; r < rounds; r++) {
        nativeTimes.push(timeCalls(() => (native as Backend).matmul(args), MIN_SECONDS));
        if (typeof numpy !== "string") {
          numpyTimes.push(await numpy.seconds(shape, threads));
          // OpenBLAS's idle threads busy-wait for a while after each call (about 2^28 cycles);
          // let them go to sleep so they do not steal a core from the next native measurement.
          await new Promise((resolve) => setTimeout(resolve, OPENBLAS_IDLE_MS));
        }
      }
      const nativeG = flops(shape) / median(nativeTimes) / 1e9;
      const numpyG = numpyTimes.length ? flops(shape) / median(numpyTimes) / 1e9 : undefined;
      const ratio = numpyG ? nativeG / numpyG : undefined;
      if (ratio !== undefined) ratios.push(ratio);
      row([shape.label, String(threads), fmt(nativeG), fmt(numpyG), fmt(ratio, 2), threads === threadCounts[0] ? fmt(jsGflops, 2) : ""]);
    }
  }
  setNumThreads(defaultThreads);
  if (typeof numpy !== "string") {
    numpy.close();
    const worst = Math.min(...ratios);
    console.log(`\nworst ratio native/OpenBLAS: ${worst.toFixed(2)} (target ≥ ${TARGET}): ${worst >= TARGET ? "met" : "NOT met"}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
