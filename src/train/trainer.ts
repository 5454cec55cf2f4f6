// The training loop.
//
//   for each step:
//     lr ← schedule(step)                                  (schedule.ts: warmup, cosine)
//     repeat gradAccum times: batch → logits → loss / gradAccum → backward
//     clip the gradients to gradClip (global norm)          (grad_clip.ts)
//     AdamW update, clear the gradients                     (adamw.ts)
//     log; every evalEvery steps: validation loss; every saveEvery steps: checkpoint
//
// The loss is the mean cross-entropy of the next-token targets the batch carries
// (dataset.ts), pads ignored. A NaN or infinite loss or gradient norm stops training with an
// error naming the step, before the update that would spread it into the weights.
//
// Resume is exact: the checkpoint carries the weights, AdamW's moments and step count, the
// global RNG state and the data position; evaluation uses fixed batches and never touches
// the training RNG. So N steps = k steps + resume + (N − k) steps, loss for loss.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { crossEntropy, getRngState, noGrad, setRngState, type Tensor } from "../tensor/index.js";
import type { Checkpoint } from "../formats/types.js";
import type { LoraAdapter } from "../formats/peft.js";
import { AdamW } from "./adamw.js";
import { clipGradNorm } from "./grad_clip.js";
import type { StepPhase, StepProfiler } from "./profile.js";
import { checkSchedule, learningRate } from "./schedule.js";
import { IGNORE_INDEX, type Batch, type BatchSource } from "./dataset.js";
import { saveTrainingCheckpoint, type CheckpointWeights, type LoadedTrainingState } from "./checkpoint.js";
import { TrainLog, type LogRecord } from "./train_log.js";
import { lossCurveSvg } from "./loss_curve.js";
import type { ProgressBar } from "./progress.js";
import { writeBytesAtomic } from "../util/atomic_write.js";
import { nonNegativeInt, numberAtLeast, numberInRange, positiveInt } from "../util/validate.js";

/** What the loop needs from a model (every CausalLM of src/models has it). */
export interface TrainableModel {
  forward(inputIds: Tensor, options?: { attentionMask?: Tensor }): { logits: Tensor };
  namedParameters(): Array<[string, Tensor]>;
  train(mode?: boolean): unknown;
  eval(): unknown;
}

export interface TrainSettings {
  /** Total optimizer steps of the run (the schedule decays to minLr at this step). */
  steps: number;
  batchSize: number;
  contextLength: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** Clip gradients to this global norm; 0 turns clipping off. */
  gradClip: number;
  gradAccum: number;
  /** Evaluate every this many steps (0: only at the end when validation data exists). */
  evalEvery: number;
  evalIters: number;
  /** Save a checkpoint every this many steps (0: only at the end). */
  saveEvery: number;
  keepLast: number;
  /** Print / log a training line every this many steps. */
  logEvery: number;
  seed: number;
}

export const DEFAULT_SETTINGS: TrainSettings = {
  steps: 1000,
  batchSize: 12,
  contextLength: 128,
  lr: 1e-3,
  minLr: 1e-4,
  warmupSteps: 100,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.99,
  gradClip: 1,
  gradAccum: 1,
  evalEvery: 250,
  evalIters: 20,
  saveEvery: 500,
  keepLast: 2,
  logEvery: 10,
  seed: 1337,
};

/** Training stopped because a number went bad; names the step. */
export class TrainingError extends Error {
  constructor(
    readonly step: number,
    message: string,
  ) {
    super(`step ${step}: ${message}`);
    this.name = "TrainingError";
  }
}

export interface TrainOptions {
  model: TrainableModel;
  trainData: BatchSource;
  /** Fixed validation batches (the same every evaluation). */
  valBatches?: Batch[];
  settings: TrainSettings;
  /** Run directory for checkpoints, log.jsonl and loss_curve.svg; none: nothing is written. */
  outDir?: string;
  /** The model's weights and config as a checkpoint (models' modelToCheckpoint): each checkpoint is a model directory. */
  toCheckpoint?: (model: TrainableModel) => Checkpoint;
  /**
   * Instead of toCheckpoint, for LoRA fine-tuning: the adapter, so that each checkpoint is a PEFT
   * adapter directory (the frozen base model is not copied into every checkpoint).
   */
  toAdapter?: (model: TrainableModel) => LoraAdapter;
  /** The SentencePiece .model copied into each model checkpoint. */
  tokenizerPath?: string;
  /** A checkpoint to continue from (its weights must already be in `model`). */
  resume?: LoadedTrainingState;
  /** Stop after this step (save there), although the schedule runs to settings.steps. */
  stopAt?: number;
  progress?: ProgressBar | null;
  /** Called after every step with the step's record. */
  onStep?: (record: StepRecord) => void;
  /** Called after every evaluation. */
  onEval?: (step: number, valLoss: number) => void;
  /** Times each step's phases and kernels and prints where the time went (`train --profile`). */
  profiler?: StepProfiler;
}

export interface StepRecord {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  tokensPerSecond: number;
  msPerStep: number;
}

