// What a model config may hold: the fields of Hugging Face's LlamaConfig / GPT2Config, the
// defaults transformers gives a config.json that leaves one out, and every constraint the model
// code relies on. This is the one place those rules live: reading an HF directory (hf_config.ts)
// and building a model (models/config.ts: createModel, presets, `--model config.json`) both go
// through normalizeModelConfig, so a config is accepted, refused and defaulted the same way.
import type { GPT2Config, LlamaConfig, ModelConfig } from "./types.js";
import { FormatError } from "../util/errors.js";

/**
 * A config problem. It is a FormatError (a config.json is a file like any other), with `source`
 * naming where the config came from: a file path, a preset, or "config" for one built in code.
 */
export class ConfigError extends FormatError {
  constructor(source: string, field: string, message: string) {
    super(source, field, message);
    this.name = "ConfigError";
  }

  /** Where the config came from (the same as `file`). */
  get source(): string {
    return this.file;
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isTokenId(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Typed access to the fields of a JSON config object. A missing or null field takes the
 * fallback, as transformers does with None; anything else of the wrong type is a ConfigError
 * naming the source, the field, what was expected and what was there.
 */
export class JsonFields {
  constructor(readonly source: string, private readonly obj: Json) {}

  /** Fails with "expected …, got …" (by default, got what the field holds). */
  fail(field: string, expected: string, got: unknown = this.obj[field]): never {
    throw new ConfigError(this.source, field, `expected ${expected}, got ${JSON.stringify(got) ?? "nothing"}`);
  }

  /** The value, or undefined when the field is missing or null. */
  private get(field: string): unknown {
    const v = this.obj[field];
    return v === null ? undefined : v;
  }

  positiveInt(field: string, fallback?: number): number {
    const v = this.get(field) ?? fallback;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) this.fail(field, "a positive integer");
    return v;
  }

  positiveNumber(field: string, fallback?: number): number {
    const v = this.get(field) ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) this.fail(field, "a positive number");
    return v;
  }

  bool(field: string, fallback: boolean): boolean {
    return this.optBool(field) ?? fallback;
  }

  optBool(field: string): boolean | undefined {
    const v = this.get(field);
    if (v !== undefined && typeof v !== "boolean") this.fail(field, "true or false");
    return v;
  }

  optNumber(field: string): number | undefined {
    const v = this.get(field);
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v))) this.fail(field, "a number");
    return v;
  }

  /** One of a few strings; `note` follows the list in the message (why those). */
  oneOf(field: string, allowed: readonly string[], fallback: string, note = ""): string {
    const v = this.get(field) ?? fallback;
    if (typeof v !== "string" || !allowed.includes(v)) this.fail(field, allowed.map((a) => JSON.stringify(a)).join(" or ") + note);
    return v;
  }

  optTokenId(field: string): number | undefined {
    const v = this.get(field);
    if (v !== undefined && !isTokenId(v)) this.fail(field, "a token id (non-negative integer)");
    return v;
  }

  /** A token id or a list of them (Llama 3 lists several EOS ids). */
  optTokenIds(field: string): number | number[] | undefined {
    const v = this.get(field);
    if (Array.isArray(v)) {
      if (!v.every(isTokenId)) this.fail(field, "a token id or a list of token ids");
      return v;
    }
    return this.optTokenId(field);
  }
}

const ARCHITECTURES: Record<string, "llama" | "gpt2"> = { LlamaForCausalLM: "llama", GPT2LMHeadModel: "gpt2" };

/** Which model family a config describes: from `architectures` (the class HF builds), else `model_type`. */
function modelFamily(f: JsonFields, json: Json): "llama" | "gpt2" {
  const archs = json.architectures;
  if (archs !== undefined && archs !== null) {
    if (!Array.isArray(archs) || !archs.every((a) => typeof a === "string")) f.fail("architectures", "a list of class names");
    for (const a of archs as string[]) if (ARCHITECTURES[a]) return ARCHITECTURES[a]!;
  }
  const type = json.model_type;
  if (type === "llama" || type === "gpt2") return type;
  const field = archs !== undefined && archs !== null ? "architectures" : "model_type";
  return f.fail(field, 'LlamaForCausalLM or GPT2LMHeadModel (model_type "llama" or "gpt2")', archs ?? type);
}

