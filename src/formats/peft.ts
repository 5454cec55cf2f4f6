// LoRA adapters as PEFT directories: what `PeftModel.from_pretrained` reads and
// `model.save_pretrained` writes for a LoRA adapter.
//
//   adapter_config.json         peft_type "LORA", r, lora_alpha, lora_dropout, target_modules, …
//   adapter_model.safetensors   two tensors per adapted layer:
//     base_model.model.<module>.lora_A.weight   (r, in)
//     base_model.model.<module>.lora_B.weight   (out, r)
//   e.g. <module> = model.layers.3.self_attn.q_proj (Llama) or transformer.h.3.attn.c_attn (GPT-2)
//
// The update a layer gets is ΔW = scaling · B·A, an (out, in) matrix, with scaling = lora_alpha / r
// (lora_alpha / √r when use_rslora). GPT-2's Conv1D layers store their weight (in, out) on disk;
// PEFT marks them with fan_in_fan_out = true but keeps A (r, in) and B (out, r) all the same and
// transposes ΔW when it merges. Inside tsgpt every linear weight is (out, in) (formats/hf.ts
// transposes Conv1D weights on load), so ΔW applies as it is, for both architectures.
//
// This file is pure data: reading, writing and merging into a Checkpoint's tensors. The
// trainable layer is nn/lora.ts.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Checkpoint, StoredTensor } from "./types.js";
import { FormatError } from "../util/errors.js";
import { readSafetensors, writeSafetensors } from "./safetensors.js";
import { readJsonObject } from "./hf_config.js";
import { toFloat32 } from "./dtypes.js";
import { writeBytesAtomic } from "../util/atomic_write.js";
import { ARCHITECTURES, type ModelConfig } from "../arch/index.js";

export const ADAPTER_CONFIG_FILE = "adapter_config.json";
export const ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors";
/** The prefix PEFT's PeftModelForCausalLM puts before the base model's own module names. */
export const PEFT_PREFIX = "base_model.model.";

/** PEFT's default target modules for the architectures tsgpt has (peft/utils/constants.py). */
export const DEFAULT_TARGET_MODULES = Object.fromEntries(ARCHITECTURES.map((a) => [a.modelType, [...a.lora.defaults]])) as Record<
  ModelConfig["model_type"],
  string[]
>;

/** The linear layers LoRA may adapt, per architecture (their last name component). */
export const LORA_TARGETABLE = Object.fromEntries(ARCHITECTURES.map((a) => [a.modelType, [...a.lora.targetable]])) as Record<
  ModelConfig["model_type"],
  string[]
>;

/** adapter_config.json, with the fields tsgpt uses in camelCase (the file keeps PEFT's snake_case). */
export interface LoraConfig {
  r: number;
  loraAlpha: number;
  loraDropout: number;
  /** Module names (matched as a name or a dotted suffix), or one regular expression matched against the full name. */
  targetModules: string[] | string;
  baseModelNameOrPath: string | null;
  /** True for GPT-2's Conv1D layers (their weight is stored (in, out)); it does not change A and B. */
  fanInFanOut: boolean;
  inferenceMode: boolean;
  /** scaling = lora_alpha / √r instead of lora_alpha / r. */
  useRslora: boolean;
  /** Per-module ranks and alphas (keys are regular expressions matched at the end of module names). */
  rankPattern: Record<string, number>;
  alphaPattern: Record<string, number>;
  /** Every other key of the file, kept as read so that a rewrite loses nothing. */
  extra: Record<string, unknown>;
}

/** A float32 matrix (adapter factors are always converted to float32 when read). */
export interface F32Tensor {
  shape: number[];
  data: Float32Array;
}

/** One adapted layer: A (r, in) and B (out, r), float32. */
export interface LoraLayerWeights {
  a: F32Tensor;
  b: F32Tensor;
}