export interface TrainResult {
  step: number;
  losses: number[];
  valLosses: { step: number; loss: number }[];
  bestValLoss: number | null;
  lastCheckpoint: string | null;
  /** Mean training throughput of this run (target tokens per second, evaluation excluded). */
  tokensPerSecond: number;
}

/** Mean loss (and perplexity) of the model over fixed batches, without gradients. */
export function evaluateLoss(model: TrainableModel, batches: readonly Batch[]): { loss: number; perplexity: number } {
  if (batches.length === 0) throw new RangeError("evaluateLoss: no batches");
  let weighted = 0;
  let tokens = 0;
  model.eval();
  try {
    noGrad(() => {
      for (const b of batches) {
        const loss = batchLoss(model, b).item();
        weighted += loss * b.tokens;
        tokens += b.tokens;
      }
    });
  } finally {
    model.train();
  }
  const loss = weighted / tokens;
  return { loss, perplexity: Math.exp(loss) };
}

/** Mean cross-entropy of a batch's targets under the model (a scalar tensor in the graph). */
export function batchLoss(model: TrainableModel, batch: Batch): Tensor {
  const { logits } = model.forward(batch.inputIds, batch.attentionMask ? { attentionMask: batch.attentionMask } : {});
  const [B, T, V] = logits.shape as [number, number, number];
  // Nothing reads the logits after backward(): their gradient may take their buffer.
  return crossEntropy(logits.reshape(B * T, V), batch.targets.reshape(B * T), { ignoreIndex: IGNORE_INDEX, overwriteLogits: true });
}

export function checkSettings(s: TrainSettings): TrainSettings {
  for (const k of ["steps", "batchSize", "contextLength", "gradAccum", "evalIters", "logEvery"] as const) positiveInt(k, s[k]);
  for (const k of ["warmupSteps", "evalEvery", "saveEvery", "keepLast", "seed"] as const) nonNegativeInt(k, s[k]);
  checkSchedule({ lr: s.lr, minLr: s.minLr, warmupSteps: s.warmupSteps, decaySteps: s.steps });
  numberAtLeast("weightDecay", s.weightDecay, 0);
  numberAtLeast("gradClip", s.gradClip, 0);
  numberInRange("beta1", s.beta1, 0, 1, { includeHigh: false });
  numberInRange("beta2", s.beta2, 0, 1, { includeHigh: false });
  return s;
}

/** Runs (or continues) training; see the file comment. */
export function train(options: TrainOptions): TrainResult {
  const prof = options.profiler;
  if (!prof) return trainLoop(options);
  prof.start(); // kernel calls are timed until the run ends, however it ends
  try {
    return trainLoop(options);
  } finally {
    prof.stop();
  }
}

