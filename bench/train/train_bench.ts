// Training benchmark: tsgpt against PyTorch (CPU, float32) on the same work, in the same run.
//
//   npx tsx bench/train/train_bench.ts [--steps 2000] [--threads 2] [--rounds 3] [--speed-steps 60]
//                                      [--big-steps 6] [--llama-steps 3] [--skip-big] [--skip-llama] [--skip-torch]
//
// 1. gpt-mini (GPT-2, 4 layers × 4 heads × 128 dims, context 64) on ../shared/data/tinyshakespeare.txt,
//    character level, batch 12, AdamW (β = 0.9, 0.99, weight decay 0.1), lr 1e-3 with 100 warmup
//    steps and cosine decay to 1e-4, gradient clipping 1.0: the validation loss of both at steps 0,
//    steps/8, steps/4, steps/2 and steps (0/250/500/1000/2000 for the full 2,000).
// 2. Speed: `--rounds` rounds of `--speed-steps` steps of gpt-mini, tsgpt and PyTorch alternately
//    (so both see the same machine load), then the same for a bigger GPT-2 (6 layers × 6 heads ×
//    384 dims, context 256, batch 8, `--big-steps` steps). Medians of ms/step and their ratio.
// 3. llama-15m (random tokens, batch 4 × context 256), tsgpt only: ms/step, the GFLOP/s of the
//    whole step (its matmul FLOPs plus attention's 4·T²·hd per head, forward, ×3 with backward),
//    and that as a share of what the matmul kernel itself does on the step's own matmul shapes.
// Both sides use `--threads` threads: tsgpt's pool is set to it, and PyTorch runs with
// torch.set_num_threads(N), one inter-op thread and OMP_NUM_THREADS = MKL_NUM_THREADS = N in
// its environment (without this its OpenMP pool can oversubscribe a loaded machine). Each side
// prints the thread counts it ran with.
// PyTorch runs bench/train/torch_gpt.py with /usr/bin/python3 (Debian's python3-torch).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { MatmulArgs } from "../../src/backend/backend.js";
import { getNumThreads, loadNativeBackend, setNumThreads } from "../../src/backend/native.js";
import { type CausalLM, type GPT2Config, createModel, presetConfig } from "../../src/models/index.js";
import { getBackend, manualSeed } from "../../src/tensor/index.js";
import { SentencePieceProcessor, serializeModelProto } from "../../src/tokenizer/index.js";
import {
  DEFAULT_SETTINGS,
  WindowDataset,
  charModelProto,
  collectCharacters,
  fixedWindowBatches,
  splitCorpus,
  tokenizeFiles,
  train,
} from "../../src/train/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..", "..", here.includes(`${join("dist", "bench")}`) ? ".." : "");
const dataPath = resolve(repo, "..", "shared", "data", "tinyshakespeare.txt");
const torchScript = resolve(repo, "bench", "train", "torch_gpt.py");
const python = process.env.TSGPT_PYTHON ?? "/usr/bin/python3";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const steps = flag("steps", 2000);
const threads = flag("threads", 2);
const rounds = flag("rounds", 3);
const speedSteps = flag("speed-steps", 60);
const bigSteps = flag("big-steps", 6);
const llamaSteps = flag("llama-steps", 3);
const skipTorch = process.argv.includes("--skip-torch");
const skipBig = process.argv.includes("--skip-big");
const skipLlama = process.argv.includes("--skip-llama");

interface RunResult {
  msPerStep: number;
  /** CPU time (all threads, user + system) per timed step: the work itself, less sensitive to a loaded machine. */
  cpuMsPerStep: number;
  tokensPerSec: number;
  val: Record<number, number>;
}

interface GptShape {
  layers: number;
  heads: number;
  dims: number;
  context: number;
  batch: number;
  steps: number;
  evalIters: number;
  warmup: number;
}

