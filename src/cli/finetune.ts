// `tsgpt finetune`: LoRA fine-tuning on instruction data, saved as a PEFT adapter.
//
//   tsgpt finetune --base stories260K.bin --data train.jsonl --template alpaca --out my-adapter
//   tsgpt finetune --resume my-adapter          (continues exactly where the run stopped)
//
// The base model is frozen; a quantized base (a Q8_0 / Q4_0 / Q4_K GGUF) stays quantized in
// memory, its linear layers QuantizedLinear (QLoRA), loaded without ever building their f32
// weights, so a base that does not fit in memory in f32 still loads (models/checkpoint.ts).
// LoRA layers (nn/lora.ts) wrap the --target modules and only their A and B train, with
// src/train's loop (AdamW, warmup + cosine schedule, gradient clipping,
// evaluation, checkpoints, exact resume). The run directory OUT holds:
//
//   adapter_config.json, adapter_model.safetensors   the adapter (PEFT layout), written at the end
//   checkpoint-STEP/, last/, best/                    the adapter at that step (a PEFT directory
//                                                     too) and the training state for --resume
//                                                     (AdamW moments, RNG and data position)
//   finetune_args.json                                the run's LoRA and data settings
//   log.jsonl, loss_curve.svg                         the training log and its curve
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseOptions, numberOption, UsageError, type OptionSpecs, runCommand } from "./args.js";
import { loadCheckpointSync } from "../formats/load.js";
import { DEFAULT_TARGET_MODULES, LORA_TARGETABLE, loraConfig, scalingFor, writeAdapter, type LoraConfig } from "../formats/peft.js";
import { writeBytesAtomic } from "../formats/atomic.js";
import { contextLength, modelFromCheckpoint, type CausalLM } from "../models/index.js";
import { QuantizedLinear } from "../nn/quantized_linear.js";
import { addLoRA, countParameters, formatTrainableParameters, getLoRAFactors, loraParameters, setLoRAFactors } from "../nn/lora.js";
import { Generator, manualSeed } from "../tensor/index.js";
import { loadTokenizer } from "../tokenizer/index.js";
import { getTemplate } from "../generate/templates.js";
import {
  InstructDataset, encodeInstructExamples, instructBatches, readInstructJsonl, type InstructExample,
} from "../train/instruct.js";
import { DEFAULT_SETTINGS, train, type TrainResult, type TrainSettings, type TrainableModel } from "../train/trainer.js";
import { isTrainingCheckpoint, listCheckpoints, loadAdapterCheckpoint } from "../train/checkpoint.js";
import { ProgressBar } from "../train/progress.js";

const ARGS_FILE = "finetune_args.json";