/** A LoRA adapter: its config and its layers by module name (without PEFT's prefix). */
export interface LoraAdapter {
  config: LoraConfig;
  layers: Map<string, LoraLayerWeights>;
  /** Where it was read from, for messages. */
  source?: string;
}

/** A LoraConfig with PEFT's defaults for what is not given. */
export function loraConfig(options: Partial<LoraConfig> & { r: number }): LoraConfig {
  return {
    loraAlpha: 8,
    loraDropout: 0,
    targetModules: ["q_proj", "v_proj"],
    baseModelNameOrPath: null,
    fanInFanOut: false,
    inferenceMode: true,
    useRslora: false,
    rankPattern: {},
    alphaPattern: {},
    extra: {},
    ...options,
  };
}

// ---------------------------------------------------------------------------------------
// Which modules, which rank, which scaling (PEFT's matching rules)
// ---------------------------------------------------------------------------------------

/**
 * Whether `moduleName` (e.g. "model.layers.0.self_attn.q_proj") is a LoRA target: a list entry
 * equal to the name or to its last dotted components; a string is a regular expression that
 * must match the whole name (PEFT's check_target_module_exists).
 */
export function isTargetModule(targets: string[] | string, moduleName: string): boolean {
  if (typeof targets === "string") return new RegExp(`^(?:${targets})$`).test(moduleName);
  return targets.some((t) => moduleName === t || moduleName.endsWith(`.${t}`));
}

/** The first key of a rank/alpha pattern that matches the end of `moduleName` (PEFT's get_pattern_key). */
function patternValue(pattern: Record<string, number>, moduleName: string): number | undefined {
  for (const [key, value] of Object.entries(pattern)) {
    if (new RegExp(`^(?:.*\\.)?(?:${key})$`).test(moduleName)) return value;
  }
  return undefined;
}

/** The rank of one module under `config` (rank_pattern, else r). */
export function rankFor(config: LoraConfig, moduleName: string): number {
  return patternValue(config.rankPattern, moduleName) ?? config.r;
}

/** The factor ΔW = scaling · B·A uses for one module: alpha / r, or alpha / √r with use_rslora. */
export function scalingFor(config: LoraConfig, moduleName: string): number {
  const r = rankFor(config, moduleName);
  const alpha = patternValue(config.alphaPattern, moduleName) ?? config.loraAlpha;
  return config.useRslora ? alpha / Math.sqrt(r) : alpha / r;
}

// ---------------------------------------------------------------------------------------
// adapter_config.json
// ---------------------------------------------------------------------------------------

/** The JSON object PEFT writes for a LoRA adapter (every key LoraConfig has, PEFT's names). */
export function adapterConfigJson(config: LoraConfig): Record<string, unknown> {
  return {
    ...config.extra,
    alpha_pattern: config.alphaPattern,
    auto_mapping: null,
    base_model_name_or_path: config.baseModelNameOrPath,
    bias: "none",
    fan_in_fan_out: config.fanInFanOut,
    inference_mode: config.inferenceMode,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: config.loraAlpha,
    lora_dropout: config.loraDropout,
    modules_to_save: null,
    peft_type: "LORA",
    r: config.r,
    rank_pattern: config.rankPattern,
    revision: null,
    target_modules: config.targetModules,
    task_type: "CAUSAL_LM",
    use_dora: false,
    use_rslora: config.useRslora,
  };
}

