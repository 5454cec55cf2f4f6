// `tsgpt finetune`: LoRA fine-tuning on instruction data, saved as a PEFT adapter.
//
//   tsgpt finetune --model stories260K.bin --data train.jsonl --template alpaca --out my-adapter
//   tsgpt finetune --resume my-adapter          (continues exactly where the run stopped)
//   tsgpt finetune --out my-adapter --resume    (the same: bare --resume continues --out)
//
// This file parses the flags and reports errors in their terms; the fine-tuning itself, and
// what the run directory holds, is src/train/finetune.ts.
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { existsNonEmpty, refuseOverInputs } from "./outputs.js";
import { parseOptions, numberOption, UsageError, type OptionSpecs, runCommand } from "./args.js";
import { applyDevice, deviceFlag, deviceOption } from "./device_option.js";
import { getTemplate } from "../generate/templates.js";
import { DEFAULT_SETTINGS, type TrainSettings } from "../train/trainer.js";
import { finetune, type FinetuneArgs, type FinetuneOptions } from "../train/finetune.js";
import { OptionError, RunDirectoryError } from "../util/errors.js";

/** @deprecated import these from the package root or src/train/finetune.ts; kept here for one release. */
export { finetune, type FinetuneArgs, type FinetuneOptions, type FinetuneResult } from "../train/finetune.js";

const SPECS: OptionSpecs = {
  device: deviceOption,
  model: { type: "string", arg: "PATH", help: "base model: Hugging Face directory, llama2.c .bin or GGUF" },
  base: { type: "string", aliasOf: "model", help: "" },
  tokenizer: { type: "string", arg: "PATH", help: "SentencePiece .model or tokenizer.json (default: the one beside the base)" },
  data: { type: "string", arg: "FILE", help: "training data, JSONL: Alpaca {instruction, input, output} or {messages: [...]}" },
  "val-data": { type: "string", arg: "FILE", help: "held-out data (default: --val-fraction of --data)" },
  "val-fraction": { type: "string", arg: "F", help: "share of --data held out when there is no --val-data", default: "0.1" },
  template: { type: "string", arg: "NAME", help: "prompt template: alpaca, llama2 or vicuna", default: "alpaca" },
  "lora-r": { type: "string", arg: "R", help: "LoRA rank", default: "8" },
  "lora-alpha": { type: "string", arg: "A", help: "LoRA alpha (the update is scaled by alpha / r)", default: "16" },
  "lora-dropout": { type: "string", arg: "P", help: "dropout on the LoRA input", default: "0.05" },
  target: {
    type: "string",
    arg: "LIST",
    help: "comma-separated modules (q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj; c_attn,c_proj,c_fc) (default: q_proj,v_proj for Llama, c_attn for GPT-2)",
  },
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
  resume: {
    type: "string",
    arg: "DIR",
    optionalValue: true,
    help: "continue a run from its last checkpoint: bare, the one in --out; with DIR, that run directory",
  },
  force: { type: "boolean", help: "start over in an --out that already holds a run (clears it)" },
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
    steps,
    lr,
    minLr: lr / 10,
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
    base: resolve(need("model")),
    tokenizer: typeof v.tokenizer === "string" ? resolve(v.tokenizer) : undefined,
    data: resolve(need("data")),
    valData: typeof v["val-data"] === "string" ? resolve(v["val-data"]) : undefined,
    valFraction: numberOption(v, "val-fraction", { min: 0, max: 0.9 })!,
    template: need("template"),
    r: numberOption(v, "lora-r", { min: 1, integer: true })!,
    alpha: numberOption(v, "lora-alpha", {})!,
    dropout: numberOption(v, "lora-dropout", { min: 0, max: 0.99 })!,
    targets:
      typeof v.target === "string"
        ? v.target
            .split(",")
            .map((s) => s.trim())
            .filter((s) => s !== "")
        : [],
    settings,
  };
}

export function run(argv: string[]): Promise<number> {
  return runCommand("finetune", async () => {
    const parsed = parseOptions("finetune", SUMMARY, argv, SPECS);
    if (!parsed) return 0;
    const v = parsed.values;
    await applyDevice(deviceFlag(v.device));
    const out = resolve(runDirectory(v));
    if (v.resume !== undefined) {
      finetuneWithFlags({ out, resume: true });
    } else {
      getTemplate(String(v.template)); // fail early on a bad name
      const args = argsFromFlags(v);
      if (v.force === true) clearRunDir(out, args);
      finetuneWithFlags({ args, out });
    }
    return 0;
  });
}

/**
 * The run directory: --out, or the DIR of `--resume DIR` (a bare --resume continues --out). Both
 * naming different directories is an error rather than a guess.
 */
function runDirectory(v: Record<string, unknown>): string {
  const resumeDir = typeof v.resume === "string" && v.resume !== "" ? v.resume : undefined;
  const out = typeof v.out === "string" ? v.out : undefined;
  if (resumeDir && out && resolve(resumeDir) !== resolve(out)) {
    throw new UsageError(`--resume ${resumeDir} and --out ${out} name different run directories; give one of them`);
  }
  const dir = resumeDir ?? out;
  if (dir === undefined) {
    throw new UsageError(
      v.resume !== undefined
        ? "--resume needs the run directory: --resume DIR, or --out DIR"
        : "--out is required (the adapter / run directory)",
    );
  }
  return dir;
}

/** --force: empties the run directory for a new run, unless an input of the run lies inside it. */
function clearRunDir(out: string, args: FinetuneArgs): void {
  if (!existsNonEmpty(out)) return; // nothing to clear
  refuseOverInputs(out, "--out", { "--model": args.base, "--data": args.data, "--val-data": args.valData, "--tokenizer": args.tokenizer });
  rmSync(out, { recursive: true, force: true });
}

/** The FinetuneArgs field each flag sets, where the names differ. */
const FLAG_OF: Record<string, string> = { targets: "--target", valFraction: "--val-fraction", valData: "--val-data" };

/** Runs the library, turning its errors about an option or the run directory into usage errors (exit 2) that speak of flags. */
function finetuneWithFlags(options: FinetuneOptions): void {
  try {
    finetune(options);
  } catch (err) {
    if (err instanceof OptionError) throw new UsageError(`${FLAG_OF[err.option] ?? `--${err.option}`}: ${err.detail}`);
    if (err instanceof RunDirectoryError && err.reason === "occupied") {
      throw new UsageError(
        `${err.dir} already holds a run: pass --resume to continue it, --force to start over (clears it), or choose another --out`,
      );
    }
    if (err instanceof RunDirectoryError) throw new UsageError(`--resume: ${err.message}`);
    throw err;
  }
}
