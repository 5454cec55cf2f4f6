// `tsgpt train`: train a GPT-2 or Llama model from text, end to end.
//   tsgpt train --out runs/demo                                   (Brown corpus, BPE 4096, gpt-mini)
//   tsgpt train --data input.txt --char --model gpt-mini --steps 2000 --out runs/shakespeare
//   tsgpt train --resume runs/shakespeare --steps 4000            (continue exactly where it stopped)
//   tsgpt train --out runs/shakespeare --resume --steps 4000      (the same: bare --resume continues --out)
//
// Steps: check the data → tokenizer (given, character-level, or trained on the data) →
// tokenize into a cache → model (preset or config.json) → train with checkpoints → print a
// sample of generated text.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseOptions, numberOption, UsageError, type OptionSpecs, runCommand } from "./args.js";
import { applyDevice, deviceFlag, deviceOption } from "./device_option.js";
import { existsNonEmpty, refuseOverInputs } from "./outputs.js";
import { SentencePieceProcessor, serializeModelProto } from "../tokenizer/index.js";
import { trainSentencePiece } from "../tokenizer/trainer.js";
import { writeBytesAtomic } from "../util/atomic_write.js";
import {
  configFromJSON,
  contextLength,
  createModel,
  modelFromCheckpoint,
  modelToCheckpoint,
  presetConfig,
  presetNames,
} from "../models/index.js";
import type { CausalLM, ModelConfig } from "../models/index.js";
import { architectureOf } from "../arch/index.js";
import { manualSeed } from "../tensor/index.js";
import { TextGenerator } from "../generate/text_generator.js";
import {
  DEFAULT_SETTINGS,
  DataError,
  ProgressBar,
  WindowDataset,
  charModelProto,
  fixedWindowBatches,
  forEachLine,
  listDataFiles,
  loadTokenCorpus,
  loadTrainingCheckpoint,
  prepareBrownCorpus,
  sha256File,
  splitCorpus,
  StepProfiler,
  train,
  type TrainSettings,
} from "../train/index.js";

const SPECS: OptionSpecs = {
  device: deviceOption,
  data: {
    type: "string",
    arg: "FILE|DIR",
    help: "training text (UTF-8); a directory means all its files (default: the Brown corpus; with --resume: the files the run recorded, checked by sha256)",
  },
  tokenizer: { type: "string", arg: "M.model", help: "SentencePiece model to use (default: train a BPE one on the data)" },
  char: { type: "boolean", help: "character-level vocabulary (stored as a SentencePiece .model)" },
  "vocab-size": { type: "string", arg: "N", help: "vocabulary size of the trained tokenizer (default: 4096)" },
  arch: {
    type: "string",
    arg: "NAME|config.json",
    help: `model preset (${presetNames().join(", ")}) or a config.json (default: gpt-mini)`,
  },
  model: { type: "string", aliasOf: "arch", help: "older spelling, to be removed" },
  steps: { type: "string", arg: "N", help: `optimizer steps (default: ${DEFAULT_SETTINGS.steps})` },
  "batch-size": { type: "string", arg: "N", help: `sequences per micro-batch (default: ${DEFAULT_SETTINGS.batchSize})` },
  context: { type: "string", arg: "N", help: "tokens per sequence (default: the model's context)" },
  lr: { type: "string", arg: "LR", help: `peak learning rate (default: ${DEFAULT_SETTINGS.lr})` },
  "min-lr": { type: "string", arg: "LR", help: `learning rate at the end of the cosine decay (default: ${DEFAULT_SETTINGS.minLr})` },
  "warmup-steps": { type: "string", arg: "N", help: `linear warmup steps (default: ${DEFAULT_SETTINGS.warmupSteps})` },
  warmup: { type: "string", aliasOf: "warmup-steps", help: "" },
  "weight-decay": { type: "string", arg: "W", help: `AdamW weight decay (default: ${DEFAULT_SETTINGS.weightDecay})` },
  "grad-clip": { type: "string", arg: "N", help: `clip gradients to this global norm, 0 = off (default: ${DEFAULT_SETTINGS.gradClip})` },
  "grad-accum": { type: "string", arg: "N", help: `micro-batches per step (default: ${DEFAULT_SETTINGS.gradAccum})` },
  "eval-every": {
    type: "string",
    arg: "N",
    help: `validation every N steps, 0 = only at the end (default: ${DEFAULT_SETTINGS.evalEvery})`,
  },
  "eval-iters": { type: "string", arg: "N", help: `validation batches (default: ${DEFAULT_SETTINGS.evalIters})` },
  "save-every": {
    type: "string",
    arg: "N",
    help: `checkpoint every N steps, 0 = only at the end (default: ${DEFAULT_SETTINGS.saveEvery})`,
  },
  "keep-last": { type: "string", arg: "N", help: `checkpoint-STEP directories kept, 0 = all (default: ${DEFAULT_SETTINGS.keepLast})` },
  "log-every": {
    type: "string",
    arg: "N",
    help: `write a log.jsonl training record every N steps (default: ${DEFAULT_SETTINGS.logEvery})`,
  },
  seed: { type: "string", arg: "N", help: `seed of the weights and the data order (default: ${DEFAULT_SETTINGS.seed})` },
  out: { type: "string", arg: "DIR", help: "run directory: checkpoints, log.jsonl, loss_curve.svg" },
  resume: {
    type: "string",
    arg: "DIR",
    optionalValue: true,
    help: "continue a run: bare, the one in --out; with DIR, that run directory (its last checkpoint) or checkpoint",
  },
  force: { type: "boolean", help: "start over in a --out that already holds a run (clears it)" },
  "sample-tokens": { type: "string", arg: "N", help: "tokens of text generated at the end, 0 = none (default: 200)" },
  profile: {
    type: "boolean",
    help: "print, after every step, where its time went: forward, backward, clipping, optimizer, and the kernels that took most",
  },
};

