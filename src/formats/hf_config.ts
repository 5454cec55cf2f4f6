// Hugging Face `config.json` and `generation_config.json`: parsed, validated, and written back.
// Every missing or mistyped field is an error naming the file and the field. Which fields a model
// config has, their defaults and constraints are model_config.ts's, shared with src/models/.
import { readFileSync } from "node:fs";
import type { GenerationDefaults, ModelConfig } from "./types.js";
import { FormatError } from "../util/errors.js";
import { JsonFields, architectureOf, parseModelConfig } from "../arch/index.js";

type Json = Record<string, unknown>;

/** Reads a JSON object from a small file (config files are kilobytes). */
export function readJsonObject(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new FormatError(path, "file", `cannot read (${(err as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new FormatError(path, "JSON", `invalid JSON (${(err as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new FormatError(path, "JSON", "expected a JSON object");
  return value as Json;
}

/** Drops undefined fields so configs compare and serialize cleanly. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** @deprecated Use parseModelConfig(json, path) (src/arch/); kept for one release. */
export function parseHFConfig(path: string, json: Json): ModelConfig {
  return parseModelConfig(json, path);
}

/** Reads and validates a config.json file. */
export function readHFConfig(path: string): ModelConfig {
  return parseModelConfig(readJsonObject(path), path);
}

/** The config.json object tsgpt writes: HF names plus architectures, model_type and torch_dtype. */
export function hfConfigJson(config: ModelConfig, torchDtype: string): Json {
  const arch = architectureOf(config);
  return defined({ architectures: [arch.hfClass], ...config, ...arch.hfConfigExtras(config), torch_dtype: torchDtype });
}

/** Reads generation_config.json into GenerationDefaults (unknown keys are ignored). */
export function readGenerationConfig(path: string): GenerationDefaults {
  const f = new JsonFields(path, readJsonObject(path));
  const g: GenerationDefaults = {
    temperature: f.optNumber("temperature"),
    top_k: f.optNumber("top_k"),
    top_p: f.optNumber("top_p"),
    min_p: f.optNumber("min_p"),
    repetition_penalty: f.optNumber("repetition_penalty"),
    max_new_tokens: f.optNumber("max_new_tokens"),
    do_sample: f.optBool("do_sample"),
    bos_token_id: f.optTokenId("bos_token_id"),
    eos_token_id: f.optTokenIds("eos_token_id"),
    pad_token_id: f.optTokenId("pad_token_id"),
  };
  if (g.top_k !== undefined && (!Number.isInteger(g.top_k) || g.top_k < 0))
    throw new FormatError(path, "top_k", `expected a non-negative integer, got ${g.top_k}`);
  if (g.top_p !== undefined && (g.top_p <= 0 || g.top_p > 1))
    throw new FormatError(path, "top_p", `expected a number in (0, 1], got ${g.top_p}`);
  if (g.temperature !== undefined && g.temperature < 0)
    throw new FormatError(path, "temperature", `expected a non-negative number, got ${g.temperature}`);
  if (g.max_new_tokens !== undefined && (!Number.isInteger(g.max_new_tokens) || g.max_new_tokens < 0)) {
    throw new FormatError(path, "max_new_tokens", `expected a non-negative integer, got ${g.max_new_tokens}`);
  }
  return defined(g);
}