const evalAt = [...new Set([0, Math.round(steps / 8), Math.round(steps / 4), Math.round(steps / 2), steps])].sort((a, b) => a - b);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const load = () => loadavg()[0]!.toFixed(1);

// The character corpus, built once.
const sp = SentencePieceProcessor.fromBytes(serializeModelProto(charModelProto(collectCharacters([dataPath]))));
const corpus = splitCorpus(tokenizeFiles([dataPath], sp), 0.1);

/** Trains `model` for o.steps steps with the bench's settings; ms/step excludes the first 2 steps. */
function trainSteps(
  model: CausalLM,
  data: { train: ArrayLike<number>; val: ArrayLike<number> },
  o: Omit<GptShape, "layers" | "heads" | "dims">,
  wanted: Set<number>,
): RunResult {
  const valBatches = fixedWindowBatches(data.val as Uint32Array, {
    batchSize: o.batch,
    contextLength: o.context,
    seed: 1338,
    count: o.evalIters,
  });
  const stepMs: number[] = [];
  const vals: Record<number, number> = {};
  let cpu0: NodeJS.CpuUsage | null = null;
  let cpuMs = 0;
  const evalEvery = wanted.size > 0 ? gcdOf([...wanted].filter((s) => s > 0)) : 0;
  train({
    model,
    trainData: new WindowDataset(data.train as Uint32Array, { batchSize: o.batch, contextLength: o.context, seed: 1337 }),
    valBatches: wanted.size > 0 ? valBatches : undefined,
    settings: {
      ...DEFAULT_SETTINGS,
      steps: o.steps,
      batchSize: o.batch,
      contextLength: o.context,
      lr: 1e-3,
      minLr: 1e-4,
      warmupSteps: o.warmup,
      weightDecay: 0.1,
      beta1: 0.9,
      beta2: 0.99,
      gradClip: 1,
      gradAccum: 1,
      evalEvery,
      evalIters: o.evalIters,
      saveEvery: 0,
      logEvery: 1000000,
    },
    onStep: (r) => {
      stepMs.push(r.msPerStep);
      // CPU time from the end of step 2 on (evaluations, when there are any, count too).
      if (r.step === 2 || (o.steps < 3 && r.step === 1)) cpu0 = process.cpuUsage();
      if (r.step === o.steps && cpu0) {
        const d = process.cpuUsage(cpu0);
        cpuMs = (d.user + d.system) / 1000;
      }
    },
    onEval: (step, loss) => {
      if (wanted.has(step)) vals[step] = loss;
    },
  });
  const timed = stepMs.slice(Math.min(2, stepMs.length - 1));
  const ms = timed.reduce((a, b) => a + b, 0) / timed.length;
  return { msPerStep: ms, cpuMsPerStep: cpuMs / timed.length, tokensPerSec: (o.batch * o.context) / (ms / 1000), val: vals };
}

function tsgptRun(o: GptShape, withEvals: boolean): RunResult {
  const config: GPT2Config = {
    model_type: "gpt2",
    vocab_size: sp.vocabSize,
    n_embd: o.dims,
    n_layer: o.layers,
    n_head: o.heads,
    n_positions: o.context,
    layer_norm_epsilon: 1e-5,
    activation_function: "gelu_new",
    tie_word_embeddings: true,
    bias: true,
  };
  manualSeed(1337);
  const model = createModel(config, { seed: 1337 });
  return trainSteps(model, corpus, o, new Set(withEvals ? evalAt : []));
}

function gcdOf(xs: number[]): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  return xs.reduce(gcd);
}

interface TorchResult extends RunResult {
  threads: number;
  interopThreads: number;
  version: string;
}

