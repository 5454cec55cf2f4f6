// Training gpt-mini (GPT-2, 4 layers × 4 heads × 128 dims, 64 context) on the webgpu backend
// beside the native backend, same seed, same batches, same run: ms per step of each (median),
// their ratio, and the largest difference between the two loss curves (the issue asks for
// 50 steps within 1e-3 of native). Prints the adapter's name first; without an adapter it
// says why and runs native alone. Not a test: nothing is asserted.
//
//   node dist/bench/webgpu/train.js   options: --steps N (50)  --batch B (8)  --vocab V (512)
//                                               --context T (64)  --native-only
import { loadNativeBackend, nativeUnavailableReason } from "../../src/backend/native.js";
import { loadWebGPUSyncBackend } from "../../src/backend/webgpu/sync_backend.js";
import { presetConfig } from "../../src/models/index.js";
import { type Curve, lossCurve, syntheticTokens } from "../../test/train/loss_curve.js";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: expected a positive integer, got "${process.argv[i + 1]}"`);
  return v;
}

function main(): void {
  const steps = option("--steps", 50),
    batch = option("--batch", 8),
    vocab = option("--vocab", 512),
    context = option("--context", 64);
  if (!loadNativeBackend()) throw new Error(`the native backend is the reference here and is unavailable: ${nativeUnavailableReason()}`);
  let adapter: string | null = null;
  if (!process.argv.includes("--native-only")) {
    try {
      adapter = loadWebGPUSyncBackend("bench/webgpu/train").adapterName;
    } catch (e) {
      console.log(`webgpu unavailable: ${(e as Error).message}`);
    }
  }
  console.log(`adapter: ${adapter ?? "(none)"}`);
  const config = presetConfig("gpt-mini", { vocabSize: vocab, context });
  const data = syntheticTokens(vocab, 200_000);
  const opts = { steps, batch, context };
  console.log(`gpt-mini, vocab ${vocab}, batch ${batch} × ${context} tokens, ${steps} steps of AdamW`);
  const native = lossCurve(config, "native", data, opts);
  console.log(`native: ${native.msPerStep.toFixed(1)} ms/step, loss ${native.losses[0]!.toFixed(4)} → ${native.losses.at(-1)!.toFixed(4)}`);
  if (!adapter) return;
  const webgpu: Curve = lossCurve(config, "webgpu", data, opts);
  console.log(`webgpu: ${webgpu.msPerStep.toFixed(1)} ms/step, loss ${webgpu.losses[0]!.toFixed(4)} → ${webgpu.losses.at(-1)!.toFixed(4)}`);
  const diffs = native.losses.map((l, i) => Math.abs(l - webgpu.losses[i]!));
  const worst = Math.max(...diffs);
  console.log(`webgpu / native time per step: ${(webgpu.msPerStep / native.msPerStep).toFixed(2)}×`);
  console.log(
    `largest loss difference over ${steps} steps: ${worst.toExponential(2)} (step ${diffs.indexOf(worst) + 1}); within 1e-3: ${worst <= 1e-3 ? "yes" : "NO"}`,
  );
}

main();
