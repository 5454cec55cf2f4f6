// Worked example: LoRA fine-tuning of the pretrained stories260K model (TinyStories) on
// stories in a new style, with the held-out loss before and after, and a greedy sample.
//
//   npx tsx bench/lora/worked_example.ts [--steps 60] [--out DIR]  (default: a folder under the system temp dir)
//
// 1. style_data.ts writes 400 training and 40 held-out "clock stories" (Alpaca records); the
//    held-out ones use name/animal combinations the training set never has.
// 2. finetune (src/train/finetune.ts) trains a rank-8 adapter on q_proj, k_proj, v_proj, o_proj.
// 3. The adapter is read back from disk, merged into the base weights (formats/peft.ts), and
//    the merged model's held-out loss and a greedy answer to a held-out prompt are printed
//    next to the base model's.
import { join } from "node:path";
import { tmpdir } from "node:os";
import { rmSync } from "node:fs";
import { finetune } from "../../src/train/finetune.js";
import { DEFAULT_SETTINGS, evaluateLoss } from "../../src/train/trainer.js";
import { encodeInstructExamples, instructBatches, readInstructJsonl } from "../../src/train/instruct.js";
import { loadCheckpointSync } from "../../src/formats/load.js";
import { readAdapter, withAdapter } from "../../src/formats/peft.js";
import { modelFromCheckpoint } from "../../src/models/index.js";
import { SentencePieceProcessor } from "../../src/tokenizer/index.js";
import { TextGenerator } from "../../src/generate/text_generator.js";
import { encodeChat, getTemplate } from "../../src/generate/templates.js";
import { writeStyleData } from "./style_data.js";

function flag(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
}

const shared = join(import.meta.dirname ?? ".", "..", "..", "..", "shared", "models", "stories260K");
const basePath = join(shared, "stories260K.bin");
const tokPath = join(shared, "tok512.model");
const work = flag("out", join(tmpdir(), "tsgpt-lora-example"));
rmSync(work, { recursive: true, force: true });
const { train, heldout } = writeStyleData(join(work, "data"), 400, 40, 1);
const steps = Number(flag("steps", "60"));

const t0 = performance.now();
const result = finetune({
  out: join(work, "adapter"),
  args: {
    base: basePath,
    tokenizer: tokPath,
    data: train,
    valData: heldout,
    valFraction: 0,
    template: "alpaca",
    r: 8,
    alpha: 16,
    dropout: 0.05,
    targets: ["q_proj", "k_proj", "v_proj", "o_proj"],
    settings: {
      ...DEFAULT_SETTINGS,
      steps,
      lr: 3e-3,
      minLr: 3e-4,
      warmupSteps: 5,
      batchSize: 4,
      contextLength: 512,
      weightDecay: 0,
      evalEvery: 20,
      saveEvery: 0,
      logEvery: 10,
      seed: 1337,
    },
  },
});
const minutes = (performance.now() - t0) / 60000;

// Independent check from the files on disk: merge the saved adapter, evaluate, generate.
const tok = SentencePieceProcessor.load(tokPath);
const template = getTemplate("alpaca");
const base = loadCheckpointSync(basePath);
const merged = withAdapter(base, readAdapter(join(work, "adapter")));
const valBatches = instructBatches(encodeInstructExamples(tok, template, readInstructJsonl(heldout), { maxLength: 512 }).examples, 4);
const baseLoss = evaluateLoss(modelFromCheckpoint(base), valBatches).loss;
const mergedLoss = evaluateLoss(modelFromCheckpoint(merged), valBatches).loss;

const question = readInstructJsonl(heldout)[0]!.messages[0]!;
const promptIds = encodeChat(tok, template, [question]);
const answer = async (ckpt: typeof base) =>
  (await TextGenerator.fromCheckpoint(ckpt, tok).generate(promptIds, { temperature: 0, maxNewTokens: 90 })).text;

console.log(
  `\nstories260K + LoRA (r 8, alpha 16, q/k/v/o_proj): ${result.trainable.toLocaleString("en-US")} of ${result.total.toLocaleString("en-US")} parameters trained (${((100 * result.trainable) / result.total).toFixed(2)}%)`,
);
console.log(`${steps} steps × 4 examples in ${minutes.toFixed(1)} min`);
console.log(
  `held-out loss (40 unseen stories, response tokens): base ${baseLoss.toFixed(3)} (ppl ${Math.exp(baseLoss).toFixed(2)}) → merged adapter ${mergedLoss.toFixed(3)} (ppl ${Math.exp(mergedLoss).toFixed(2)})`,
);
console.log(`during training: ${result.valLosses.map((v) => `step ${v.step}: ${v.loss.toFixed(3)}`).join(", ")}`);
console.log(`\nprompt: ${question.content}`);
console.log(`base:    ${JSON.stringify((await answer(base)).trim())}`);
console.log(`adapter: ${JSON.stringify((await answer(merged)).trim())}`);
