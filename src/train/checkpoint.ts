// Training checkpoints: a Hugging Face model directory (or, for LoRA fine-tuning, a PEFT
// adapter directory) plus what an exact resume needs.
//
//   OUT/checkpoint-STEP/
//     config.json, model.safetensors, generation_config.json, tokenizer.model   (formats/hf.ts)
//       or, for an adapter: adapter_config.json, adapter_model.safetensors     (formats/peft.ts)
//     optimizer.safetensors   AdamW moments: "<param>.exp_avg", "<param>.exp_avg_sq"
//     trainer_state.json      step, RNG states, data position, best validation loss, the run's
//                             settings, and the sha256 of every other file (written last);
//                             its last field, state_sha256, is the sha256 of the file's own bytes
//                             without that field, so an edited state (say, settings that point
//                             at other data) is refused instead of trusted
//   OUT/last/, OUT/best/      the newest and the lowest-validation-loss checkpoints (hard links
//                             to the same files, or copies where links are not possible)
//
// Saving is atomic at the directory level: everything is written (and fsynced) into
// OUT/.tmp-XXXX, which is then renamed to its final name. A process killed at any moment
// leaves every directory with a real name complete: either the old one or the new one.
// Replacing a directory takes two renames (old → .trash-XXXX, new → name); if a kill falls
// between them the name is briefly missing, and `latestCheckpoint` falls back to the newest
// checkpoint-STEP that verifies. Leftover .tmp-/.trash- directories are removed on the next save.
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import { FormatError } from "../util/errors.js";
import { readHFCheckpoint, saveHFCheckpoint } from "../formats/hf.js";
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, readAdapter, writeAdapter, type LoraAdapter } from "../formats/peft.js";
import { readSafetensors, writeSafetensors } from "../formats/safetensors.js";
import { syncDirectory, writeBytesAtomic } from "../util/atomic_write.js";
import type { Checkpoint } from "../formats/types.js";
import type { RngState } from "../tensor/index.js";
import type { DatasetState } from "./dataset.js";

export const TRAINER_STATE_FILE = "trainer_state.json";
export const OPTIMIZER_FILE = "optimizer.safetensors";
const STATE_FORMAT = "tsgpt-trainer-state";
const STATE_VERSION = 1;
/** The checksum field: the last line of trainer_state.json. */
export const STATE_SHA256_FIELD = "state_sha256";

/** Everything besides tensors that a resume restores. */
export interface TrainerState {
  /** Optimizer updates done. */
  step: number;
  /** Target tokens trained on so far. */
  tokensSeen: number;
  bestValLoss: number | null;
  bestStep: number | null;
  rng: { global: RngState };
  data: DatasetState;
  /** The run's settings (so `--resume` continues with the same ones). */
  settings: Record<string, unknown>;
}

interface StateFile extends TrainerState {
  format: typeof STATE_FORMAT;
  version: number;
  /** sha256 of every other file of the directory. */
  files: Record<string, string>;
}

/** What a checkpoint holds besides the training state: a whole model, or a LoRA adapter (the base stays where it was). */
export type CheckpointWeights = Checkpoint | LoraAdapter;

function isAdapter(weights: CheckpointWeights): weights is LoraAdapter {
  return "layers" in weights;
}

/** The files that hold the weights, by kind: what verifyCheckpoint requires. */
const MODEL_FILES = ["config.json", "model.safetensors"];
const ADAPTER_FILES = [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE];

export interface SaveOptions {
  /** Keep this many checkpoint-STEP directories (oldest pruned); 0 keeps all. */
  keepLast?: number;
  /** Also publish this checkpoint as OUT/best. */
  isBest?: boolean;
}

/**
 * Saves OUT/checkpoint-STEP atomically, updates OUT/last (and OUT/best), prunes old ones.
 * `weights` is written as a Hugging Face model directory, or as a PEFT adapter directory when it
 * is a LoraAdapter. Returns the directory.
 */
