// finetune_args.json: what defines a LoRA fine-tuning run (base, data, template, LoRA and training
// settings), written once when the run starts and read back by a resume.
//
// The file is plain JSON beside the checkpoints, so a resume does not take it on trust: each
// checkpoint's trainer_state.json (itself covered by its state_sha256) records the sha256 of
// finetune_args.json as `settings.argsSha256`, and finetune_args.json records the sha256 of the
// data files it names (`dataSha256`). An edited args file, or data that is not what the run
// started on, is refused with an error naming the file. A run written before these checksums
// existed resumes with one warning.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeBytesAtomic } from "../util/atomic_write.js";
import { FormatError, RunDirectoryError } from "../util/errors.js";
import { sha256File } from "./checkpoint.js";
import type { TrainSettings } from "./trainer.js";

export const ARGS_FILE = "finetune_args.json";
/** The settings key (in each checkpoint's trainer_state.json) holding finetune_args.json's sha256. */
export const ARGS_SHA256_KEY = "argsSha256";

/** Everything that defines a fine-tuning run (saved in finetune_args.json for resume). */
export interface FinetuneArgs {
  base: string;
  tokenizer?: string;
  data: string;
  valData?: string;
  /** Share of `data` held out for evaluation when there is no `valData`, in [0, 1). */
  valFraction: number;
  template: string;
  r: number;
  alpha: number;
  dropout: number;
  /** Module names; empty: PEFT's default for the architecture. */
  targets: string[];
  settings: TrainSettings;
}

/** The data files a run reads, by the args field that names them. */
function dataFiles(args: FinetuneArgs): Array<["data" | "valData", string]> {
  return args.valData
    ? [
        ["data", args.data],
        ["valData", args.valData],
      ]
    : [["data", args.data]];
}

/** Writes OUT/finetune_args.json with the sha256 of its data files; returns the file's own sha256. */
export function writeArgs(out: string, args: FinetuneArgs): string {
  const dataSha256 = Object.fromEntries(dataFiles(args).map(([field, path]) => [field, sha256File(path)]));
  const path = join(out, ARGS_FILE);
  writeBytesAtomic(path, `${JSON.stringify({ ...args, dataSha256 }, null, 2)}\n`);
  return sha256File(path);
}

const warned = new Set<string>();

function warnOnce(path: string, what: string): void {
  if (warned.has(path)) return;
  warned.add(path);
  process.stderr.write(`warning: ${path}: ${what} (a run from an older tsgpt); resuming without that check\n`);
}

/**
 * Reads OUT/finetune_args.json for a resume, checked against `recordedSha256` (from the
 * checkpoint's verified trainer_state.json) and its data files against their recorded sha256.
 * Returns the args and the file's sha256 (to record in the next checkpoints).
 */
export function readArgsForResume(out: string, recordedSha256: unknown): { args: FinetuneArgs; sha256: string } {
  const p = join(out, ARGS_FILE);
  if (!existsSync(p)) throw new RunDirectoryError(out, "not-a-run", `${p} not found (not a tsgpt finetune run directory)`);
  const sha256 = sha256File(p);
  if (typeof recordedSha256 === "string") {
    if (recordedSha256 !== sha256)
      throw new FormatError(
        p,
        "sha256",
        `differs from settings.${ARGS_SHA256_KEY} in the checkpoint's trainer_state.json: the file was edited after the run started`,
      );
  } else {
    warnOnce(p, `the checkpoint records no settings.${ARGS_SHA256_KEY}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(p, "utf8"));
  } catch (err) {
    throw new FormatError(p, "JSON", (err as Error).message);
  }
  const { dataSha256, ...rest } = json as Record<string, unknown>;
  const args = checkArgsShape(p, rest);
  checkData(p, args, dataSha256);
  return { args, sha256 };
}

/** Each data file must still be the one the run started on. */
function checkData(p: string, args: FinetuneArgs, recorded: unknown): void {
  if (recorded === undefined) {
    warnOnce(p, "no dataSha256 recorded for the data files");
    return;
  }
  if (recorded === null || typeof recorded !== "object") throw new FormatError(p, "dataSha256", "expected an object of field → sha256");
  for (const [field, path] of dataFiles(args)) {
    const want = (recorded as Record<string, unknown>)[field];
    if (typeof want !== "string") throw new FormatError(p, `dataSha256.${field}`, "missing");
    if (!existsSync(path)) throw new FormatError(path, "file", `missing (the ${field} recorded in ${p})`);
    if (sha256File(path) !== want)
      throw new FormatError(path, "sha256", `differs from dataSha256.${field} in ${p}: not the data this run started on`);
  }
}

/** The fields a run's settings cannot do without; their values are checked where they are used. */
function checkArgsShape(p: string, json: unknown): FinetuneArgs {
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new FormatError(p, "(top level)", "expected an object");
  const o = json as Record<string, unknown>;
  for (const k of ["base", "data", "template"]) {
    if (typeof o[k] !== "string") throw new FormatError(p, k, `expected a string, got ${JSON.stringify(o[k])}`);
  }
  for (const k of ["valFraction", "r", "alpha", "dropout"]) {
    if (typeof o[k] !== "number") throw new FormatError(p, k, `expected a number, got ${JSON.stringify(o[k])}`);
  }
  if (o.valData !== undefined && typeof o.valData !== "string") throw new FormatError(p, "valData", "expected a string");
  if (!Array.isArray(o.targets) || o.targets.some((t) => typeof t !== "string"))
    throw new FormatError(p, "targets", "expected a list of module names");
  if (o.settings === null || typeof o.settings !== "object") throw new FormatError(p, "settings", "expected an object");
  return o as unknown as FinetuneArgs;
}
