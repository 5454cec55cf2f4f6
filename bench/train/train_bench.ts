// Training benchmark: tsgpt against PyTorch (CPU, float32) on the same work, in the same run.
//
//   npx tsx bench/train/train_bench.ts [--steps 2000] [--threads 2] [--big-steps 6] [--skip-big] [--skip-torch]
//
// 1. gpt-mini (GPT-2, 4 layers × 4 heads × 128 dims, context 64) on ../shared/data/tinyshakespeare.txt,
//    character level, batch 12, AdamW (β = 0.9, 0.99, weight decay 0.1), lr 1e-3 with 100 warmup
//    steps and cosine decay to 1e-4, gradient clipping 1.0: ms/step, tokens/s, validation loss at
//    steps 0, steps/8, steps/4, steps/2 and steps (0/250/500/1000/2000 for the full 2,000).
// 2. Step time of a bigger GPT-2: 6 layers × 6 heads × 384 dims, context 256, batch 8.
// PyTorch runs bench/train/torch_gpt.py with /usr/bin/python3 (Debian's python3-torch).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createModel, type GPT2Config } from "../../src/models/index.js";
import { SentencePieceProcessor, serializeModelProto } from "../../src/tokenizer/index.js";
import { getBackend, manualSeed } from "../../src/tensor/index.js";
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
const bigSteps = flag("big-steps", 6);
const skipTorch = process.argv.includes("--skip-torch");
const skipBig = process.argv.includes("--skip-big");

interface RunResult {
  msPerStep: number;
  tokensPerSec: number;
  val: Record<number, number>;
}

const evalAt = [...new Set([0, Math.round(steps / 8), Math.round(steps / 4), Math.round(steps / 2), steps])].sort((a, b) => a - b);

function tsgptRun(o: {
  layers: number;
  heads: number;
  dims: number;
  context: number;
  batch: number;
  steps: number;
  evalIters: number;
  warmup: number;
}): RunResult {
  const sp = SentencePieceProcessor.fromBytes(serializeModelProto(charModelProto(collectCharacters([dataPath]))));
  const ids = tokenizeFiles([dataPath], sp);
  const { train: tr, val } = splitCorpus(ids, 0.1);
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
  const valBatches = fixedWindowBatches(val, { batchSize: o.batch, contextLength: o.context, seed: 1338, count: o.evalIters });
  const stepMs: number[] = [];
  const vals: Record<number, number> = {};
  const wanted = new Set(o.steps === steps ? evalAt : []);
  const evalEvery = wanted.size > 0 ? gcdOf([...wanted].filter((s) => s > 0)) : 0;
  train({
    model,
    trainData: new WindowDataset(tr, { batchSize: o.batch, contextLength: o.context, seed: 1337 }),
    valBatches,
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
    onStep: (r) => stepMs.push(r.msPerStep),
    onEval: (step, loss) => {
      if (wanted.has(step)) vals[step] = loss;
    },
  });
  const timed = stepMs.slice(Math.min(2, stepMs.length - 1));
  const ms = timed.reduce((a, b) => a + b, 0) / timed.length;
  return { msPerStep: ms, tokensPerSec: (o.batch * o.context) / (ms / 1000), val: vals };
}

function gcdOf(xs: number[]): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  return xs.reduce(gcd);
}

function torchRun(
  o: { layers: number; heads: number; dims: number; context: number; batch: number; steps: number; evalIters: number; warmup: number },
  evalSteps: number[],
): RunResult | null {
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
  const r = spawnSync(python, [torchScript], { input: JSON.stringify(cfg), maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    console.log(`PyTorch run failed (${python}): ${r.stderr?.toString().trim().split("\n").pop() ?? r.error?.message}`);
    return null;
  }
  const j = JSON.parse(r.stdout.toString()) as { ms_per_step: number; tokens_per_sec: number; val: Record<string, number> };
  return {
    msPerStep: j.ms_per_step,
    tokensPerSec: j.tokens_per_sec,
    val: Object.fromEntries(Object.entries(j.val).map(([k, v]) => [Number(k), v])),
  };
}

if (!existsSync(dataPath)) {
  console.error(`missing ${dataPath}`);
  process.exit(1);
}
console.log(`tsgpt backend: ${getBackend().name}; PyTorch threads: ${threads}; steps: ${steps}`);
const mini = {
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
const ours = tsgptRun(mini);
console.log(`tsgpt done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
const ref = torchRun(mini, evalAt);

const fmt = (x: number | undefined, d = 4) => (x === undefined ? "-" : x.toFixed(d));
console.log(`\ngpt-mini, character level, batch 12, context 64, ${steps} steps`);
console.log(`${"".padEnd(14)}${"tsgpt".padStart(12)}${"PyTorch".padStart(12)}${"ratio".padStart(10)}`);
console.log(
  `${"ms/step".padEnd(14)}${fmt(ours.msPerStep, 2).padStart(12)}${fmt(ref?.msPerStep, 2).padStart(12)}${(ref ? (ref.msPerStep / ours.msPerStep).toFixed(2) + "x" : "-").padStart(10)}`,
);
console.log(
  `${"tokens/s".padEnd(14)}${fmt(ours.tokensPerSec, 0).padStart(12)}${fmt(ref?.tokensPerSec, 0).padStart(12)}${(ref ? (ours.tokensPerSec / ref.tokensPerSec).toFixed(2) + "x" : "-").padStart(10)}`,
);
for (const s of evalAt) {
  const a = ours.val[s];
  const b = ref?.val[s];
  console.log(
    `${`val @ ${s}`.padEnd(14)}${fmt(a).padStart(12)}${fmt(b).padStart(12)}${(a !== undefined && b !== undefined ? (a - b >= 0 ? "+" : "") + (a - b).toFixed(4) : "-").padStart(10)}`,
  );
}
if (ref) {
  const speed = ours.tokensPerSec / ref.tokensPerSec;
  const diff = Math.abs(ours.val[steps]! - ref.val[steps]!);
  console.log(
    `targets: tokens/s ≥ 1.5× PyTorch: ${speed >= 1.5 ? "met" : "NOT met"} (${speed.toFixed(2)}×); final val loss within 0.05: ${diff <= 0.05 ? "met" : "NOT met"} (|Δ| = ${diff.toFixed(4)})`,
  );
}

if (!skipBig) {
  const big = { layers: 6, heads: 6, dims: 384, context: 256, batch: 8, steps: bigSteps, evalIters: 1, warmup: 1 };
  const a = tsgptRun(big);
  const b = torchRun(big, []);
  console.log(`\nGPT-2 6 layers × 6 heads × 384 dims, context 256, batch 8 (${bigSteps} steps, first 2 untimed)`);
  console.log(
    `ms/step: tsgpt ${a.msPerStep.toFixed(0)}, PyTorch ${b ? b.msPerStep.toFixed(0) : "-"}${b ? `, PyTorch/tsgpt step-time ratio ${(b.msPerStep / a.msPerStep).toFixed(2)}×` : ""}`,
  );
}