/** Parses and checks an adapter_config.json object; errors name the file and the field. */
export function parseAdapterConfig(path: string, json: Record<string, unknown>): LoraConfig {
  const fail = (field: string, what: string): never => {
    throw new FormatError(path, field, `expected ${what}, got ${JSON.stringify(json[field]) ?? "nothing"}`);
  };
  if (json.peft_type !== "LORA") fail("peft_type", `"LORA" (tsgpt reads LoRA adapters only)`);
  if (json.task_type !== undefined && json.task_type !== null && json.task_type !== "CAUSAL_LM") fail("task_type", `"CAUSAL_LM"`);
  const r = json.r;
  if (typeof r !== "number" || !Number.isSafeInteger(r) || r <= 0) fail("r", "a positive integer");
  const alpha = json.lora_alpha ?? 8;
  if (typeof alpha !== "number" || !Number.isFinite(alpha)) fail("lora_alpha", "a number");
  const dropout = json.lora_dropout ?? 0;
  if (typeof dropout !== "number" || !(dropout >= 0 && dropout < 1)) fail("lora_dropout", "a number in [0, 1)");
  const bias = json.bias ?? "none";
  if (bias !== "none") fail("bias", `"none" (adapters that train biases are not supported)`);
  if (json.use_dora === true) fail("use_dora", "false (DoRA adapters are not supported)");
  const mts = json.modules_to_save;
  if (mts !== undefined && mts !== null && !(Array.isArray(mts) && mts.length === 0))
    fail("modules_to_save", "null (adapters that carry whole modules are not supported)");
  if (json.layers_to_transform !== undefined && json.layers_to_transform !== null) fail("layers_to_transform", "null (not supported)");
  const targets = json.target_modules;
  const targetOk =
    typeof targets === "string" || (Array.isArray(targets) && targets.length > 0 && targets.every((t) => typeof t === "string"));
  if (!targetOk) fail("target_modules", "a list of module names or a regular expression");
  const base = json.base_model_name_or_path ?? null;
  if (base !== null && typeof base !== "string") fail("base_model_name_or_path", "a string or null");
  const pattern = (field: string): Record<string, number> => {
    const v = json[field] ?? {};
    if (typeof v !== "object" || v === null || Array.isArray(v) || !Object.values(v).every((x) => typeof x === "number" && x > 0)) {
      fail(field, "an object of module pattern → positive number");
    }
    return { ...(v as Record<string, number>) };
  };
  const known = new Set(Object.keys(adapterConfigJson(loraConfig({ r: 1 }))));
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) if (!known.has(k)) extra[k] = v;
  return {
    r: r as number,
    loraAlpha: alpha as number,
    loraDropout: dropout as number,
    targetModules: typeof targets === "string" ? targets : [...(targets as string[])],
    baseModelNameOrPath: base as string | null,
    fanInFanOut: json.fan_in_fan_out === true,
    inferenceMode: json.inference_mode !== false,
    useRslora: json.use_rslora === true,
    rankPattern: pattern("rank_pattern"),
    alphaPattern: pattern("alpha_pattern"),
    extra,
  };
}

// ---------------------------------------------------------------------------------------
// Reading and writing adapter directories
// ---------------------------------------------------------------------------------------

/** PEFT's tensor name of a LoRA factor. */
export function peftTensorName(moduleName: string, factor: "A" | "B"): string {
  return `${PEFT_PREFIX}${moduleName}.lora_${factor}.weight`;
}

/** "base_model.model.<module>.lora_A[.default].weight" → [module, "A"]; null for anything else. */
function parsePeftName(name: string): [string, "A" | "B"] | null {
  const m = /^base_model\.model\.(.+)\.lora_([AB])(?:\.[A-Za-z0-9_-]+)?\.weight$/.exec(name);
  return m ? [m[1]!, m[2] as "A" | "B"] : null;
}

/** True when `dir` holds a PEFT adapter (adapter_config.json). */
export function isAdapterDirectory(dir: string): boolean {
  return existsSync(join(dir, ADAPTER_CONFIG_FILE));
}

