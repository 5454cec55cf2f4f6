// Training gpt-mini (GPT-2, 4 layers × 4 heads × 128 dims, 64 context) on the webgpu backend
// beside the native backend, same seed, same batches, same run: ms per step of each (median),
// their ratio, and the largest difference between the two loss curves (the issue asks for
// 50 steps within 1e-3 of native). Prints the adapter's name first; without an adapter it
// says why and runs native alone. Not a test: nothing is asserted.
//
// Also counts, per step, what crossed between the CPU and the GPU (sync_backend.ts's
// TransferStats): requests to the worker and the waits for it (round trips; with lazy readback,
// TSGPT_WEBGPU_LAZY, most requests are posted without waiting), GPU submissions, bytes
// uploaded and read back;
// and does so again for --plain-steps steps with the resident-buffer cache off (every call
// uploads every array, as before it), in the same run, so the two can be compared.
//
//   node dist/bench/webgpu/train.js   options: --steps N (50)  --batch B (8)  --vocab V (512)
//                                               --context T (64)  --plain-steps N (3; 0: skip)
//                                               --native-only  --preset NAME (gpt-mini; any
//                                               model preset, e.g. llama-15m)
import { loadNativeBackend, nativeUnavailableReason } from "../../src/backend/native.js";
import {
  type TransferStats,
  type WebGPUSyncBackend,
  loadWebGPUSyncBackend,
  webgpuResidentBytes,
} from "../../src/backend/webgpu/sync_backend.js";
import { presetConfig } from "../../src/models/index.js";
import { type Curve, type CurveOptions, lossCurve, syntheticTokens } from "../../test/train/loss_curve.js";

function option(name: string, fallback: number, min = 1): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < min) throw new Error(`${name}: expected an integer ≥ ${min}, got "${process.argv[i + 1]}"`);
  return v;
}

const MB = 2 ** 20;

type Counted = "requests" | "waits" | "submits" | "uploadBytes" | "readbackBytes" | "comparedBytes";

/** The growth of the counters from `a` to `b`, per step. */
function perStep(a: TransferStats, b: TransferStats, steps: number): string {
  const d = (k: Counted) => (b[k] - a[k]) / steps;
  return (
    `${d("requests").toFixed(0)} requests, ${d("waits").toFixed(0)} waits (round trips), ${d("submits").toFixed(0)} GPU submissions, ` +
    `${(d("uploadBytes") / MB).toFixed(2)} MB up, ${(d("readbackBytes") / MB).toFixed(2)} MB back ` +
    `(${(d("comparedBytes") / MB).toFixed(2)} MB compared on the CPU)`
  );
}

/**
 * Trains on webgpu with `opts` and prints its time and its transfers: those of the first step
 * (which uploads the model) and those of each later step (the steady state).
 */
function measured(gpu: WebGPUSyncBackend, label: string, run: (o: Pick<CurveOptions, "afterStep">) => Curve, steps: number): Curve {
  const start = gpu.transferStats();
  let first = start;
  let end = start; // after the last step, before the run switches backends (which reads back what the GPU holds)
  const curve = run({
    afterStep: (s) => {
      end = gpu.transferStats();
      if (s === 0) first = end;
    },
  });
  console.log(`${label}: ${curve.msPerStep.toFixed(1)} ms/step`);
  console.log(`  step 1: ${perStep(start, first, 1)}`);
  if (steps > 1) console.log(`  steps 2-${steps}, per step: ${perStep(first, end, steps - 1)}`);
  console.log(`  resident after the run: ${end.residentEntries} arrays, ${(end.gpuResidentBytes / MB).toFixed(1)} MB on the GPU`);
  return curve;
}

function main(): void {
  const steps = option("--steps", 50),
    batch = option("--batch", 8),
    vocab = option("--vocab", 512),
    context = option("--context", 64),
    plainSteps = option("--plain-steps", 3, 0);
  if (!loadNativeBackend()) throw new Error(`the native backend is the reference here and is unavailable: ${nativeUnavailableReason()}`);
  let adapter: string | null = null;
  let gpu: WebGPUSyncBackend | null = null;
  if (!process.argv.includes("--native-only")) {
    try {
      gpu = loadWebGPUSyncBackend("bench/webgpu/train");
      adapter = gpu.adapterName;
    } catch (e) {
      console.log(`webgpu unavailable: ${(e as Error).message}`);
    }
  }
  console.log(`adapter: ${adapter ?? "(none)"}`);
  const pi = process.argv.indexOf("--preset");
  const preset = pi >= 0 ? (process.argv[pi + 1] ?? "") : "gpt-mini";
  const config = presetConfig(preset, { vocabSize: vocab, context });
  const data = syntheticTokens(vocab, 200_000);
  const opts = { steps, batch, context };
  console.log(`${preset}, vocab ${vocab}, batch ${batch} × ${context} tokens, ${steps} steps of AdamW`);
  const native = lossCurve(config, "native", data, opts);
  console.log(`native: ${native.msPerStep.toFixed(1)} ms/step, loss ${native.losses[0]!.toFixed(4)} → ${native.losses.at(-1)!.toFixed(4)}`);
  if (!adapter || !gpu) return;
  if (plainSteps > 0) {
    gpu.setResidentBudget(0);
    const plain = measured(
      gpu,
      "webgpu, nothing resident",
      (o) => lossCurve(config, "webgpu", data, { ...opts, ...o, steps: plainSteps }),
      plainSteps,
    );
    const worst = Math.max(...plain.losses.map((l, i) => Math.abs(l - native.losses[i]!)));
    console.log(`  (${plainSteps} steps; largest loss difference from native ${worst.toExponential(2)})`);
    gpu.setResidentBudget(webgpuResidentBytes());
  }
  const webgpu = measured(gpu, "webgpu, resident buffers", (o) => lossCurve(config, "webgpu", data, { ...opts, ...o }), steps);
  console.log(`webgpu: ${webgpu.msPerStep.toFixed(1)} ms/step, loss ${webgpu.losses[0]!.toFixed(4)} → ${webgpu.losses.at(-1)!.toFixed(4)}`);
  const diffs = native.losses.map((l, i) => Math.abs(l - webgpu.losses[i]!));
  const worst = Math.max(...diffs);
  console.log(`webgpu / native time per step: ${(webgpu.msPerStep / native.msPerStep).toFixed(2)}×`);
  console.log(
    `largest loss difference over ${steps} steps: ${worst.toExponential(2)} (step ${diffs.indexOf(worst) + 1}); within 1e-3: ${worst <= 1e-3 ? "yes" : "NO"}`,
  );
}

main();
