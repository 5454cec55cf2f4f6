// LoRA fine-tuning of a frozen base model on instruction data, saved as a PEFT adapter; the
// library behind `tsgpt finetune` (src/cli/finetune.ts, which only parses flags and prints).
//
// The base model is frozen; a quantized base (a Q8_0 / Q4_0 / Q4_K GGUF) stays quantized in
// memory, its linear layers QuantizedLinear (QLoRA), loaded without ever building their f32
// weights, so a base that does not fit in memory in f32 still loads (models/checkpoint.ts).
// LoRA layers (nn/lora.ts) wrap the target modules and only their A and B train, with this
// folder's loop (AdamW, warmup + cosine schedule, gradient clipping, evaluation, checkpoints,
// exact resume). The run directory `out` holds:
//
//   adapter_config.json, adapter_model.safetensors   the adapter (PEFT layout), written at the end
//   checkpoint-STEP/, last/, best/                    the adapter at that step (a PEFT directory
//                                                     too) and the training state for resume
//                                                     (AdamW moments, RNG and data position)
//   finetune_args.json                                the run's LoRA and data settings
//   log.jsonl, loss_curve.svg                         the training log and its curve
//
// Errors are the library's: OptionError names the FinetuneArgs field at fault, RunDirectoryError
// says why `out` does not fit the request, FormatError and DataError name the file.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { loadCheckpointSync } from "../formats/load.js";
import { DEFAULT_TARGET_MODULES, LORA_TARGETABLE, loraConfig, scalingFor, writeAdapter, type LoraConfig } from "../formats/peft.js";
import { OptionError, RunDirectoryError } from "../util/errors.js";
import { numberInRange } from "../util/validate.js";
import { contextLength, modelFromCheckpoint, type CausalLM } from "../models/index.js";
import { QuantizedLinear } from "../quant/quantized_linear.js";
import { addLoRA, countParameters, formatTrainableParameters, getLoRAFactors, loraParameters, setLoRAFactors } from "../nn/lora.js";
import { Generator, manualSeed } from "../tensor/index.js";
import { loadTokenizer } from "../tokenizer/index.js";
import { getTemplate } from "../generate/templates.js";
import { InstructDataset, encodeInstructExamples, instructBatches, readInstructJsonl, type InstructExample } from "./instruct.js";
import { train, type TrainResult, type TrainSettings, type TrainableModel } from "./trainer.js";
import { isTrainingCheckpoint, listCheckpoints, loadAdapterCheckpoint } from "./checkpoint.js";
import { ProgressBar } from "./progress.js";
import { ARGS_FILE, ARGS_SHA256_KEY, readArgsForResume, writeArgs, type FinetuneArgs } from "./finetune_args.js";
import { DataError } from "./text_source.js";

export type { FinetuneArgs } from "./finetune_args.js";

export interface FinetuneOptions {
  /** The run's settings; with `resume` they are read from the run directory instead. */
  args?: FinetuneArgs;
  out: string;
  /** Continue the run in `out` from its last checkpoint. */
  resume?: boolean;
  /** Stop after this step (for tests of resume), although the schedule runs to settings.steps. */
  stopAt?: number;
  /** Where messages go (default stderr); null for silence. */
  log?: ((line: string) => void) | null;
  progress?: boolean;
}

export interface FinetuneResult extends TrainResult {
  trainable: number;
  total: number;
  /** Held-out loss of the base model (before any update) and of the adapter at the end. */
  baseValLoss: number | null;
  finalValLoss: number | null;
  model: CausalLM;
  config: LoraConfig;
}