const SUMMARY = "Train a GPT-2 or Llama model from text, with checkpoints, validation and exact resume.";

/** Where a run's data and tokenizer came from, stored with the settings for --resume. */
interface RunSource {
  dataFiles: string[];
  model: string;
  /** sha256 of each data file, so --resume reads only the data this run was started on. */
  dataSha256?: string[];
}

/** The data files with their checksums, as recorded for --resume. */
function dataSource(dataFiles: string[], model: string): RunSource {
  return { dataFiles, model, dataSha256: dataFiles.map((f) => sha256File(f)) };
}

/**
 * The data a resumed run reads: --data when given now, else the files the checkpoint recorded,
 * each checked against its recorded sha256 (trainer_state.json is plain JSON: its paths are
 * not trusted on their own).
 */
function resumeData(source: RunSource, v: Record<string, unknown>, statePath: string): RunSource {
  if (typeof v.data === "string") return dataSource(listDataFiles(v.data), source.model);
  const sums = source.dataSha256;
  if (!Array.isArray(sums) || sums.length !== source.dataFiles.length) {
    throw new UsageError(
      `${statePath}: settings.source records no checksums for its data files; pass --data with the run's data to resume`,
    );
  }
  source.dataFiles.forEach((f, i) => {
    if (!existsSync(f)) throw new Error(`${f}: missing (the data recorded in ${statePath}); pass --data to resume from another copy`);
    if (sha256File(f) !== sums[i])
      throw new Error(
        `${f}: sha256 differs from the one recorded in ${statePath}: not the data this run trained on (pass --data to use it anyway)`,
      );
  });
  return source;
}

export function run(argv: string[]): Promise<number> {
  return runCommand("train", () => runOrThrow(argv));
}

