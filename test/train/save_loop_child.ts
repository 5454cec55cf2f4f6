// Child process of checkpoint.test.ts: saves training checkpoints in a loop until killed.
// Usage: save_loop_child OUT_DIR
import { saveTrainingCheckpoint, listCheckpoints } from "../../src/train/index.js";
import type { Checkpoint } from "../../src/formats/types.js";
import { Generator } from "../../src/tensor/index.js";

const out = process.argv[2]!;
const g = new Generator(process.pid);
const config = {
  model_type: "gpt2" as const,
  vocab_size: 64,
  n_embd: 64,
  n_layer: 1,
  n_head: 2,
  n_positions: 16,
  layer_norm_epsilon: 1e-5,
  activation_function: "gelu_new",
  tie_word_embeddings: true,
  bias: true,
};
let step = (listCheckpoints(out).at(-1)?.step ?? 0) + 1;
process.stdout.write("ready\n");
for (;;) {
  const weights = new Float32Array(64 * 64 * 8);
  g.fillUniform(weights);
  const ckpt: Checkpoint = {
    config,
    source: { path: "(test)", format: "hf" },
    tensors: new Map([["transformer.wte.weight", { dtype: "F32", shape: [512, 64], data: weights }]]),
  };
  const moments = new Map([["transformer.wte.weight.exp_avg", { shape: [512, 64], data: weights }]]);
  saveTrainingCheckpoint(
    out,
    ckpt,
    moments,
    {
      step,
      tokensSeen: step,
      bestValLoss: 1 / step,
      bestStep: step,
      rng: { global: g.getState() },
      data: { kind: "documents", epoch: 0, cursor: step },
      settings: { step },
    },
    { keepLast: 2, isBest: step % 3 === 0 },
  );
  step++;
}
