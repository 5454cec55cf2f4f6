// Hugging Face `config.json` and `generation_config.json`: parsed, validated, and written back.
// Every missing or mistyped field is an error naming the file and the field.
import { readFileSync } from "node:fs";
import type { GPT2Config, GenerationDefaults, LlamaConfig, ModelConfig } from "./types.js";
import { FormatError } from "./errors.js";

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

/** Typed field access that fails with the file and field name. */
class Fields {
  constructor(private readonly path: string, private readonly obj: Json) {}

  private fail(name: string, what: string): never {
    throw new FormatError(this.path, name, `expected ${what}, got ${JSON.stringify(this.obj[name]) ?? "nothing"}`);
  }

  positiveInt(name: string, fallback?: number): number {
    const v = this.obj[name] ?? fallback;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) this.fail(name, "a positive integer");
    return v as number;
  }

  positiveNumber(name: string, fallback?: number): number {
    const v = this.obj[name] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) this.fail(name, "a positive number");
    return v as number;
  }

  optNumber(name: string): number | undefined {
    const v = this.obj[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v)) this.fail(name, "a number");
    return v as number;
  }

  optTokenId(name: string): number | undefined {
    const v = this.obj[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) this.fail(name, "a token id (non-negative integer)");
    return v as number;
  }

  /** A token id or a list of them (Llama 3 lists several EOS ids). */
  optTokenIds(name: string): number | number[] | undefined {
    const v = this.obj[name];
    if (Array.isArray(v)) {
      if (!v.every((x) => typeof x === "number" && Number.isSafeInteger(x) && x >= 0)) this.fail(name, "a token id or a list of token ids");
      return v as number[];
    }
    return this.optTokenId(name);
  }

  optBool(name: string): boolean | undefined {
    const v = this.obj[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") this.fail(name, "true or false");
    return v as boolean;
  }

  optString(name: string): string | undefined {
    const v = this.obj[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") this.fail(name, "a string");
    return v as string;
  }
}

/** Drops undefined fields so configs compare and serialize cleanly. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const ARCHITECTURES: Record<string, "llama" | "gpt2"> = { LlamaForCausalLM: "llama", GPT2LMHeadModel: "gpt2" };

/** Which model family a config.json describes, from `architectures` or else `model_type`. */
function modelType(path: string, json: Json): "llama" | "gpt2" {
  const archs = json.architectures;
  if (archs !== undefined && archs !== null) {
    if (!Array.isArray(archs) || !archs.every((a) => typeof a === "string")) {
      throw new FormatError(path, "architectures", `expected a list of class names, got ${JSON.stringify(archs)}`);
    }
    for (const a of archs as string[]) if (ARCHITECTURES[a]) return ARCHITECTURES[a]!;
  }
  const mt = json.model_type;
  if (mt === "llama" || mt === "gpt2") return mt;
  throw new FormatError(path, "architectures",
    `unsupported model ${JSON.stringify(archs ?? mt)} (tsgpt reads LlamaForCausalLM and GPT2LMHeadModel, model_type "llama" or "gpt2")`);
}

/** Parses a config.json object (already read from `path`) into a validated ModelConfig. */
export function parseHFConfig(path: string, json: Json): ModelConfig {
  const f = new Fields(path, json);
  if (modelType(path, json) === "llama") {
    const heads = f.positiveInt("num_attention_heads");
    const cfg: LlamaConfig = {
      model_type: "llama",
      vocab_size: f.positiveInt("vocab_size"),
      hidden_size: f.positiveInt("hidden_size"),
      intermediate_size: f.positiveInt("intermediate_size"),
      num_hidden_layers: f.positiveInt("num_hidden_layers"),
      num_attention_heads: heads,
      num_key_value_heads: f.positiveInt("num_key_value_heads", heads),
      max_position_embeddings: f.positiveInt("max_position_embeddings", 2048),
      rms_norm_eps: f.positiveNumber("rms_norm_eps", 1e-6),
      rope_theta: f.positiveNumber("rope_theta", 10000),
      tie_word_embeddings: f.optBool("tie_word_embeddings") ?? false,
      bos_token_id: f.optTokenId("bos_token_id"),
      eos_token_id: firstId(f.optTokenIds("eos_token_id")),
      pad_token_id: f.optTokenId("pad_token_id"),
    };
    if (cfg.hidden_size % heads !== 0) throw new FormatError(path, "num_attention_heads", `${heads} does not divide hidden_size ${cfg.hidden_size}`);
    if (heads % cfg.num_key_value_heads !== 0) throw new FormatError(path, "num_key_value_heads", `${cfg.num_key_value_heads} does not divide num_attention_heads ${heads}`);
    return defined(cfg);
  }
  const nInner = json.n_inner === null ? null : json.n_inner === undefined ? undefined : f.positiveInt("n_inner");
  const cfg: GPT2Config = {
    model_type: "gpt2",
    vocab_size: f.positiveInt("vocab_size"),
    n_embd: f.positiveInt("n_embd"),
    n_layer: f.positiveInt("n_layer"),
    n_head: f.positiveInt("n_head"),
    n_positions: f.positiveInt("n_positions"),
    n_inner: nInner,
    layer_norm_epsilon: f.positiveNumber("layer_norm_epsilon", 1e-5),
    activation_function: f.optString("activation_function"),
    tie_word_embeddings: f.optBool("tie_word_embeddings"),
    bias: f.optBool("bias"),
    bos_token_id: f.optTokenId("bos_token_id"),
    eos_token_id: firstId(f.optTokenIds("eos_token_id")),
    pad_token_id: f.optTokenId("pad_token_id"),
  };
  if (cfg.n_embd % cfg.n_head !== 0) throw new FormatError(path, "n_head", `${cfg.n_head} does not divide n_embd ${cfg.n_embd}`);
  return defined(cfg);
}

function firstId(v: number | number[] | undefined): number | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Reads and validates a config.json file. */
export function readHFConfig(path: string): ModelConfig {
  return parseHFConfig(path, readJsonObject(path));
}

/** The config.json object tsgpt writes: HF names plus architectures, model_type and torch_dtype. */
export function hfConfigJson(config: ModelConfig, torchDtype: string): Json {
  const arch = config.model_type === "llama" ? "LlamaForCausalLM" : "GPT2LMHeadModel";
  const extra = config.model_type === "llama" ? { hidden_act: "silu" } : {};
  return defined({ architectures: [arch], ...config, ...extra, torch_dtype: torchDtype });
}

/** Reads generation_config.json into GenerationDefaults (unknown keys are ignored). */
export function readGenerationConfig(path: string): GenerationDefaults {
  const f = new Fields(path, readJsonObject(path));
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
  if (g.top_k !== undefined && (!Number.isInteger(g.top_k) || g.top_k < 0)) throw new FormatError(path, "top_k", `expected a non-negative integer, got ${g.top_k}`);
  if (g.top_p !== undefined && (g.top_p <= 0 || g.top_p > 1)) throw new FormatError(path, "top_p", `expected a number in (0, 1], got ${g.top_p}`);
  if (g.temperature !== undefined && g.temperature < 0) throw new FormatError(path, "temperature", `expected a non-negative number, got ${g.temperature}`);
  if (g.max_new_tokens !== undefined && (!Number.isInteger(g.max_new_tokens) || g.max_new_tokens < 0)) {
    throw new FormatError(path, "max_new_tokens", `expected a non-negative integer, got ${g.max_new_tokens}`);
  }
  return defined(g);
}