function torchRun(o: GptShape, evalSteps: number[]): TorchResult | null {
  if (skipTorch) return null;
  const cfg = {
    data: dataPath,
    threads,
    seed: 1337,
    batch: o.batch,
    context: o.context,
    steps: o.steps,
    layers: o.layers,
    heads: o.heads,
    dims: o.dims,
    lr: 1e-3,
    min_lr: 1e-4,
    warmup: o.warmup,
    weight_decay: 0.1,
    grad_clip: 1.0,
    eval_iters: o.evalIters,
    eval_at: evalSteps,
    skip_timing: Math.min(2, o.steps - 1),
  };
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  const r = spawnSync(python, [torchScript], { input: JSON.stringify(cfg), maxBuffer: 1 << 24, env });
  if (r.status !== 0) {
    console.log(`PyTorch run failed (${python}): ${r.stderr?.toString().trim().split("\n").pop() ?? r.error?.message}`);
    return null;
  }
  const j = JSON.parse(r.stdout.toString()) as {
    ms_per_step: number;
    cpu_ms_per_step: number;
    tokens_per_sec: number;
    val: Record<string, number>;
    threads: number;
    interop_threads: number;
    torch_version: string;
  };
  return {
    msPerStep: j.ms_per_step,
    cpuMsPerStep: j.cpu_ms_per_step,
    tokensPerSec: j.tokens_per_sec,
    val: Object.fromEntries(Object.entries(j.val).map(([k, v]) => [Number(k), v])),
    threads: j.threads,
    interopThreads: j.interop_threads,
    version: j.torch_version,
  };
}

/** Alternates tsgpt and PyTorch runs of `o`, `rounds` times; prints each round and the medians (wall and CPU time). */
function speedRounds(title: string, o: GptShape): { ours: number; ref: number | null; oursCpu: number; refCpu: number | null } {
  const ours: RunResult[] = [];
  const ref: RunResult[] = [];
  console.log(`\n${title}: ${rounds} rounds of ${o.steps} steps (first 2 untimed), alternating`);
  for (let r = 0; r < rounds; r++) {
    const a = tsgptRun(o, false);
    const b = torchRun(o, []);
    ours.push(a);
    if (b) ref.push(b);
    console.log(
      `  round ${r + 1}: tsgpt ${a.msPerStep.toFixed(1)} ms/step (CPU ${a.cpuMsPerStep.toFixed(1)} ms), PyTorch ${b ? `${b.msPerStep.toFixed(1)} ms/step (CPU ${b.cpuMsPerStep.toFixed(1)} ms)` : "-"}${b ? `: ${(b.msPerStep / a.msPerStep).toFixed(2)}× by wall time, ${(b.cpuMsPerStep / a.cpuMsPerStep).toFixed(2)}× by CPU time` : ""}, load ${load()}`,
    );
  }
  const mo = median(ours.map((x) => x.msPerStep));
  const mr = ref.length ? median(ref.map((x) => x.msPerStep)) : null;
  const co = median(ours.map((x) => x.cpuMsPerStep));
  const cr = ref.length ? median(ref.map((x) => x.cpuMsPerStep)) : null;
  const tokens = o.batch * o.context;
  console.log(
    `  median: tsgpt ${mo.toFixed(1)} ms/step (${Math.round(tokens / (mo / 1000))} tokens/s, CPU ${co.toFixed(1)} ms/step), PyTorch ${mr && cr ? `${mr.toFixed(1)} ms/step (${Math.round(tokens / (mr / 1000))} tokens/s, CPU ${cr.toFixed(1)} ms/step); tsgpt tokens/s = ${(mr / mo).toFixed(2)}× PyTorch's by wall time, ${(cr / co).toFixed(2)}× by CPU time` : "-"}`,
  );
  return { ours: mo, ref: mr, oursCpu: co, refCpu: cr };
}