/** Reads a PEFT LoRA adapter directory; every tensor is checked and converted to float32. */
export function readAdapter(dir: string): LoraAdapter {
  const configPath = join(dir, ADAPTER_CONFIG_FILE);
  if (!existsSync(configPath))
    throw new FormatError(dir, ADAPTER_CONFIG_FILE, "not found: a PEFT adapter directory needs adapter_config.json");
  const config = parseAdapterConfig(configPath, readJsonObject(configPath));
  const weightsPath = join(dir, ADAPTER_WEIGHTS_FILE);
  if (!existsSync(weightsPath)) {
    const hint = existsSync(join(dir, "adapter_model.bin"))
      ? " (adapter_model.bin is a pickle, which tsgpt does not read: save with safe_serialization=True)"
      : "";
    throw new FormatError(dir, ADAPTER_WEIGHTS_FILE, `not found${hint}`);
  }
  const { tensors } = readSafetensors(weightsPath);
  const parts = new Map<string, { a?: F32Tensor; b?: F32Tensor }>();
  for (const [name, t] of tensors) {
    const parsed = parsePeftName(name);
    if (!parsed) {
      throw new FormatError(weightsPath, name, "not a LoRA factor (expected base_model.model.<module>.lora_A.weight or .lora_B.weight)");
    }
    const [module, factor] = parsed;
    if (t.dtype !== "F32" && t.dtype !== "F16" && t.dtype !== "BF16")
      throw new FormatError(weightsPath, name, `dtype ${t.dtype}: expected F32, F16 or BF16`);
    if (t.shape.length !== 2) throw new FormatError(weightsPath, name, `expected a 2-D tensor, got shape [${t.shape.join(", ")}]`);
    const f32: F32Tensor = { shape: [...t.shape], data: toFloat32(t) };
    const entry = parts.get(module) ?? {};
    if ((factor === "A" ? entry.a : entry.b) !== undefined)
      throw new FormatError(weightsPath, name, "appears twice (several adapter names in one file?)");
    if (factor === "A") entry.a = f32;
    else entry.b = f32;
    parts.set(module, entry);
  }
  const layers = new Map<string, LoraLayerWeights>();
  for (const [module, { a, b }] of parts) {
    if (!a || !b)
      throw new FormatError(weightsPath, peftTensorName(module, a ? "B" : "A"), "missing (every adapted layer needs lora_A and lora_B)");
    const r = rankFor(config, module);
    if (a.shape[0] !== r || b.shape[1] !== r) {
      throw new FormatError(
        weightsPath,
        peftTensorName(module, "A"),
        `lora_A [${a.shape.join(", ")}] and lora_B [${b.shape.join(", ")}] do not have rank ${r} (adapter_config.json r / rank_pattern)`,
      );
    }
    layers.set(module, { a, b });
  }
  if (layers.size === 0) throw new FormatError(weightsPath, "tensors", "no LoRA layers in the file");
  return { config, layers, source: dir };
}

/** Writes a PEFT adapter directory (created if needed); each file is written atomically. */
export function writeAdapter(dir: string, adapter: LoraAdapter): void {
  mkdirSync(dir, { recursive: true });
  const entries: Array<[string, StoredTensor]> = [];
  for (const [module, { a, b }] of adapter.layers) {
    entries.push([peftTensorName(module, "A"), { dtype: "F32", ...a }], [peftTensorName(module, "B"), { dtype: "F32", ...b }]);
  }
  writeSafetensors(join(dir, ADAPTER_WEIGHTS_FILE), entries, { format: "pt" });
  writeBytesAtomic(join(dir, ADAPTER_CONFIG_FILE), JSON.stringify(adapterConfigJson(adapter.config), null, 2) + "\n");
}

// ---------------------------------------------------------------------------------------
// Merging into a checkpoint's weights
// ---------------------------------------------------------------------------------------