export function saveTrainingCheckpoint(
  outDir: string,
  weights: CheckpointWeights,
  optimizer: Map<string, { shape: number[]; data: Float32Array }>,
  state: TrainerState,
  options: SaveOptions = {},
): string {
  mkdirSync(outDir, { recursive: true });
  removeLeftovers(outDir);
  const tmp = join(outDir, `.tmp-${randomBytes(6).toString("hex")}`);
  mkdirSync(tmp);
  try {
    if (isAdapter(weights)) writeAdapter(tmp, weights);
    else saveHFCheckpoint(tmp, weights);
    writeSafetensors(
      join(tmp, OPTIMIZER_FILE),
      [...optimizer].map(([name, t]) => [name, { dtype: "F32", shape: t.shape, data: t.data }] as const),
      {
        format: "pt",
        step: String(state.step),
      },
    );
    const files: Record<string, string> = {};
    for (const name of readdirSync(tmp).sort()) {
      if (name.startsWith(".")) continue; // a writer's own temporary file
      files[name] = sha256File(join(tmp, name));
    }
    const body: StateFile = { format: STATE_FORMAT, version: STATE_VERSION, ...state, files };
    writeBytesAtomic(join(tmp, TRAINER_STATE_FILE), withStateChecksum(stateJson(body)));
    syncDirectory(tmp);
    const final = join(outDir, `checkpoint-${state.step}`);
    replaceDir(outDir, tmp, final);
    publish(outDir, final, "last");
    if (options.isBest) publish(outDir, final, "best");
    prune(outDir, options.keepLast ?? 0);
    return final;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** One top-level field per line; values (such as the 624-word RNG state) stay on their line. */
function stateJson(body: StateFile): string {
  const lines = Object.entries(body).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return `{\n${lines.join(",\n")}\n}\n`;
}

/**
 * The state text with its checksum as the last field: the sha256 of the text without it. The
 * checksum covers bytes, not parsed values, so any writer (this one, python/tsgpt_torch) that
 * puts the field last in the same way produces a file every reader can check.
 */
export function withStateChecksum(text: string): string {
  const sum = createHash("sha256").update(text, "utf8").digest("hex");
  return `${text.slice(0, -"\n}\n".length)},\n  ${JSON.stringify(STATE_SHA256_FIELD)}: "${sum}"\n}\n`;
}

const CHECKSUM_TAIL = new RegExp(`,\\n  "${STATE_SHA256_FIELD}": "([0-9a-f]{64})"\\n\\}\\n$`);

/** Paths already warned about, so that an old run's missing checksum is said once. */
const warnedUnchecked = new Set<string>();

/**
 * Checks state_sha256 against the file's bytes. A file without the field (written before it
 * existed) is accepted with one warning; a field that is there but does not match, or is not the
 * last line as written, means the state was edited: refused, naming the file and the field.
 */
function checkStateChecksum(statePath: string, text: string, parsed: Record<string, unknown>): void {
  if (!(STATE_SHA256_FIELD in parsed)) {
    if (!warnedUnchecked.has(statePath)) {
      warnedUnchecked.add(statePath);
      process.stderr.write(
        `warning: ${statePath} has no ${STATE_SHA256_FIELD} (written by an older tsgpt): its fields cannot be checked; the next checkpoint will have it\n`,
      );
    }
    return;
  }
  const tail = CHECKSUM_TAIL.exec(text);
  if (!tail) throw new FormatError(statePath, STATE_SHA256_FIELD, "expected as the last field, as tsgpt writes it: the file was edited");
  const body = `${text.slice(0, tail.index)}\n}\n`;
  const sum = createHash("sha256").update(body, "utf8").digest("hex");
  if (sum !== tail[1]) {
    throw new FormatError(
      statePath,
      STATE_SHA256_FIELD,
      "does not match the file's contents: trainer_state.json was edited or damaged after saving (it is not trusted)",
    );
  }
}

/** The checkpoint-STEP directories of a run, oldest first. */
export function listCheckpoints(outDir: string): { step: number; dir: string }[] {
  if (!existsSync(outDir)) return [];
  return readdirSync(outDir)
    .map((n) => /^checkpoint-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ step: Number(m[1]), dir: join(outDir, m[0]) }))
    .sort((a, b) => a.step - b.step);
}