async function runOrThrow(argv: string[]): Promise<number> {
  const parsed = parseOptions("train", SUMMARY, argv, SPECS);
  if (!parsed) return 0;
  const v = parsed.values;
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
  await applyDevice(deviceFlag(v.device));
  if (v.resume !== undefined) return resumeRun(v);
  if (typeof v.out !== "string") throw new UsageError("--out DIR is required");
  if (v.char === true && typeof v.tokenizer === "string") throw new UsageError("--char and --tokenizer exclude each other");
  const out = resolve(v.out);
  const say = (s: string) => process.stderr.write(`${s}\n`);
  claimRunDir(v.out, v);

  // 1. Data: checked in full before anything is written.
  const dataFiles = typeof v.data === "string" ? listDataFiles(v.data) : [prepareBrownCorpus(join(out, "data", "brown.txt"))];
  if (typeof v.data !== "string") say(`data: the Brown corpus (${dataFiles[0]})`);

  // 2. Model config (the vocabulary size comes from the tokenizer; here only the context matters).
  const modelArg = typeof v.arch === "string" ? v.arch : "gpt-mini";
  const vocabSizeFlag = numberOption(v, "vocab-size", { min: 2, integer: true }) ?? 4096;
  const contextFlag = numberOption(v, "context", { min: 2, integer: true });
  const chars = checkData(dataFiles, contextFlag ?? contextLength(modelConfig(modelArg, 1, undefined)));

  // 3. Tokenizer.
  mkdirSync(out, { recursive: true });
  const tokenizerPath = join(out, "tokenizer.model");
  let sp: SentencePieceProcessor;
  if (typeof v.tokenizer === "string") {
    // A run directory keeps its tokenizer as tokenizer.model, so training takes SentencePiece models only.
    if (!v.tokenizer.endsWith(".model"))
      throw new UsageError(
        `--tokenizer ${v.tokenizer}: train takes a SentencePiece .model (tokenizer.json works with generate, chat, serve, eval, finetune and tokenize)`,
      );
    sp = SentencePieceProcessor.load(v.tokenizer);
    writeBytesAtomic(tokenizerPath, sp.serialize());
  } else if (v.char === true) {
    const proto = charModelProto(chars);
    writeBytesAtomic(tokenizerPath, serializeModelProto(proto));
    sp = SentencePieceProcessor.load(tokenizerPath);
    say(`tokenizer: ${sp.vocabSize} characters (${tokenizerPath})`);
  } else {
    say(`tokenizer: training a SentencePiece BPE model with ${vocabSizeFlag} pieces on the data...`);
    const t0 = performance.now();
    const proto = await trainSentencePiece({ input: dataFiles, modelType: "bpe", vocabSize: vocabSizeFlag, onProgress: () => {} });
    writeBytesAtomic(tokenizerPath, serializeModelProto(proto));
    sp = SentencePieceProcessor.load(tokenizerPath);
    say(`tokenizer: ${sp.vocabSize} pieces in ${((performance.now() - t0) / 1000).toFixed(1)} s (${tokenizerPath})`);
  }

  const config = modelConfig(modelArg, sp.vocabSize, contextFlag);
  const settings = settingsFromFlags(v, { ...DEFAULT_SETTINGS, contextLength: contextFlag ?? contextLength(config) });
  if (settings.contextLength > contextLength(config)) {
    throw new UsageError(`--context ${settings.contextLength} exceeds the model's context of ${contextLength(config)}`);
  }
  manualSeed(settings.seed);
  const model = createModel(config, { seed: settings.seed });
  return trainAndReport({
    out,
    sp,
    tokenizerPath,
    model,
    settings,
    source: dataSource(dataFiles, modelArg),
    say,
    sampleTokens: sampleTokens(v),
    profile: v.profile === true,
  });
}

/**
 * The run or checkpoint --resume continues: `--resume DIR` names it; a bare `--resume` means the
 * run in --out.
 */
function resumeTarget(v: Record<string, unknown>): string {
  if (typeof v.resume === "string" && v.resume !== "") return v.resume;
  if (typeof v.out !== "string")
    throw new UsageError("--resume without a DIR continues the run in --out: give --out DIR (or --resume DIR)");
  return v.out;
}

/** --resume: settings, data and tokenizer come from the checkpoint; flags given now override the settings. */
async function resumeRun(v: Record<string, unknown>): Promise<number> {
  const loaded = loadTrainingCheckpoint(resumeTarget(v));
  const saved = loaded.state.settings as unknown as TrainSettings & { source?: RunSource };
  if (!saved.source || !Array.isArray(saved.source.dataFiles))
    throw new Error(`${loaded.dir}/trainer_state.json: settings.source: missing (the data this run trained on)`);
  const source = resumeData(saved.source, v, join(loaded.dir, "trainer_state.json"));
  const out = resolve(typeof v.out === "string" ? v.out : dirname(loaded.dir));
  const say = (s: string) => process.stderr.write(`${s}\n`);
  const tokenizerPath = join(out, "tokenizer.model");
  const ckptTokenizer = join(loaded.dir, "tokenizer.model");
  if (!existsSync(ckptTokenizer)) throw new Error(`${ckptTokenizer}: missing (the checkpoint's tokenizer)`);
  mkdirSync(out, { recursive: true });
  if (!existsSync(tokenizerPath) || !readFileSync(tokenizerPath).equals(readFileSync(ckptTokenizer)))
    copyFileSync(ckptTokenizer, tokenizerPath);
  const sp = SentencePieceProcessor.load(tokenizerPath);
  const { source: _drop, ...base } = saved;
  const settings = settingsFromFlags(v, base as TrainSettings);
  if (settings.contextLength !== saved.contextLength || settings.batchSize !== saved.batchSize) {
    say("note: --context / --batch-size differ from the checkpoint's; the data order will not match an uninterrupted run");
  }
  const model = modelFromCheckpoint(loaded.checkpoint);
  say(`resuming from ${loaded.dir} at step ${loaded.state.step}`);
  return trainAndReport({
    out,
    sp,
    tokenizerPath,
    model,
    settings,
    source,
    say,
    resume: loaded,
    sampleTokens: sampleTokens(v),
    profile: v.profile === true,
  });
}