/** ΔW = scaling · B·A as an (out, in) row-major array. */
export function deltaWeight(layer: LoraLayerWeights, scaling: number): Float32Array {
  const [r, inF] = layer.a.shape as [number, number];
  const outF = layer.b.shape[0]!;
  const A = layer.a.data;
  const B = layer.b.data;
  const delta = new Float32Array(outF * inF);
  for (let o = 0; o < outF; o++) {
    const row = delta.subarray(o * inF, (o + 1) * inF);
    for (let k = 0; k < r; k++) {
      const bk = B[o * r + k]! * scaling;
      if (bk === 0) continue;
      const aRow = A.subarray(k * inF, (k + 1) * inF);
      for (let i = 0; i < inF; i++) row[i] = row[i]! + bk * aRow[i]!;
    }
  }
  return delta;
}

/** The base weight an adapter layer modifies, with its shape checked against A and B. */
function targetWeight(ckpt: Checkpoint, adapter: LoraAdapter, module: string, layer: LoraLayerWeights): [string, StoredTensor] {
  const name = `${module}.weight`;
  const src = adapter.source ?? "adapter";
  const w = ckpt.tensors.get(name);
  if (!w)
    throw new Error(`${src}: the adapter adapts '${module}', but the model has no tensor '${name}' (an adapter for another architecture?)`);
  const want = [layer.b.shape[0]!, layer.a.shape[1]!];
  if (w.shape.length !== 2 || w.shape[0] !== want[0] || w.shape[1] !== want[1]) {
    throw new Error(
      `${src}: '${module}' has weight [${w.shape.join(", ")}] but the adapter's B·A is [${want.join(", ")}] (an adapter for another model size?)`,
    );
  }
  return [name, w];
}

export interface MergeOptions {
  /** Multiplies the adapter's scaling: 1 merges, −1 unmerges (default 1). */
  weight?: number;
}

/**
 * Adds the adapter into a checkpoint's weights, in place: W ← W + weight · scaling · B·A for every
 * adapted layer. Weights stored in F16 / BF16 become F32. Returns the checkpoint.
 */
export function mergeAdapter(ckpt: Checkpoint, adapter: LoraAdapter, options: MergeOptions = {}): Checkpoint {
  const factor = options.weight ?? 1;
  // Check every layer before changing any, so a bad adapter leaves the checkpoint untouched.
  const targets = [...adapter.layers].map(([module, layer]) => [module, layer, targetWeight(ckpt, adapter, module, layer)] as const);
  for (const [module, layer, [name, w]] of targets) {
    const delta = deltaWeight(layer, factor * scalingFor(adapter.config, module));
    const out = w.dtype === "F32" ? (w.data as Float32Array) : toFloat32(w);
    for (let i = 0; i < out.length; i++) out[i] = out[i]! + delta[i]!;
    ckpt.tensors.set(name, { dtype: "F32", shape: [...w.shape], data: out });
  }
  return ckpt;
}

/** Subtracts a merged adapter again (PEFT's unmerge): mergeAdapter with weight −1. */
export function unmergeAdapter(ckpt: Checkpoint, adapter: LoraAdapter): Checkpoint {
  return mergeAdapter(ckpt, adapter, { weight: -1 });
}

/**
 * A new Checkpoint with the adapter merged, leaving `base` untouched: adapted weights are fresh
 * arrays, every other tensor is shared. Switching adapters at generation time is one call per
 * adapter: `DecoderModel.fromCheckpoint(withAdapter(base, adapters.get(name)))`.
 */
export function withAdapter(base: Checkpoint, adapter: LoraAdapter, options: MergeOptions = {}): Checkpoint {
  const tensors = new Map(base.tensors);
  for (const [module, layer] of adapter.layers) {
    const [name, w] = targetWeight(base, adapter, module, layer);
    tensors.set(name, { dtype: "F32", shape: [...w.shape], data: toFloat32(w).slice() });
  }
  return mergeAdapter({ ...base, tensors }, adapter, options);
}

/** Reads the adapter in `adapterDir` and merges it into `checkpoint` in place (for `tsgpt generate --adapter`). */
export function applyAdapter(checkpoint: Checkpoint, adapterDir: string): Checkpoint {
  return mergeAdapter(checkpoint, readAdapter(adapterDir));
}