/**
 * The directory to resume from: `path` itself when it is a checkpoint (has trainer_state.json),
 * else, for a run directory, OUT/last, or the newest checkpoint-STEP when OUT/last is missing
 * (a process killed between the two renames of a save). The directory is verified: a damaged
 * one is an error naming the file, never silently skipped.
 */
export function latestCheckpoint(path: string): string {
  if (existsSync(join(path, TRAINER_STATE_FILE))) return path;
  const last = join(path, "last");
  const newest = listCheckpoints(path).at(-1)?.dir;
  const dir = existsSync(last) ? last : newest;
  if (!dir)
    throw new FormatError(
      path,
      TRAINER_STATE_FILE,
      "not a training checkpoint (no trainer_state.json) and no last/ or checkpoint-STEP/ directory inside",
    );
  verifyCheckpoint(dir);
  return dir;
}

/** Reads trainer_state.json and checks every file it lists against its sha256. Throws FormatError naming the file. */
export function verifyCheckpoint(dir: string): TrainerState & { files: Record<string, string> } {
  const statePath = join(dir, TRAINER_STATE_FILE);
  if (!existsSync(statePath)) throw new FormatError(statePath, "file", "missing: a training checkpoint needs trainer_state.json");
  let parsed: unknown;
  const text = readFileSync(statePath, "utf8");
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new FormatError(statePath, "JSON", `corrupted: ${(err as Error).message}`);
  }
  const s = parsed as Partial<StateFile>;
  if (typeof s !== "object" || s === null || s.format !== STATE_FORMAT)
    throw new FormatError(statePath, "format", `expected "${STATE_FORMAT}"`);
  checkStateChecksum(statePath, text, s as Record<string, unknown>);
  if (s.version !== STATE_VERSION)
    throw new FormatError(statePath, "version", `expected ${STATE_VERSION}, got ${JSON.stringify(s.version)}`);
  if (!Number.isSafeInteger(s.step) || (s.step as number) < 0)
    throw new FormatError(statePath, "step", `expected a non-negative integer, got ${JSON.stringify(s.step)}`);
  if (typeof s.files !== "object" || s.files === null)
    throw new FormatError(statePath, "files", "expected an object of file name → sha256");
  if (!s.rng || !s.data || typeof s.settings !== "object") throw new FormatError(statePath, "rng/data/settings", "missing");
  const weightFiles = ADAPTER_CONFIG_FILE in s.files ? ADAPTER_FILES : MODEL_FILES;
  for (const required of [...weightFiles, OPTIMIZER_FILE]) {
    if (!(required in s.files)) throw new FormatError(statePath, "files", `does not list ${required}`);
  }
  for (const [name, sum] of Object.entries(s.files)) {
    const p = join(dir, name);
    if (name.includes("/") || name.includes("\\") || name.startsWith("."))
      throw new FormatError(statePath, `files.${name}`, "not a plain file name");
    if (!existsSync(p)) throw new FormatError(p, "file", "missing (listed in trainer_state.json)");
    if (sha256File(p) !== sum) throw new FormatError(p, "sha256", "checksum mismatch: the file is corrupted or was changed after saving");
  }
  const { [STATE_SHA256_FIELD]: _sum, ...state } = s as StateFile & { [STATE_SHA256_FIELD]?: string };
  return state as StateFile;
}

/** What the training loop restores on resume, whatever the weights are. */
export interface LoadedTrainingState {
  dir: string;
  optimizer: Map<string, { shape: number[]; data: Float32Array }>;
  state: TrainerState;
}

/** A `tsgpt train` checkpoint: the whole model. */
export interface LoadedTrainingCheckpoint extends LoadedTrainingState {
  checkpoint: Checkpoint;
}

/** A LoRA fine-tuning checkpoint: the adapter (the base model is not in it). */
export interface LoadedAdapterCheckpoint extends LoadedTrainingState {
  adapter: LoraAdapter;
}