interface RunContext {
  out: string;
  sp: SentencePieceProcessor;
  tokenizerPath: string;
  model: CausalLM;
  settings: TrainSettings;
  source: RunSource;
  say: (s: string) => void;
  sampleTokens: number;
  /** --profile: print where each step's time goes. */
  profile: boolean;
  resume?: ReturnType<typeof loadTrainingCheckpoint>;
}

async function trainAndReport(c: RunContext): Promise<number> {
  const { out, sp, settings: s, say } = c;
  // Tokenizing uses every core; the ids do not depend on how many.
  const corpus = loadTokenCorpus(c.source.dataFiles, sp, join(out, "cache"), undefined, { threads: availableParallelism() });
  say(`data: ${corpus.ids.length.toLocaleString("en-US")} tokens${corpus.built ? "" : " (from the cache)"}`);
  const { train: trainIds, val: valIds } = splitCorpus(corpus.ids, 0.1);
  const need = s.contextLength + 1;
  if (trainIds.length < need || valIds.length < need) {
    throw new DataError(
      c.source.dataFiles.join(", "),
      `too short: ${corpus.ids.length} tokens; training needs at least ${need} (context + 1) in each of the train (90%) and validation (10%) parts — use a longer text or a smaller --context`,
    );
  }
  const trainData = new WindowDataset(trainIds, { batchSize: s.batchSize, contextLength: s.contextLength, seed: s.seed });
  const valBatches = fixedWindowBatches(valIds, {
    batchSize: s.batchSize,
    contextLength: s.contextLength,
    seed: s.seed + 1,
    count: s.evalIters,
  });
  const params = c.model.numParameters();
  say(`model: ${describeConfig(c.model.config)}, ${(params / 1e6).toFixed(2)}M parameters`);
  say(
    `training: ${s.steps} steps × ${s.batchSize * s.gradAccum} sequences × ${s.contextLength} tokens, lr ${s.lr} → ${s.minLr}, out ${out}`,
  );
  const progress = new ProgressBar();
  const profiler = c.profile ? new StepProfiler({ print: (line) => progress.log(line) }) : undefined;
  const result = train({
    model: c.model,
    trainData,
    valBatches,
    settings: { ...s, source: c.source } as TrainSettings,
    outDir: out,
    toCheckpoint: (m) => modelToCheckpoint(m as CausalLM),
    tokenizerPath: c.tokenizerPath,
    resume: c.resume,
    progress,
    profiler,
  });
  const lastVal = result.valLosses[result.valLosses.length - 1];
  say(
    `done: step ${result.step}${lastVal ? `, val loss ${lastVal.loss.toFixed(4)} (perplexity ${Math.exp(lastVal.loss).toFixed(2)})` : ""}, ${Math.round(result.tokensPerSecond)} tokens/s`,
  );
  say(`checkpoint: ${join(out, "last")}  log: ${join(out, "log.jsonl")}  curve: ${join(out, "loss_curve.svg")}`);
  await printSample(c, valIds);
  return 0;
}

/** Generates a little text from the start of the validation text, to show what the model learned. */
async function printSample(c: RunContext, valIds: ArrayLike<number>): Promise<void> {
  const n = c.sampleTokens;
  if (n <= 0) return;
  const gen = TextGenerator.fromCheckpoint(modelToCheckpoint(c.model, { tokenizerPath: c.tokenizerPath }), c.sp);
  const prompt = c.sp.decode(Array.from({ length: Math.min(8, valIds.length) }, (_, i) => valIds[i]!));
  const r = await gen.generate(prompt, { maxNewTokens: n, temperature: 0.8, topK: 40, seed: c.settings.seed });
  process.stdout.write(`\n--- sample ---\n${prompt}${r.text}\n`);
}