/** llama-15m on random tokens: ms/step, the step's GFLOP/s, and the matmul kernel's GFLOP/s on the same shapes. */
function llamaRun(): void {
  const backend = getBackend();
  const shapes = new Map<string, { args: Omit<MatmulArgs, "a" | "b" | "c">; count: number }>();
  let matmulFlops = 0;
  let attentionFlops = 0;
  const origMatmul = backend.matmul;
  const origAttention = backend.causalAttention;
  const origAttentionBackward = backend.causalAttentionBackward;
  const b = backend as { -readonly [K in keyof typeof backend]: (typeof backend)[K] };
  let counting = false;
  b.matmul = (a) => {
    if (counting) {
      matmulFlops += 2 * a.batch * a.m * a.n * a.k;
      const key = `${a.batch}x${a.m}x${a.n}x${a.k}${a.transA ? "tA" : ""}${a.transB ? "tB" : ""}${a.aBatchStride === 0 ? "a0" : ""}${a.bBatchStride === 0 ? "b0" : ""}${a.accumulate ? "+" : ""}`;
      const s = shapes.get(key);
      if (s) s.count++;
      else
        shapes.set(key, {
          args: { ...a, a: undefined, b: undefined, c: undefined } as unknown as Omit<MatmulArgs, "a" | "b" | "c">,
          count: 1,
        });
    }
    origMatmul.call(backend, a);
  };
  b.causalAttention = (a, out) => {
    if (counting) attentionFlops += 4 * a.batch * a.heads * a.time * a.time * a.headDim;
    origAttention.call(backend, a, out);
  };
  b.causalAttentionBackward = (a) => {
    if (counting) attentionFlops += 8 * a.batch * a.heads * a.time * a.time * a.headDim;
    origAttentionBackward.call(backend, a);
  };
  try {
    const config = presetConfig("llama-15m");
    manualSeed(7);
    const model = createModel(config, { seed: 7 });
    let s = 12345;
    const ids = Uint32Array.from({ length: 200_000 }, () => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s % 32000;
    });
    const data = { train: ids.subarray(0, 180_000), val: ids.subarray(180_000) };
    const o = { context: 256, batch: 4, steps: llamaSteps + 1, evalIters: 1, warmup: 1 };
    // One counted step (the shapes and FLOPs of a step), then the timed run.
    counting = true;
    trainSteps(model, data, { ...o, steps: 1 }, new Set());
    counting = false;
    const run = trainSteps(model, data, o, new Set());
    const stepFlops = matmulFlops + attentionFlops;
    const stepGflops = stepFlops / (run.msPerStep / 1000) / 1e9;
    // The kernel alone on each shape, weighted by how often a step uses it.
    let kernelSeconds = 0;
    for (const { args, count } of shapes.values()) {
      const aLen = (args.aBatchStride === 0 ? 1 : args.batch) * args.m * args.k;
      const bLen = (args.bBatchStride === 0 ? 1 : args.batch) * args.k * args.n;
      const mm: MatmulArgs = {
        ...args,
        a: new Float32Array(aLen).fill(0.5),
        aOffset: 0,
        b: new Float32Array(bLen).fill(0.25),
        bOffset: 0,
        c: new Float32Array(args.batch * args.m * args.n),
      };
      origMatmul.call(backend, mm); // warm
      let reps = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < 40 || reps < 2) {
        origMatmul.call(backend, mm);
        reps++;
      }
      kernelSeconds += ((performance.now() - t0) / 1000 / reps) * count;
    }
    const kernelGflops = matmulFlops / kernelSeconds / 1e9;
    console.log(`\nllama-15m (6 layers × 288 dims, vocab 32,000), random tokens, batch 4 × context 256, ${llamaSteps} timed steps`);
    console.log(
      `  ${run.msPerStep.toFixed(0)} ms/step, ${(stepFlops / 1e9).toFixed(1)} GFLOP/step (matmul ${(matmulFlops / 1e9).toFixed(1)}, attention ${(attentionFlops / 1e9).toFixed(1)}) → ${stepGflops.toFixed(1)} GFLOP/s`,
    );
    console.log(
      `  the matmul kernel alone on this step's ${shapes.size} shapes: ${kernelGflops.toFixed(1)} GFLOP/s; the whole step runs at ${((100 * stepGflops) / kernelGflops).toFixed(0)} % of it (target ≥ 50 %), load ${load()}`,
    );
  } finally {
    b.matmul = origMatmul;
    b.causalAttention = origAttention;
    b.causalAttentionBackward = origAttentionBackward;
  }
}