/** Verifies and reads a model training checkpoint (a checkpoint directory or a run directory, see latestCheckpoint). */
export function loadTrainingCheckpoint(path: string): LoadedTrainingCheckpoint {
  const loaded = loadTrainingState(path);
  if (isAdapterCheckpoint(loaded.dir)) {
    throw new FormatError(
      loaded.dir,
      ADAPTER_CONFIG_FILE,
      "this is a LoRA fine-tuning checkpoint (an adapter, not a whole model): resume it with `tsgpt finetune --resume`",
    );
  }
  return { ...loaded, checkpoint: readHFCheckpoint(loaded.dir) };
}

/** Verifies and reads a LoRA fine-tuning checkpoint (a checkpoint directory or a run directory). */
export function loadAdapterCheckpoint(path: string): LoadedAdapterCheckpoint {
  const loaded = loadTrainingState(path);
  if (!isAdapterCheckpoint(loaded.dir)) {
    throw new FormatError(
      loaded.dir,
      ADAPTER_CONFIG_FILE,
      "missing: this is a whole-model training checkpoint, not a LoRA fine-tuning one",
    );
  }
  return { ...loaded, adapter: readAdapter(loaded.dir) };
}

function isAdapterCheckpoint(dir: string): boolean {
  return existsSync(join(dir, ADAPTER_CONFIG_FILE));
}

/** The verified directory, its trainer state and optimizer moments. */
function loadTrainingState(path: string): LoadedTrainingState {
  const dir = latestCheckpoint(path);
  const state = verifyCheckpoint(dir);
  const optPath = join(dir, OPTIMIZER_FILE);
  const { tensors } = readSafetensors(optPath);
  const optimizer = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of tensors) {
    if (t.dtype !== "F32") throw new FormatError(optPath, name, `expected F32, got ${t.dtype}`);
    optimizer.set(name, { shape: t.shape, data: t.data as Float32Array });
  }
  return { dir, optimizer, state };
}

/** Hex sha256 of a file, read in chunks. */
export function sha256File(path: string): string {
  const hash = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    const buf = new Uint8Array(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/** Puts `src` (a finished directory) at `dest`, replacing what was there. */
function replaceDir(outDir: string, src: string, dest: string): void {
  let trash: string | null = null;
  if (existsSync(dest)) {
    trash = join(outDir, `.trash-${randomBytes(6).toString("hex")}`);
    renameSync(dest, trash);
  }
  renameSync(src, dest);
  syncDirectory(outDir);
  if (trash) rmSync(trash, { recursive: true, force: true });
}

/** Makes OUT/<name> a copy of `checkpointDir` (hard links: no extra disk, files are never modified in place). */
function publish(outDir: string, checkpointDir: string, name: string): void {
  const tmp = join(outDir, `.tmp-${randomBytes(6).toString("hex")}`);
  mkdirSync(tmp);
  try {
    for (const f of readdirSync(checkpointDir)) {
      const from = join(checkpointDir, f);
      const to = join(tmp, f);
      try {
        linkSync(from, to);
      } catch {
        copyFileSync(from, to);
        fsyncFile(to);
      }
    }
    syncDirectory(tmp);
    replaceDir(outDir, tmp, join(outDir, name));
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

function prune(outDir: string, keepLast: number): void {
  if (keepLast <= 0) return;
  const all = listCheckpoints(outDir);
  for (const c of all.slice(0, Math.max(0, all.length - keepLast))) {
    // Rename first so a kill mid-delete never leaves a half-deleted checkpoint under its name.
    const trash = join(outDir, `.trash-${randomBytes(6).toString("hex")}`);
    renameSync(c.dir, trash);
    rmSync(trash, { recursive: true, force: true });
  }
}

/** Removes .tmp- and .trash- directories left by a process killed during a save. */
function removeLeftovers(outDir: string): void {
  for (const n of readdirSync(outDir)) {
    if (n.startsWith(".tmp-") || n.startsWith(".trash-")) rmSync(join(outDir, n), { recursive: true, force: true });
  }
}

function fsyncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** True when `dir` holds a training checkpoint (trainer_state.json). */
export function isTrainingCheckpoint(dir: string): boolean {
  try {
    return statSync(dir).isDirectory() && existsSync(join(dir, TRAINER_STATE_FILE));
  } catch {
    return false;
  }
}