/**
 * Reads every data file once (UTF-8, not binary, not empty) and returns its characters. Text
 * shorter than one context window is refused here, before anything is written.
 */
function checkData(files: string[], context: number): string[] {
  const seen = new Set<string>();
  let count = 0;
  let lines = 0;
  forEachLine(files, (line) => {
    lines++;
    for (const ch of line) {
      seen.add(ch);
      count++;
    }
  });
  if (lines > 1) seen.add("\n");
  count += lines;
  const chars = [...seen].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  if (count - 1 < context + 1) {
    throw new DataError(
      files.join(", "),
      `too short: ${count - 1} characters, shorter than one context window of ${context} tokens (+1 target); use a longer text or a smaller --context`,
    );
  }
  return chars;
}

function modelConfig(arg: string, vocabSize: number, context: number | undefined): ModelConfig {
  if (presetNames().includes(arg)) return presetConfig(arg, { vocabSize, ...(context !== undefined ? { context } : {}) });
  if (!arg.endsWith(".json")) throw new UsageError(`--arch: '${arg}' is neither a preset (${presetNames().join(", ")}) nor a config.json`);
  if (!existsSync(arg)) throw new UsageError(`--arch: ${arg}: no such file`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(arg, "utf8"));
  } catch (err) {
    throw new Error(`${arg}: invalid JSON (${(err as Error).message})`);
  }
  const config = configFromJSON(json, arg);
  if (config.vocab_size < vocabSize)
    throw new Error(`${arg}: vocab_size ${config.vocab_size} is smaller than the tokenizer's ${vocabSize} pieces`);
  return config;
}

/**
 * A new run needs its own directory: one that already holds files (an earlier run) is refused
 * unless --force, which clears it first (never when an input lies inside it). Mixing two runs
 * would replace last/ and best/, keep the old run's checkpoints and append to its log.
 */
function claimRunDir(dir: string, v: Record<string, unknown>): void {
  if (!existsNonEmpty(dir)) return;
  if (v.force !== true) {
    throw new UsageError(
      `--out ${dir} already holds files (an earlier run?): add --resume ${dir} to continue it, or --force to start over (clears it)`,
    );
  }
  refuseOverInputs(dir, "--out", {
    "--data": v.data as string | undefined,
    "--tokenizer": v.tokenizer as string | undefined,
    "--arch": v.arch as string | undefined,
  });
  rmSync(dir, { recursive: true, force: true });
}

function sampleTokens(v: Record<string, unknown>): number {
  return numberOption(v, "sample-tokens", { min: 0, integer: true }) ?? 200;
}

function settingsFromFlags(v: Record<string, unknown>, base: TrainSettings): TrainSettings {
  const pick = (name: string, key: keyof TrainSettings, opts: { min?: number; integer?: boolean }) => {
    const x = numberOption(v, name, opts);
    return x === undefined ? base[key] : x;
  };
  return {
    ...base,
    steps: pick("steps", "steps", { min: 1, integer: true }),
    batchSize: pick("batch-size", "batchSize", { min: 1, integer: true }),
    contextLength: pick("context", "contextLength", { min: 2, integer: true }),
    lr: pick("lr", "lr", { min: 0 }),
    minLr: pick("min-lr", "minLr", { min: 0 }),
    warmupSteps: pick("warmup-steps", "warmupSteps", { min: 0, integer: true }),
    weightDecay: pick("weight-decay", "weightDecay", { min: 0 }),
    gradClip: pick("grad-clip", "gradClip", { min: 0 }),
    gradAccum: pick("grad-accum", "gradAccum", { min: 1, integer: true }),
    evalEvery: pick("eval-every", "evalEvery", { min: 0, integer: true }),
    evalIters: pick("eval-iters", "evalIters", { min: 1, integer: true }),
    saveEvery: pick("save-every", "saveEvery", { min: 0, integer: true }),
    keepLast: pick("keep-last", "keepLast", { min: 0, integer: true }),
    logEvery: pick("log-every", "logEvery", { min: 1, integer: true }),
    seed: pick("seed", "seed", { min: 0, integer: true }),
  };
}

function describeConfig(c: ModelConfig): string {
  const d = architectureOf(c).dims(c);
  return `${c.model_type}, ${d.layers} layers × ${d.heads} heads × ${d.hidden} dims, context ${d.context}, vocab ${d.vocabSize}`;
}
