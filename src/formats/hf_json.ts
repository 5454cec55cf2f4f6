// The JSON files of a Hugging Face checkpoint directory (config.json, generation_config.json,
// model.safetensors.index.json) parsed from their text, validated, and written back. Imports no
// Node module: a browser page parses the files the user picked through here; hf_config.ts reads
// them from disk. Every missing or mistyped field is an error naming the file and the field. Which
// fields a model config has, their defaults and constraints are the architectures' (src/arch/).
import type { GenerationDefaults, ModelConfig } from "./types.js";
import { FormatError } from "../util/errors.js";
import { JsonFields, architectureOf } from "../arch/index.js";

export type Json = Record<string, unknown>;

/** A JSON object from a file's text; `path` names the file in errors. */
export function parseJsonObject(text: string, path: string): Json {
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

/** The config.json object tsgpt writes: HF names plus architectures, model_type and torch_dtype. */
export function hfConfigJson(config: ModelConfig, torchDtype: string): Json {
  const arch = architectureOf(config);
  return defined({ architectures: [arch.hfClass], ...config, ...arch.hfConfigExtras(config), torch_dtype: torchDtype });
}

/** GenerationDefaults from a parsed generation_config.json (unknown keys are ignored). */
export function generationConfigFromJson(json: Json, path: string): GenerationDefaults {
  const f = new JsonFields(path, json);
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
