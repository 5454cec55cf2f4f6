// One fuzz case: mutate a seed of its format into a case folder, then run it through the loader a
// user would hit (the checkpoint readers with a model built and one forward pass; the tokenizer
// loaders with an encode and a decode), and classify what happened.
//
//   ok         the file loaded (the mutation left it valid, e.g. a changed weight)
//   clean      refused with a clear error: one of the library's error types (not a bare
//              TypeError / RangeError / SyntaxError from deep inside) that names the file
//   bad-error  any other error: a message that names no file, or an internal error escaping
//
// crash (the process died) and hang (no answer within the time limit) are seen by the pool that
// runs the cases in child processes (pool.ts).
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { setBackend, type BackendName } from "../../src/backend/index.js";
import { readSafetensors } from "../../src/formats/safetensors.js";
import { TextGenerator } from "../../src/generate/text_generator.js";
import { loadTokenizer } from "../../src/tokenizer/tokenizer.js";
import { FuzzRng, hashString, mutateBytes, mutateJsonText, mutateSafetensors, type Mutation } from "./mutate.js";
import { SEED_PATH, type FuzzFormat } from "./seeds.js";

export type Outcome = "ok" | "clean" | "bad-error" | "crash" | "hang";

export interface RunResult {
  backend: BackendName | "-";
  outcome: Outcome;
  message?: string;
}

export interface CaseResult {
  format: FuzzFormat;
  index: number;
  mutation: Mutation;
  results: RunResult[];
}

/** Formats whose loaders never touch a compute backend: run once, not once per backend. */
const BACKEND_FREE = new Set<FuzzFormat>(["safetensors", "spm", "tokenizer-json"]);

/** The name every case folder has, so that an error naming any file in it can be recognised. */
export const CASE_DIR = "fuzzcase";

const BUILTIN_ERRORS = new Set(["TypeError", "RangeError", "SyntaxError", "ReferenceError", "EvalError", "URIError", "AggregateError"]);

/** clean, or bad-error, for an error thrown by a loader of a file in the case folder. */
export function classifyError(err: unknown): { outcome: Outcome; message: string } {
  const e = err instanceof Error ? err : new Error(String(err));
  const message = `${e.constructor.name}: ${e.message}`.slice(0, 400);
  const builtin = BUILTIN_ERRORS.has(e.constructor.name);
  const namesFile = e.message.includes(CASE_DIR);
  return { outcome: !builtin && namesFile ? "clean" : "bad-error", message };
}

/**
 * Writes the mutated case for (seed, format, index) into `caseDir`/<format>; returns the path to
 * load. The folder is reused from case to case (files are overwritten, never removed), so a
 * case costs a few small writes.
 */
export function makeCase(
  seedsDir: string,
  caseDir: string,
  seed: number,
  format: FuzzFormat,
  index: number,
): { path: string; mutation: Mutation } {
  const dir = join(caseDir, format);
  mkdirSync(dir, { recursive: true });
  const rng = new FuzzRng(seed, hashString(format), index);
  const src = join(seedsDir, SEED_PATH[format]);
  const out = join(dir, basename(src));
  const bytesOf = (p: string) => new Uint8Array(readFileSync(p));
  const write = (p: string, data: Uint8Array | string) => writeFileSync(p, data);
  switch (format) {
    case "safetensors": {
      const [b, mutation] = mutateSafetensors(bytesOf(src), rng);
      write(out, b);
      return { path: out, mutation };
    }
    case "gguf":
    case "spm": {
      const [b, mutation] = mutateBytes(bytesOf(src), rng);
      write(out, b);
      return { path: out, mutation };
    }
    case "llama2c": {
      const [b, mutation] = mutateBytes(bytesOf(src), rng);
      write(out, b);
      const tok = join(dir, "tokenizer.model");
      if (!existsSync(tok)) copyFileSync(join(seedsDir, "tokenizer-for-bin.model"), tok);
      return { path: out, mutation };
    }
    case "tokenizer-json": {
      if (rng.next() < 0.3) {
        const [b, mutation] = mutateBytes(bytesOf(src), rng);
        write(out, b);
        return { path: out, mutation };
      }
      const [t, mutation] = mutateJsonText(readFileSync(src, "utf8"), rng);
      write(out, t);
      return { path: out, mutation };
    }
    case "hf":
    case "peft": {
      mkdirSync(out, { recursive: true });
      const files = readdirSync(src).sort();
      const file = rng.pick(files);
      for (const f of files) if (f !== file) copyFileSync(join(src, f), join(out, f)); // undo the last case's mutation
      const p = join(src, file);
      const [mutated, mutation] = file.endsWith(".json")
        ? mutateJsonText(readFileSync(p, "utf8"), rng)
        : file.endsWith(".safetensors")
          ? mutateSafetensors(bytesOf(p), rng)
          : mutateBytes(bytesOf(p), rng);
      write(join(out, file), mutated);
      return { path: out, mutation: { kind: `${file}: ${mutation.kind}`, detail: mutation.detail } };
    }
  }
}

const PROMPT = "Once upon a time, 한국어";

/** Loads a checkpoint (with an adapter) as generate / chat / serve do, and runs one forward pass. */
async function loadModel(path: string, adapter?: string): Promise<void> {
  const gen = await TextGenerator.load(path, adapter ? { adapter } : {});
  const m = gen.model;
  // At most the model's context: a config may declare a context of 1, and that is not an error.
  const ids = [gen.tokenizer.bosId >= 0 ? gen.tokenizer.bosId : 0, ...gen.tokenizer.encodeAsIds(PROMPT)].slice(
    0,
    Math.min(8, m.dims.context),
  );
  const cache = m.createCache(1, ids.length);
  m.forward(cache, Int32Array.from(ids), Int32Array.from(ids.keys()), new Uint8Array(ids.length).fill(1), ids.length);
}

/** Runs the loader of `format` on `path` once. */
async function load(format: FuzzFormat, path: string, seedsDir: string): Promise<void> {
  switch (format) {
    case "safetensors":
      readSafetensors(path);
      return;
    case "spm":
    case "tokenizer-json": {
      const tok = loadTokenizer(path);
      tok.decode(tok.encodeAsIds(PROMPT));
      tok.encodeAsPieces(PROMPT);
      return;
    }
    case "hf":
    case "gguf":
    case "llama2c":
      return loadModel(path);
    case "peft":
      return loadModel(join(seedsDir, SEED_PATH.hf), path);
  }
}

/** Loads the unmutated seed of `format`: it must load, or every case of it would mean nothing. */
export async function checkSeed(seedsDir: string, format: FuzzFormat): Promise<void> {
  await load(format, join(seedsDir, SEED_PATH[format]), seedsDir);
}

/** Makes case `index` of `format` and runs it on each backend (once for backend-free formats). */
export async function runCase(
  seedsDir: string,
  workDir: string,
  seed: number,
  format: FuzzFormat,
  index: number,
  backends: readonly BackendName[],
  onMade?: (mutation: Mutation) => void,
): Promise<CaseResult> {
  const { path, mutation } = makeCase(seedsDir, join(workDir, CASE_DIR), seed, format, index);
  onMade?.(mutation); // said before loading, so a crash or a hang can be reported with it
  const results: RunResult[] = [];
  for (const backend of BACKEND_FREE.has(format) ? (["-"] as const) : backends) {
    if (backend !== "-") setBackend(backend);
    try {
      await load(format, path, seedsDir);
      results.push({ backend, outcome: "ok" });
    } catch (err) {
      results.push({ backend, ...classifyError(err) });
    }
  }
  return { format, index, mutation, results };
}
