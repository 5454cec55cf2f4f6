// Hugging Face `config.json` and `generation_config.json` read from disk (the parsing is
// hf_json.ts's, which a browser page uses too). Every missing or mistyped field is an error naming
// the file and the field.
import { readFileSync } from "node:fs";
import type { GenerationDefaults, ModelConfig } from "./types.js";
import { FormatError } from "../util/errors.js";
import { parseModelConfig } from "../arch/index.js";
import { generationConfigFromJson, parseJsonObject, type Json } from "./hf_json.js";

export { hfConfigJson } from "./hf_json.js";

/** Reads a JSON object from a small file (config files are kilobytes). */
export function readJsonObject(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new FormatError(path, "file", `cannot read (${(err as Error).message})`);
  }
  return parseJsonObject(text, path);
}

/** @deprecated Use parseModelConfig(json, path) (src/arch/); kept for one release. */
export function parseHFConfig(path: string, json: Json): ModelConfig {
  return parseModelConfig(json, path);
}

/** Reads and validates a config.json file. */
export function readHFConfig(path: string): ModelConfig {
  return parseModelConfig(readJsonObject(path), path);
}

/** Reads generation_config.json into GenerationDefaults (unknown keys are ignored). */
export function readGenerationConfig(path: string): GenerationDefaults {
  return generationConfigFromJson(readJsonObject(path), path);
}