/** bos / eos / pad ids, present only when given. A list of EOS ids keeps its first. */
function tokenIds(f: JsonFields): Pick<LlamaConfig, "bos_token_id" | "eos_token_id" | "pad_token_id"> {
  const out: Pick<LlamaConfig, "bos_token_id" | "eos_token_id" | "pad_token_id"> = {};
  for (const k of ["bos_token_id", "eos_token_id", "pad_token_id"] as const) {
    const v = f.optTokenIds(k);
    const id = Array.isArray(v) ? v[0] : v;
    if (id !== undefined) out[k] = id;
  }
  return out;
}

/** `a` must divide `b`: attention splits b dimensions (or heads) into a equal groups. */
function checkDivides(f: JsonFields, field: string, a: number, of: string, b: number): void {
  if (b % a !== 0) f.fail(field, `a divisor of ${of} (${b})`, a);
}

// Defaults are those of transformers' LlamaConfig, except the token ids: its bos 1 / eos 2 belong
// to Llama's own vocabulary, so a config without them leaves them to the tokenizer.
function llamaConfig(f: JsonFields): LlamaConfig {
  const heads = f.positiveInt("num_attention_heads");
  const c: LlamaConfig = {
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
    tie_word_embeddings: f.bool("tie_word_embeddings", false),
    ...tokenIds(f),
  };
  checkDivides(f, "num_attention_heads", heads, "hidden_size", c.hidden_size);
  const headSize = c.hidden_size / heads;
  if (headSize % 2 !== 0) {
    throw new ConfigError(f.source, "hidden_size",
      `expected hidden_size / num_attention_heads to be even (rotary embeddings turn pairs of dimensions), got ${c.hidden_size} / ${heads} = ${headSize}`);
  }
  checkDivides(f, "num_key_value_heads", c.num_key_value_heads, "num_attention_heads", heads);
  return c;
}

// Defaults are those of transformers' GPT2Config (which ties lm_head to the token embedding).
// n_inner stays as given: absent or null both mean 4 * n_embd.
function gpt2Config(f: JsonFields, json: Json): GPT2Config {
  const c: GPT2Config = {
    model_type: "gpt2",
    vocab_size: f.positiveInt("vocab_size"),
    n_embd: f.positiveInt("n_embd"),
    n_layer: f.positiveInt("n_layer"),
    n_head: f.positiveInt("n_head"),
    n_positions: f.positiveInt("n_positions", 1024),
    ...(json.n_inner === null ? { n_inner: null } : json.n_inner !== undefined ? { n_inner: f.positiveInt("n_inner") } : {}),
    layer_norm_epsilon: f.positiveNumber("layer_norm_epsilon", 1e-5),
    activation_function: f.oneOf("activation_function", ["gelu_new", "gelu_pytorch_tanh"], "gelu_new", " (the tanh form of GELU)"),
    tie_word_embeddings: f.bool("tie_word_embeddings", true),
    bias: f.bool("bias", true), // tsgpt's extension: false drops every bias, as nanoGPT can
    ...tokenIds(f),
  };
  checkDivides(f, "n_head", c.n_head, "n_embd", c.n_embd);
  if (!c.tie_word_embeddings) f.fail("tie_word_embeddings", "true (tsgpt's GPT-2 uses the token embedding as its lm_head)");
  return c;
}

/**
 * Checks a config object (parsed config.json, or a config built in code) and returns a clean
 * ModelConfig: known fields only, defaults filled in. `source` (a file path, a preset name)
 * starts every error message. Unknown fields are ignored, as transformers does.
 */
export function normalizeModelConfig(obj: unknown, source: string): ModelConfig {
  if (!isObject(obj)) throw new ConfigError(source, "(root)", `expected a JSON object, got ${Array.isArray(obj) ? "a list" : JSON.stringify(obj) ?? "nothing"}`);
  const f = new JsonFields(source, obj);
  return modelFamily(f, obj) === "llama" ? llamaConfig(f) : gpt2Config(f, obj);
}
