// Exact resume: 200 steps in one run equal 100 steps + resume from the checkpoint + 100 steps,
// loss for loss, on every backend.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { modelFromCheckpoint, modelToCheckpoint, type CausalLM } from "../../src/models/index.js";
import { availableBackends, getBackend, manualSeed, setBackend } from "../../src/tensor/index.js";
import {
  DEFAULT_SETTINGS,
  WindowDataset,
  fixedWindowBatches,
  loadTokenCorpus,
  loadTrainingCheckpoint,
  splitCorpus,
  train,
  type TrainSettings,
} from "../../src/train/index.js";
import { TEXT, charTokenizer, tempDir, tinyGPT2Config, tinyLlamaConfig, tinyModel } from "./helpers.js";

const SETTINGS: TrainSettings = {
  ...DEFAULT_SETTINGS,
  steps: 200,
  batchSize: 3,
  contextLength: 12,
  lr: 3e-3,
  minLr: 3e-4,
  warmupSteps: 20,
  evalEvery: 50,
  evalIters: 2,
  saveEvery: 60,
  keepLast: 2,
  logEvery: 10,
  seed: 5,
  gradAccum: 2,
};

function setup(dir: string) {
  const { sp, path } = charTokenizer(dir);
  const data = join(dir, "data.txt");
  writeFileSync(data, TEXT.repeat(4));
  const ids = loadTokenCorpus([data], sp, join(dir, "cache")).ids;
  const { train: tr, val } = splitCorpus(ids, 0.2);
  const s = SETTINGS;
  const batches = () => ({
    trainData: new WindowDataset(tr, { batchSize: s.batchSize, contextLength: s.contextLength, seed: s.seed }),
    valBatches: fixedWindowBatches(val, { batchSize: s.batchSize, contextLength: s.contextLength, seed: s.seed + 1, count: s.evalIters }),
  });
  return { sp, tokenizerPath: path, batches };
}

describe("exact resume", () => {
  const cases = availableBackends().flatMap((b) => [
    { backend: b, arch: "gpt2" },
    { backend: b, arch: "llama" },
  ]);
  for (const { backend, arch } of cases) {
    test(`200 steps = 100 + resume + 100 (${arch}, ${backend} backend)`, () => {
      const prev = getBackend().name;
      setBackend(backend);
      const { dir, cleanup } = tempDir();
      try {
        const { sp, tokenizerPath, batches } = setup(dir);
        const config = arch === "gpt2" ? tinyGPT2Config(sp.vocabSize) : tinyLlamaConfig(sp.vocabSize);
        const toCheckpoint = (m: unknown) => modelToCheckpoint(m as CausalLM);

        manualSeed(1);
        const straight = train({
          model: tinyModel(config),
          ...batches(),
          settings: SETTINGS,
          outDir: join(dir, "a"),
          toCheckpoint,
          tokenizerPath,
        });

        manualSeed(1);
        const first = train({
          model: tinyModel(config),
          ...batches(),
          settings: SETTINGS,
          outDir: join(dir, "b"),
          toCheckpoint,
          tokenizerPath,
          stopAt: 100,
        });
        assert.equal(first.step, 100);
        manualSeed(999); // the checkpoint's RNG state must win over whatever the process has
        const resume = loadTrainingCheckpoint(join(dir, "b"));
        assert.equal(resume.state.step, 100);
        const second = train({
          model: modelFromCheckpoint(resume.checkpoint),
          ...batches(),
          settings: SETTINGS,
          outDir: join(dir, "b"),
          toCheckpoint,
          tokenizerPath,
          resume,
        });
        assert.equal(second.step, 200);
        assert.deepEqual([...first.losses, ...second.losses], straight.losses);
        assert.deepEqual(
          second.valLosses,
          straight.valLosses.filter((v) => v.step > 100),
        );
        assert.ok(straight.losses[199]! < straight.losses[0]!, "training lowers the loss");
      } finally {
        setBackend(prev);
        cleanup();
      }
    });
  }
});
