// train --profile: the step profiler reports each phase and the kernels, and changes nothing
// the training computes (the same losses, bit for bit, with and without it).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { getBackend, manualSeed } from "../../src/tensor/index.js";
import {
  DEFAULT_SETTINGS,
  STEP_PHASES,
  StepProfiler,
  WindowDataset,
  formatStepProfile,
  train,
  type TrainSettings,
} from "../../src/train/index.js";
import { TEXT, charTokenizer, tempDir, tinyGPT2Config, tinyModel } from "./helpers.js";

const SETTINGS: TrainSettings = {
  ...DEFAULT_SETTINGS,
  steps: 4,
  batchSize: 2,
  contextLength: 8,
  warmupSteps: 1,
  evalEvery: 0,
  evalIters: 1,
  saveEvery: 0,
  logEvery: 1000,
  seed: 3,
};

function run(profiler?: StepProfiler): number[] {
  const { dir, cleanup } = tempDir();
  try {
    const { sp } = charTokenizer(dir);
    const ids = Uint32Array.from(sp.encode(TEXT.repeat(3)));
    manualSeed(3);
    const model = tinyModel(tinyGPT2Config(sp.vocabSize, 8));
    const r = train({
      model,
      trainData: new WindowDataset(ids, { batchSize: 2, contextLength: 8, seed: 3 }),
      settings: SETTINGS,
      profiler,
    });
    return r.losses;
  } finally {
    cleanup();
  }
}

describe(`train --profile (${getBackend().name})`, () => {
  test("reports every step's phases and kernels, and leaves the losses unchanged", () => {
    const lines: string[] = [];
    const backendBefore = getBackend();
    const profiler = new StepProfiler({ print: (l) => lines.push(l), top: 3 });
    const profiled = run(profiler);
    assert.equal(getBackend(), backendBefore, "the plain backend is back after training");
    assert.deepEqual(profiled, run(), "profiling changes no loss");
    assert.equal(profiler.steps.length, SETTINGS.steps);
    for (const [i, p] of profiler.steps.entries()) {
      assert.equal(p.step, i + 1);
      for (const k of STEP_PHASES) assert.ok(p.phases[k] >= 0, k);
      assert.ok(p.phases.forward > 0 && p.phases.backward > 0 && p.phases.optimizer > 0);
      const inPhases = STEP_PHASES.reduce((s, k) => s + p.phases[k], 0);
      assert.ok(inPhases <= p.totalMs + 1e-6, `phases ${inPhases} ms fit in the step's ${p.totalMs} ms`);
      const labels = p.kernels.map((k) => k.label);
      for (const want of ["matmul", "adamw", "layerNorm", "unary gelu_tanh", "crossEntropy"]) {
        assert.ok(labels.includes(want), `${want} in ${labels.join(", ")}`);
      }
      // One AdamW call per parameter tensor or one for all: either way, at least one per step.
      const adamw = p.kernels.find((k) => k.label === "adamw")!;
      assert.ok(adamw.calls >= 1);
      for (let j = 1; j < p.kernels.length; j++) assert.ok(p.kernels[j - 1]!.ms >= p.kernels[j]!.ms, "largest first");
    }
    assert.equal(lines.length, 2 * SETTINGS.steps);
    assert.match(lines[0]!, /^profile step 1: [\d.]+ ms = forward [\d.]+ \(\d+%\) · backward .* · clip .* · optimizer .* · other /);
    assert.match(lines[1]!, /^ {2}kernels [\d.]+ ms \(\d+%\): \S+ [\d.]+ ms ×\d+ · .* · \d+ more$/);
  });

  test("formats a profile with the phase shares of the step", () => {
    const [head, kernels] = formatStepProfile(
      {
        step: 7,
        totalMs: 200,
        phases: { forward: 50, backward: 100, clip: 10, optimizer: 20 },
        kernels: [
          { label: "matmul", ms: 120, calls: 30 },
          { label: "softmax", ms: 10, calls: 4 },
        ],
      },
      1,
    );
    assert.equal(
      head,
      "profile step 7: 200.0 ms = forward 50.0 (25%) · backward 100.0 (50%) · clip 10.0 (5%) · optimizer 20.0 (10%) · other 20.0 (10%)",
    );
    assert.equal(kernels, "  kernels 130.0 ms (65%): matmul 120.0 ms ×30 · 1 more");
  });
});