/** Everything that defines a fine-tuning run (saved in finetune_args.json for --resume). */
export interface FinetuneArgs {
  base: string;
  tokenizer?: string;
  data: string;
  valData?: string;
  /** Share of --data held out for evaluation when there is no --val-data. */
  valFraction: number;
  template: string;
  r: number;
  alpha: number;
  dropout: number;
  /** Module names; empty: PEFT's default for the architecture. */
  targets: string[];
  settings: TrainSettings;
}

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
  const args = resume ? readArgs(out) : options.args;
  if (!args) throw new UsageError("finetune: the run's settings are needed (or --resume)");

  const base = loadCheckpointSync(args.base);
  // The frozen base may use the checkpoint's arrays as they are: nothing else reads them.
  const model = modelFromCheckpoint(base, { keepQuantized: true, shareWeights: true });
  const kept = quantizedSummary(model);
  if (kept) say(`base weights: quantized ${kept} (kept)`);
  const arch = model.config.model_type;
  const targets = args.targets.length > 0 ? args.targets : DEFAULT_TARGET_MODULES[arch];
  const unknown = targets.filter((t) => !LORA_TARGETABLE[arch].includes(t));
  if (unknown.length > 0) throw new UsageError(`--target: ${unknown.join(", ")} is not a linear layer of a ${arch} model (choose from ${LORA_TARGETABLE[arch].join(", ")})`);
  addLoRA(model, { targetModules: targets, r: args.r, alpha: args.alpha, dropout: args.dropout, generator: new Generator(args.settings.seed) });
  const config = loraConfig({
    r: args.r, loraAlpha: args.alpha, loraDropout: args.dropout, targetModules: targets,
    baseModelNameOrPath: args.base, fanInFanOut: arch === "gpt2", inferenceMode: true,
  });
  const counts = countParameters(model);
  say(formatTrainableParameters(counts));

  const tokPath = args.tokenizer ?? base.tokenizerPath;
  if (!tokPath || tokPath.endsWith(".bin")) {
    throw new UsageError(`--tokenizer: no tokenizer (.model or tokenizer.json) found beside ${args.base}; pass one`);
  }
  const tok = loadTokenizer(tokPath);
  const template = getTemplate(args.template);
  const maxLength = Math.min(args.settings.contextLength, contextLength(model.config));
  const { train: trainEx, val: valEx } = splitExamples(args);
  const encode = (ex: InstructExample[], what: string) => {
    const set = encodeInstructExamples(tok, template, ex, { maxLength });
    if (set.dropped.length > 0) say(`${what}: skipped ${set.dropped.length} example(s) whose prompt alone fills the context of ${maxLength} (first: ${set.dropped[0]})`);
    if (set.truncated > 0) say(`${what}: cut ${set.truncated} example(s) to ${maxLength} tokens`);
    if (set.examples.length === 0 && ex.length > 0) throw new Error(`${what}: no usable examples`);
    return set.examples;
  };
  const trainSet = encode(trainEx, args.data);
  const valSet = encode(valEx, args.valData ?? `${args.data} (held out)`);
  say(`data: ${trainSet.length} training example(s), ${valSet.length} held out; template ${template.name}`);
  const padId = tok.padId >= 0 ? tok.padId : 0;
  const trainData = new InstructDataset(trainSet, { batchSize: args.settings.batchSize, seed: args.settings.seed, padId });
  const valBatches = valSet.length > 0 ? instructBatches(valSet, args.settings.batchSize, padId) : undefined;

  if (resume) {
    setLoRAFactors(model, resume.adapter.layers, (m) => scalingFor(config, m));
    say(`resuming from ${resume.dir} at step ${resume.state.step}`);
  } else {
    if (existsSync(out) && (listCheckpoints(out).length > 0 || isTrainingCheckpoint(join(out, "last")))) {
      throw new UsageError(`${out} already holds a run: pass --resume to continue it, or choose another --out`);
    }
    mkdirSync(out, { recursive: true });
    writeBytesAtomic(join(out, ARGS_FILE), JSON.stringify(args, null, 2) + "\n");
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
    settings: args.settings,
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
    ...result, trainable: counts.trainable, total: counts.total, model, config,
    baseValLoss: resume ? null : (valLosses[0] ?? null),
    finalValLoss: result.valLosses.length > 0 ? result.valLosses[result.valLosses.length - 1]!.loss : null,
  };
}

/** "Q8_0, 12.3 MiB" for the quantized linear layers of a model, or null when it has none. */
function quantizedSummary(model: CausalLM): string | null {
  const layers = model.namedModules().map(([, m]) => m).filter((m): m is QuantizedLinear => m instanceof QuantizedLinear);
  if (layers.length === 0) return null;
  const dtypes = [...new Set(layers.map((l) => l.qweight.dtype))].join("/");
  const bytes = layers.reduce((n, l) => n + l.weightBytes, 0);
  return `${dtypes}, ${(bytes / 2 ** 20).toFixed(2)} MiB in ${layers.length} linear layers`;
}

/** Training and held-out examples: --val-data, or a seeded share of --data. */
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

function readArgs(out: string): FinetuneArgs {
  const p = join(out, ARGS_FILE);
  if (!existsSync(p)) throw new UsageError(`--resume: ${p} not found (not a tsgpt finetune run directory)`);
  try {
    return JSON.parse(readFileSync(p, "utf8")) as FinetuneArgs;
  } catch (err) {
    throw new Error(`${p}: invalid JSON (${(err as Error).message})`);
  }
}

// ---------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------

