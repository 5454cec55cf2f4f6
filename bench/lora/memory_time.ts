// LoRA versus full fine-tuning on llama-15m (288 dims, 6 layers, 32,000 vocab): trainable
// parameters, step time and peak memory, each mode in its own process so peak RSS is its own.
//
//   npx tsx bench/lora/memory_time.ts [--steps 3] [--batch 4] [--seq 64] [--r 8]
//
// Both modes run the same batches through the same model (random weights: speed and memory do
// not depend on the values) with AdamW; "full" trains every parameter, "lora" only A and B of
// q_proj and v_proj (PEFT's default for Llama). Step time is the median over the steps after
// one warm-up step.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Generator, Tensor, crossEntropy } from "../../src/tensor/index.js";
import { modelFromPreset } from "../../src/models/index.js";
import { addLoRA, countParameters, formatTrainableParameters, loraParameters } from "../../src/nn/lora.js";
import { AdamW } from "../../src/train/adamw.js";

function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

interface ModeResult {
  mode: string;
  trainable: number;
  total: number;
  msPerStep: number;
  peakRssMB: number;
  line: string;
}

function runMode(mode: "lora" | "full"): ModeResult {
  const steps = flag("steps", 3),
    B = flag("batch", 4),
    T = flag("seq", 64),
    r = flag("r", 8);
  const model = modelFromPreset("llama-15m", { seed: 1 });
  if (mode === "lora") addLoRA(model, { targetModules: ["q_proj", "v_proj"], r, alpha: 2 * r });
  const named = mode === "lora" ? loraParameters(model) : model.namedParameters();
  const counts = countParameters(model);
  const opt = new AdamW(named, { lr: 1e-4, weightDecay: 0 });
  const gen = new Generator(7);
  const ids = new Int32Array(B * (T + 1));
  for (let i = 0; i < ids.length; i++) ids[i] = gen.randint(0, 32000);
  const x = new Tensor(
    Int32Array.from({ length: B * T }, (_, i) => ids[Math.floor(i / T) * (T + 1) + (i % T)]!),
    [B, T],
  );
  const y = new Tensor(
    Int32Array.from({ length: B * T }, (_, i) => ids[Math.floor(i / T) * (T + 1) + (i % T) + 1]!),
    [B * T],
  );
  const times: number[] = [];
  for (let s = 0; s <= steps; s++) {
    const t0 = performance.now();
    const { logits } = model.forward(x);
    crossEntropy(logits.reshape(B * T, 32000), y).backward();
    opt.step();
    opt.zeroGrad();
    if (s > 0) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return {
    mode,
    trainable: counts.trainable,
    total: counts.total,
    msPerStep: times[Math.floor(times.length / 2)]!,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    line: formatTrainableParameters(counts),
  };
}

const child = process.argv.indexOf("--child");
if (child > 0) {
  console.log(JSON.stringify(runMode(process.argv[child + 1] as "lora" | "full")));
} else {
  const self = fileURLToPath(import.meta.url);
  const results = (["full", "lora"] as const).map((mode) => {
    const r = spawnSync(process.execPath, [...process.execArgv, self, ...process.argv.slice(2), "--child", mode], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${mode} run failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split("\n").pop()!) as ModeResult;
  });
  const [full, lora] = results as [ModeResult, ModeResult];
  console.log(`llama-15m, batch ${flag("batch", 4)} × ${flag("seq", 64)} tokens, AdamW, ${flag("steps", 3)} timed steps`);
  console.log(`LoRA r=${flag("r", 8)} (q_proj, v_proj): ${lora.line}`);
  console.log("mode   trainable params   trainable %   ms/step   peak RSS (MB)");
  for (const m of results) {
    console.log(
      `${m.mode.padEnd(6)} ${m.trainable.toLocaleString("en-US").padStart(16)}   ${((100 * m.trainable) / m.total).toFixed(4).padStart(10)}   ${m.msPerStep.toFixed(0).padStart(7)}   ${m.peakRssMB.toFixed(0).padStart(13)}`,
    );
  }
  console.log(
    `LoRA / full: step time ${(lora.msPerStep / full.msPerStep).toFixed(2)}×, peak memory ${(lora.peakRssMB / full.peakRssMB).toFixed(2)}×`,
  );
  if (!(lora.trainable / lora.total < 0.01)) console.log("WARNING: LoRA trainable parameters are not below 1%");
}
