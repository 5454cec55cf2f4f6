// A short, fully deterministic training run on a chosen backend, for comparing backends: the
// same seed gives the same initial weights and the same batches, so the loss curves of two
// backends differ only by their float rounding. Used by webgpu_parity.test.ts and
// bench/webgpu/train.ts.
import { type BackendName, getBackend, setBackend } from "../../src/backend/index.js";
import { type ModelConfig, createModel } from "../../src/models/index.js";
import { Tensor, manualSeed } from "../../src/tensor/index.js";
import { AdamW } from "../../src/train/index.js";

export interface CurveOptions {
  steps: number;
  batch: number;
  context: number;
  seed?: number;
  lr?: number;
  /** Called after each step (0-based), outside the timed part: benchmarks read counters here. */
  afterStep?: (step: number) => void;
}

export interface Curve {
  losses: number[];
  /** Median wall time of one step (forward, backward, AdamW), in ms. */
  msPerStep: number;
}

/** Token ids 0 … vocab−1 in a fixed pseudo-random order with some repetition, so there is something to learn. */
export function syntheticTokens(vocab: number, length: number, seed = 11): Int32Array {
  const ids = new Int32Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    ids[i] = i % 5 === 4 ? ids[i - 2]! : s % vocab; // every fifth token repeats an earlier one
  }
  return ids;
}

/** Trains `config` from its seeded init for `steps` steps of AdamW on `data`, on `backend`. */
export function lossCurve(config: ModelConfig, backend: BackendName, data: Int32Array, o: CurveOptions): Curve {
  const before = getBackend().name;
  setBackend(backend);
  try {
    const seed = o.seed ?? 5;
    manualSeed(seed);
    const model = createModel(config, { seed });
    const opt = new AdamW(model.namedParameters(), { lr: o.lr ?? 3e-3, weightDecay: 0.1 });
    const losses: number[] = [];
    const times: number[] = [];
    const span = data.length - o.context;
    for (let step = 0; step < o.steps; step++) {
      const ids = new Int32Array(o.batch * o.context);
      for (let b = 0; b < o.batch; b++) {
        const start = ((step * o.batch + b) * 7919) % span; // fixed windows: the same batches on every backend
        ids.set(data.subarray(start, start + o.context), b * o.context);
      }
      const t0 = performance.now();
      const x = new Tensor(ids, [o.batch, o.context]);
      const { loss } = model.forward(x, { labels: x });
      loss!.backward();
      opt.step();
      opt.zeroGrad();
      losses.push(loss!.item());
      times.push(performance.now() - t0);
      o.afterStep?.(step);
    }
    times.sort((a, b) => a - b);
    return { losses, msPerStep: times[Math.floor(times.length / 2)]! };
  } finally {
    setBackend(before);
  }
}