const SPECS: OptionSpecs = {
  base: { type: "string", arg: "PATH", help: "base model: Hugging Face directory, llama2.c .bin or GGUF" },
  tokenizer: { type: "string", arg: "PATH", help: "SentencePiece .model or tokenizer.json (default: the one beside the base)" },
  data: { type: "string", arg: "FILE", help: "training data, JSONL: Alpaca {instruction, input, output} or {messages: [...]}" },
  "val-data": { type: "string", arg: "FILE", help: "held-out data (default: --val-fraction of --data)" },
  "val-fraction": { type: "string", arg: "F", help: "share of --data held out when there is no --val-data", default: "0.1" },
  template: { type: "string", arg: "NAME", help: "prompt template: alpaca, llama2 or vicuna", default: "alpaca" },
  "lora-r": { type: "string", arg: "R", help: "LoRA rank", default: "8" },
  "lora-alpha": { type: "string", arg: "A", help: "LoRA alpha (the update is scaled by alpha / r)", default: "16" },
  "lora-dropout": { type: "string", arg: "P", help: "dropout on the LoRA input", default: "0.05" },
  target: { type: "string", arg: "LIST", help: "comma-separated modules (q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj; c_attn,c_proj,c_fc) (default: q_proj,v_proj for Llama, c_attn for GPT-2)" },
  steps: { type: "string", arg: "N", help: "optimizer steps", default: "200" },
  lr: { type: "string", arg: "LR", help: "peak learning rate (warmup, then cosine to lr/10)", default: "2e-4" },
  "warmup-steps": { type: "string", arg: "N", help: "linear warmup steps (default: steps/10, at most 100)" },
  "batch-size": { type: "string", arg: "B", help: "examples per step", default: "8" },
  "grad-accum": { type: "string", arg: "N", help: "micro-batches per step", default: "1" },
  context: { type: "string", arg: "T", help: "longest example in tokens (default: the model's context)" },
  "weight-decay": { type: "string", arg: "W", help: "AdamW weight decay on A and B", default: "0" },
  "eval-every": { type: "string", arg: "N", help: "evaluate the held-out loss every N steps", default: "50" },
  "save-every": { type: "string", arg: "N", help: "save a training checkpoint every N steps (0: at the end)", default: "100" },
  seed: { type: "string", arg: "N", help: "seed of A's initialisation, data order and dropout", default: "1337" },
  out: { type: "string", arg: "DIR", help: "run directory; the adapter is written there" },
  resume: { type: "boolean", help: "continue the run in --out from its last checkpoint" },
};

const SUMMARY = "LoRA fine-tuning of a frozen base model on instruction data; writes a PEFT adapter directory.";

function argsFromFlags(v: Record<string, unknown>): FinetuneArgs {
  const need = (name: string) => {
    if (typeof v[name] !== "string" || v[name] === "") throw new UsageError(`--${name} is required`);
    return v[name] as string;
  };
  const steps = numberOption(v, "steps", { min: 1, integer: true })!;
  const lr = numberOption(v, "lr", { min: 0 })!;
  const contextFlag = numberOption(v, "context", { min: 2, integer: true });
  const settings: TrainSettings = {
    ...DEFAULT_SETTINGS,
    steps, lr, minLr: lr / 10,
    warmupSteps: numberOption(v, "warmup-steps", { min: 0, integer: true }) ?? Math.min(100, Math.floor(steps / 10)),
    batchSize: numberOption(v, "batch-size", { min: 1, integer: true })!,
    gradAccum: numberOption(v, "grad-accum", { min: 1, integer: true })!,
    contextLength: contextFlag ?? Number.MAX_SAFE_INTEGER,
    weightDecay: numberOption(v, "weight-decay", { min: 0 })!,
    evalEvery: numberOption(v, "eval-every", { min: 0, integer: true })!,
    evalIters: 1,
    saveEvery: numberOption(v, "save-every", { min: 0, integer: true })!,
    logEvery: 1,
    seed: numberOption(v, "seed", { min: 0, integer: true })!,
  };
  return {
    base: resolve(need("base")),
    tokenizer: typeof v.tokenizer === "string" ? resolve(v.tokenizer) : undefined,
    data: resolve(need("data")),
    valData: typeof v["val-data"] === "string" ? resolve(v["val-data"]) : undefined,
    valFraction: numberOption(v, "val-fraction", { min: 0, max: 0.9 })!,
    template: need("template"),
    r: numberOption(v, "lora-r", { min: 1, integer: true })!,
    alpha: numberOption(v, "lora-alpha", {})!,
    dropout: numberOption(v, "lora-dropout", { min: 0, max: 0.99 })!,
    targets: typeof v.target === "string" ? v.target.split(",").map((s) => s.trim()).filter((s) => s !== "") : [],
    settings,
  };
}

export function run(argv: string[]): Promise<number> {
  return runCommand("finetune", async () => {
    const parsed = parseOptions("finetune", SUMMARY, argv, SPECS);
    if (!parsed) return 0;
    const v = parsed.values;
    if (typeof v.out !== "string") throw new UsageError("--out is required (the adapter / run directory)");
    const out = resolve(v.out);
    if (v.resume) {
      finetune({ out, resume: true });
    } else {
      getTemplate(String(v.template)); // fail early on a bad name
      finetune({ args: argsFromFlags(v), out });
    }
    return 0;
  });
}