if (!existsSync(dataPath)) {
  console.error(`missing ${dataPath}`);
  process.exit(1);
}
if (loadNativeBackend()) setNumThreads(threads);
const tsgptThreads = loadNativeBackend() ? getNumThreads() : 1;
console.log(
  `CPU: ${cpus()[0]?.model ?? "?"} (${cpus().length} logical CPUs); load ${loadavg()
    .map((x) => x.toFixed(1))
    .join(", ")}`,
);
console.log(`tsgpt backend: ${getBackend().name}, ${tsgptThreads} thread(s); steps: ${steps}`);
const mini: GptShape = {
  layers: 4,
  heads: 4,
  dims: 128,
  context: 64,
  batch: 12,
  steps,
  evalIters: 20,
  warmup: Math.min(100, Math.floor(steps / 10)),
};
const t0 = performance.now();
const ours = tsgptRun(mini, true);
console.log(`tsgpt loss-curve run done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
const ref = torchRun(mini, evalAt);
if (ref) {
  console.log(
    `PyTorch ${ref.version}: ${ref.threads} intra-op thread(s), ${ref.interopThreads} inter-op thread(s), OMP_NUM_THREADS=MKL_NUM_THREADS=${threads}`,
  );
}

const fmt = (x: number | undefined, d = 4) => (x === undefined ? "-" : x.toFixed(d));
console.log(`\ngpt-mini, character level, batch 12, context 64, ${steps} steps: validation loss`);
console.log(`${"".padEnd(14)}${"tsgpt".padStart(12)}${"PyTorch".padStart(12)}${"Δ".padStart(10)}`);
for (const s of evalAt) {
  const a = ours.val[s];
  const b = ref?.val[s];
  console.log(
    `${`val @ ${s}`.padEnd(14)}${fmt(a).padStart(12)}${fmt(b).padStart(12)}${(a !== undefined && b !== undefined ? (a - b >= 0 ? "+" : "") + (a - b).toFixed(4) : "-").padStart(10)}`,
  );
}
console.log(`(in that run: tsgpt ${ours.msPerStep.toFixed(1)} ms/step, PyTorch ${ref ? ref.msPerStep.toFixed(1) : "-"} ms/step)`);

const speed = speedRounds("gpt-mini speed", { ...mini, steps: speedSteps, evalIters: 1 });
if (ref && speed.ref) {
  const ratio = speed.ref / speed.ours;
  const diff = Math.max(...evalAt.map((s) => Math.abs(ours.val[s]! - ref.val[s]!)));
  console.log(
    `targets: gpt-mini tokens/s ≥ 2× PyTorch: ${ratio >= 2 ? "met" : ratio >= 1.5 ? "NOT met (minimum 1.5× met)" : "NOT met"} (${ratio.toFixed(2)}×); val loss within 0.05 at every eval: ${diff <= 0.05 ? "met" : "NOT met"} (max |Δ| = ${diff.toFixed(4)})`,
  );
}

if (!skipBig) {
  const big = { layers: 6, heads: 6, dims: 384, context: 256, batch: 8, steps: bigSteps, evalIters: 1, warmup: 1 };
  const r = speedRounds("GPT-2 6 layers × 6 heads × 384 dims, context 256, batch 8", big);
  if (r.ref && r.refCpu) {
    const ratio = r.ref / r.ours;
    console.log(
      `target: ≥ 1.5× PyTorch: ${ratio >= 1.5 ? "met" : "NOT met"} (${ratio.toFixed(2)}× by wall time; ${(r.refCpu / r.oursCpu).toFixed(2)}× by CPU time)`,
    );
  }
}

if (!skipLlama) llamaRun();