function trainLoop(options: TrainOptions): TrainResult {
  const s = checkSettings(options.settings);
  const { model, trainData, outDir } = options;
  const named = model.namedParameters();
  const params = named.map(([, p]) => p);
  const opt = new AdamW(named, { lr: s.lr, betas: [s.beta1, s.beta2], weightDecay: s.weightDecay });
  if (outDir) mkdirSync(outDir, { recursive: true });
  const log = outDir ? new TrainLog(join(outDir, "log.jsonl")) : null;
  const history: LogRecord[] = [];

  let step = 0;
  let tokensSeen = 0;
  let bestValLoss: number | null = null;
  let bestStep: number | null = null;
  if (options.resume) {
    const r = options.resume;
    opt.loadState(r.optimizer, r.state.step, join(r.dir, "optimizer.safetensors"));
    setRngState(r.state.rng.global);
    trainData.setState(r.state.data);
    step = r.state.step;
    tokensSeen = r.state.tokensSeen;
    bestValLoss = r.state.bestValLoss;
    bestStep = r.state.bestStep;
    if (log) {
      log.truncateAfter(step);
      history.push(...log.read());
    }
  }
  const lastStep = Math.min(s.steps, options.stopAt ?? s.steps);
  const valLosses: { step: number; loss: number }[] = [];
  const losses: number[] = [];
  let lastCheckpoint: string | null = null;
  let lastEvalStep = -1;

  const record = (r: LogRecord) => {
    history.push(r);
    log?.append(r);
  };
  const evaluate = (): number | null => {
    if (!options.valBatches || options.valBatches.length === 0) return null;
    const { loss, perplexity } = evaluateLoss(model, options.valBatches);
    if (!Number.isFinite(loss)) throw new TrainingError(step, `the validation loss is ${loss}; stopping`);
    valLosses.push({ step, loss });
    lastEvalStep = step;
    record({ type: "eval", step, val_loss: loss, val_ppl: perplexity });
    options.progress?.log(`step ${step}: val loss ${loss.toFixed(4)}, perplexity ${perplexity.toFixed(2)}`);
    options.onEval?.(step, loss);
    return loss;
  };
  const toWeights = checkpointWeights(options);
  const save = (valLoss: number | null) => {
    if (!outDir || !toWeights) return;
    const isBest = valLoss !== null && (bestValLoss === null || valLoss < bestValLoss);
    if (valLoss !== null && isBest) {
      bestValLoss = valLoss;
      bestStep = step;
    }
    lastCheckpoint = saveTrainingCheckpoint(
      outDir,
      toWeights(model),
      opt.stateTensors(),
      {
        step,
        tokensSeen,
        bestValLoss,
        bestStep,
        rng: { global: getRngState() },
        data: trainData.getState(),
        settings: { ...s },
      },
      { keepLast: s.keepLast, isBest },
    );
    options.progress?.log(`step ${step}: saved ${lastCheckpoint}${isBest ? " (best so far)" : ""}`);
  };

  model.train();
  if (step === 0 && s.evalEvery > 0) evaluate();
  let trainSeconds = 0;
  let trainTokens = 0;
  let emaStepSeconds = 0;
  const prof = options.profiler;
  const phase = <T>(name: StepPhase, fn: () => T): T => (prof ? prof.phase(name, fn) : fn());
  while (step < lastStep) {
    prof?.beginStep();
    const t0 = performance.now();
    const lr = learningRate(step, { lr: s.lr, minLr: s.minLr, warmupSteps: s.warmupSteps, decaySteps: s.steps });
    opt.lr = lr;
    let lossSum = 0;
    let tokens = 0;
    for (let micro = 0; micro < s.gradAccum; micro++) {
      const batch = trainData.nextBatch();
      const loss = phase("forward", () => batchLoss(model, batch));
      const value = loss.item();
      if (!Number.isFinite(value)) {
        throw new TrainingError(step + 1, `the training loss is ${value}; stopping before the update (try a lower --lr)`);
      }
      phase("backward", () => (s.gradAccum > 1 ? loss.mul(1 / s.gradAccum) : loss).backward());
      lossSum += value;
      tokens += batch.tokens;
    }
    const gradNorm = phase("clip", () => clipGradNorm(params, s.gradClip));
    if (!Number.isFinite(gradNorm)) {
      throw new TrainingError(step + 1, `the gradient norm is ${gradNorm}; stopping before the update (try a lower --lr or --grad-clip)`);
    }
    phase("optimizer", () => {
      opt.step();
      opt.zeroGrad();
    });
    step++;
    tokensSeen += tokens;
    const seconds = (performance.now() - t0) / 1000;
    trainSeconds += seconds;
    trainTokens += tokens;
    emaStepSeconds = emaStepSeconds === 0 ? seconds : 0.9 * emaStepSeconds + 0.1 * seconds;
    const loss = lossSum / s.gradAccum;
    losses.push(loss);
    prof?.endStep(step, seconds * 1000);
    const rec: StepRecord = { step, loss, lr, gradNorm, tokens, tokensPerSecond: tokens / seconds, msPerStep: seconds * 1000 };
    options.onStep?.(rec);
    if (step % s.logEvery === 0 || step === lastStep) {
      record({
        type: "train",
        step,
        loss,
        lr,
        grad_norm: gradNorm,
        tokens: tokensSeen,
        tokens_per_sec: trainTokens / trainSeconds,
        elapsed_s: trainSeconds,
      });
    }
    options.progress?.update({
      step,
      total: s.steps,
      loss,
      lr,
      tokensPerSecond: trainTokens / trainSeconds,
      etaSeconds: (s.steps - step) * emaStepSeconds,
    });
    const saveNow = step === lastStep || (s.saveEvery > 0 && step % s.saveEvery === 0);
    const evalNow = (s.evalEvery > 0 && step % s.evalEvery === 0) || step === lastStep || (saveNow && outDir !== undefined);
    const valLoss = evalNow && lastEvalStep !== step ? evaluate() : null;
    if (saveNow) save(lastEvalStep === step ? valLosses[valLosses.length - 1]!.loss : valLoss);
  }
  options.progress?.done();
  if (outDir) writeLossCurve(join(outDir, "loss_curve.svg"), history);
  return {
    step,
    losses,
    valLosses,
    bestValLoss,
    lastCheckpoint,
    tokensPerSecond: trainSeconds > 0 ? trainTokens / trainSeconds : 0,
  };
}

/** What each checkpoint stores: the adapter, or the whole model with its tokenizer; null: no checkpoints. */
function checkpointWeights(o: TrainOptions): ((model: TrainableModel) => CheckpointWeights) | null {
  const { toCheckpoint, toAdapter, tokenizerPath } = o;
  if (toCheckpoint && toAdapter) throw new TypeError("train: give toCheckpoint or toAdapter, not both");
  if (toAdapter) return toAdapter;
  if (!toCheckpoint) return null;
  return (model) => {
    const ckpt = toCheckpoint(model);
    if (tokenizerPath) ckpt.tokenizerPath = tokenizerPath;
    return ckpt;
  };
}

/** Writes the SVG loss curve of a run's log records. */
export function writeLossCurve(path: string, records: readonly LogRecord[]): void {
  const train = records.filter((r) => r.type === "train").map((r) => ({ step: r.step, loss: (r as { loss: number }).loss }));
  const val = records.filter((r) => r.type === "eval").map((r) => ({ step: r.step, loss: (r as { val_loss: number }).val_loss }));
  writeBytesAtomic(path, lossCurveSvg(train, val, { title: "Training and validation loss" }));
}