/** Runs (or resumes) a LoRA fine-tuning and writes the adapter to `out`. */
export function finetune(options: FinetuneOptions): FinetuneResult {
  const out = options.out;
  const say = options.log === null ? () => {} : (options.log ?? ((l: string) => process.stderr.write(`${l}\n`)));
  const resume = options.resume ? loadAdapterCheckpoint(out) : undefined;
  const resumed = resume ? readArgsForResume(out, resume.state.settings[ARGS_SHA256_KEY]) : undefined;
  const args = resumed ? resumed.args : options.args;
  if (!args) throw new TypeError("finetune: options.args is required unless options.resume is set");
  numberInRange("valFraction", args.valFraction, 0, 1, { includeHigh: false });

  const base = loadCheckpointSync(args.base);
  // The frozen base may use the checkpoint's arrays as they are: nothing else reads them.
  const model = modelFromCheckpoint(base, { keepQuantized: true, shareWeights: true });
  const kept = quantizedSummary(model);
  if (kept) say(`base weights: quantized ${kept} (kept)`);
  const arch = model.config.model_type;
  const targets = args.targets.length > 0 ? args.targets : DEFAULT_TARGET_MODULES[arch];
  const unknown = targets.filter((t) => !LORA_TARGETABLE[arch].includes(t));
  if (unknown.length > 0)
    throw new OptionError(
      "targets",
      `${unknown.join(", ")} is not a linear layer of a ${arch} model (choose from ${LORA_TARGETABLE[arch].join(", ")})`,
    );
  addLoRA(model, {
    targetModules: targets,
    r: args.r,
    alpha: args.alpha,
    dropout: args.dropout,
    generator: new Generator(args.settings.seed),
  });
  const config = loraConfig({
    r: args.r,
    loraAlpha: args.alpha,
    loraDropout: args.dropout,
    targetModules: targets,
    baseModelNameOrPath: args.base,
    fanInFanOut: arch === "gpt2",
    inferenceMode: true,
  });
  const counts = countParameters(model);
  say(formatTrainableParameters(counts));

  const tokPath = args.tokenizer ?? base.tokenizerPath;
  if (!tokPath || tokPath.endsWith(".bin")) {
    throw new OptionError("tokenizer", `no tokenizer (.model or tokenizer.json) found beside ${args.base}; pass one`);
  }
  const tok = loadTokenizer(tokPath);
  const template = getTemplate(args.template);
  const maxLength = Math.min(args.settings.contextLength, contextLength(model.config));
  const { train: trainEx, val: valEx } = splitExamples(args);
  const encode = (ex: InstructExample[], what: string) => {
    const set = encodeInstructExamples(tok, template, ex, { maxLength });
    if (set.dropped.length > 0)
      say(
        `${what}: skipped ${set.dropped.length} example(s) whose prompt alone fills the context of ${maxLength} (first: ${set.dropped[0]})`,
      );
    if (set.truncated > 0) say(`${what}: cut ${set.truncated} example(s) to ${maxLength} tokens`);
    if (set.examples.length === 0 && ex.length > 0) throw new DataError(what, "no usable examples");
    return set.examples;
  };
  const trainSet = encode(trainEx, args.data);
  const valSet = encode(valEx, args.valData ?? `${args.data} (held out)`);
  say(`data: ${trainSet.length} training example(s), ${valSet.length} held out; template ${template.name}`);
  const padId = tok.padId >= 0 ? tok.padId : 0;
  const trainData = new InstructDataset(trainSet, { batchSize: args.settings.batchSize, seed: args.settings.seed, padId });
  const valBatches = valSet.length > 0 ? instructBatches(valSet, args.settings.batchSize, padId) : undefined;

  let argsSha256 = resumed?.sha256;
  if (resume) {
    setLoRAFactors(model, resume.adapter.layers, (m) => scalingFor(config, m));
    say(`resuming from ${resume.dir} at step ${resume.state.step}`);
  } else {
    if (existsSync(out) && (listCheckpoints(out).length > 0 || isTrainingCheckpoint(join(out, "last")))) {
      throw new RunDirectoryError(out, "occupied", `${out} already holds a run: resume it (resume: true) or choose another directory`);
    }
    mkdirSync(out, { recursive: true });
    argsSha256 = writeArgs(out, args);
    manualSeed(args.settings.seed); // dropout masks come from the global stream, saved in checkpoints
  }

  // Only the LoRA factors are the trainer's parameters: the optimizer and clipping see nothing else.
  const trainable: TrainableModel = {
    forward: (ids, o) => model.forward(ids, o),
    namedParameters: () => loraParameters(model),
    train: (mode) => model.train(mode),
    eval: () => model.eval(),
  };
  const valLosses: number[] = [];
  const result = train({
    model: trainable,
    trainData,
    valBatches,
    // Each checkpoint records finetune_args.json's sha256, so a resume can trust what it reads there.
    settings: { ...args.settings, [ARGS_SHA256_KEY]: argsSha256 } as TrainSettings,
    outDir: out,
    toAdapter: () => ({ config, layers: getLoRAFactors(model) }), // each checkpoint is a PEFT adapter directory
    resume,
    stopAt: options.stopAt,
    progress: options.progress === false ? null : new ProgressBar(),
    onEval: (_, loss) => valLosses.push(loss),
  });
  writeAdapter(out, { config, layers: getLoRAFactors(model) });
  say(`adapter written to ${out} (${ARGS_FILE}, checkpoint-*/ hold the training state)`);
  return {
    ...result,
    trainable: counts.trainable,
    total: counts.total,
    model,
    config,
    baseValLoss: resume ? null : (valLosses[0] ?? null),
    finalValLoss: result.valLosses.length > 0 ? result.valLosses[result.valLosses.length - 1]!.loss : null,
  };
}

/** "Q8_0, 12.3 MiB" for the quantized linear layers of a model, or null when it has none. */
function quantizedSummary(model: CausalLM): string | null {
  const layers = model
    .namedModules()
    .map(([, m]) => m)
    .filter((m): m is QuantizedLinear => m instanceof QuantizedLinear);
  if (layers.length === 0) return null;
  const dtypes = [...new Set(layers.map((l) => l.qweight.dtype))].join("/");
  const bytes = layers.reduce((n, l) => n + l.weightBytes, 0);
  return `${dtypes}, ${(bytes / 2 ** 20).toFixed(2)} MiB in ${layers.length} linear layers`;
}

/** Training and held-out examples: valData, or a seeded share of data. */
function splitExamples(args: FinetuneArgs): { train: InstructExample[]; val: InstructExample[] } {
  const all = readInstructJsonl(args.data);
  if (args.valData) return { train: all, val: readInstructJsonl(args.valData) };
  const nVal = Math.floor(all.length * args.valFraction);
  if (nVal === 0) return { train: all, val: [] };
  const order = Array.from(all.keys());
  const rng = new Generator(args.settings.seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.randint(0, i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const valIdx = new Set(order.slice(0, nVal));
  return { train: all.filter((_, i) => !valIdx.has(i)), val: all.filter((_, i) => valIdx.has(i)) };
}
