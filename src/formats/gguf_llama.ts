// Llama-like models (llama, qwen2, …) in GGUF, as llama.cpp names them, mapped to and from
// Hugging Face names. The metadata prefix is the family's GGUF architecture name (`llama.*`,
// `qwen2.*`), with the key names llama.cpp reads for it.
//
//   token_embd.weight              model.embed_tokens.weight
//   blk.N.attn_norm.weight         model.layers.N.input_layernorm.weight
//   blk.N.attn_{q,k,v}.weight      model.layers.N.self_attn.{q,k,v}_proj.weight
//   blk.N.attn_output.weight       model.layers.N.self_attn.o_proj.weight
//   blk.N.ffn_norm.weight          model.layers.N.post_attention_layernorm.weight
//   blk.N.ffn_{gate,up,down}.weight  model.layers.N.mlp.{gate,up,down}_proj.weight
//   output_norm.weight             model.norm.weight
//   output.weight                  lm_head.weight (absent when tied to the embedding)
//
// For llama, GGUF (like llama2.c) rotates adjacent pairs: attn_q / attn_k rows are permuted on the
// way in and out (rotary_permute.ts). Families llama.cpp runs with NeoX RoPE (qwen2) keep
// Hugging Face's rows. Qwen2's q/k/v biases are blk.N.attn_{q,k,v}.bias. The config comes from the
// `<arch>.*` keys, the vocabulary from `tokenizer.ggml.*`; other metadata (general.name, ...) is
// kept in `checkpoint.metadata`.
import type { MistralConfig, Qwen3Config } from "../arch/index.js";
import type { Checkpoint, EmbeddedVocab, LlamaConfig, StorageDType, StoredTensor } from "./types.js";
import { FormatError } from "../util/errors.js";
import { GGUFReader, writeGGUF, type GGUFArray, type GGUFValue } from "./gguf.js";
import { halvesToPairs, pairsToHalves } from "./rotary_permute.js";
import { convertFloat } from "./dtypes.js";
import { readVocab } from "./vocab.js";
import { ROPE_FREQS, ropeFreqFactors, ropeScalingFromFactors } from "./gguf_rope_freqs.js";
import type { TensorSource } from "./safetensors.js";
import {
  architectureOf,
  llama,
  mistral,
  qwen2,
  qwen3,
  roleOfName,
  type Architecture,
  type GlobalRole,
  type LayerRole,
} from "../arch/index.js";

// GGUF's tensor names are the roles of the architecture descriptions (src/arch/): token_embd,
// blk.N.attn_q, …; the description maps each role to its Hugging Face module.

/** HF name of a GGUF tensor name, or null when it is not a weight of this family. */
export function hfNameOfGGUF(name: string, arch: Architecture = llama): string | null {
  const m = /^(?:blk\.(\d+)\.)?([a-z_]+)\.(weight|bias)$/.exec(name);
  if (!m) return null;
  const layer = m[1] === undefined ? null : Number(m[1]);
  const path = layer === null ? arch.paths.global[m[2] as GlobalRole] : arch.paths.layer[m[2] as LayerRole];
  if (path === undefined) return null;
  return `${layer === null ? path : `${arch.paths.layerPrefix}.${layer}.${path}`}.${m[3]}`;
}

/** GGUF name of an HF tensor name of this family, or null. */
export function ggufNameOfHF(name: string, arch: Architecture = llama): string | null {
  const r = roleOfName(arch, name);
  if (!r) return null;
  return r.layer === null ? `${r.role}.${r.kind}` : `blk.${r.layer}.${r.role}.${r.kind}`;
}

/** Keys this module derives from the config and vocabulary (everything else passes through). */
const TOKENIZER_KEYS: Record<string, keyof EmbeddedVocab> = {
  "tokenizer.ggml.model": "model",
  "tokenizer.ggml.tokens": "tokens",
  "tokenizer.ggml.scores": "scores",
  "tokenizer.ggml.token_type": "tokenTypes",
  "tokenizer.ggml.bos_token_id": "bosId",
  "tokenizer.ggml.eos_token_id": "eosId",
  "tokenizer.ggml.unknown_token_id": "unkId",
  "tokenizer.ggml.padding_token_id": "padId",
};
/** The families this module reads and writes: Llama's block, with or without q/k/v biases. */
const GGUF_FAMILIES: readonly Architecture[] = [llama, qwen2, mistral, qwen3];

/** llama.cpp's key for a sliding window; tsgpt writes it for Mistral, whose llama.cpp architecture is llama. */
const SLIDING_WINDOW = "attention.sliding_window";

/** The family of a GGUF general.architecture ("llama", "qwen2"), or undefined. */
function familyOfGGUF(ggufArch: string | undefined): Architecture | undefined {
  return GGUF_FAMILIES.find((a) => a.ggufArch === ggufArch);
}

const ARCH_KEYS = [
  "context_length",
  "embedding_length",
  "block_count",
  "feed_forward_length",
  "rope.dimension_count",
  "attention.head_count",
  "attention.head_count_kv",
  "attention.layer_norm_rms_epsilon",
  "rope.freq_base",
  SLIDING_WINDOW,
  "attention.key_length",
  "attention.value_length",
];

/** The keys derived from the config and vocabulary (everything else passes through). */
function derivedKeys(ggufArch: string): Set<string> {
  return new Set([
    "general.architecture",
    "general.file_type",
    ...ARCH_KEYS.map((k) => `${ggufArch}.${k}`),
    ...Object.keys(TOKENIZER_KEYS),
  ]);
}

/** Typed metadata access with errors naming the file and key. */
class Meta {
  constructor(
    private readonly path: string,
    private readonly m: Map<string, GGUFValue>,
  ) {}

  private fail(key: string, msg: string): never {
    throw new FormatError(this.path, key, msg);
  }

  int(key: string, fallback?: number): number {
    const v = this.m.get(key);
    if (!v) return fallback ?? this.fail(key, "required key is missing");
    const n = typeof v.value === "bigint" ? Number(v.value) : v.value;
    if (
      !["u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64"].includes(v.type) ||
      typeof n !== "number" ||
      !Number.isSafeInteger(n) ||
      n < 0
    ) {
      this.fail(key, `expected a non-negative integer, got ${String(v.value)} (${v.type})`);
    }
    return n as number;
  }

  float(key: string, fallback?: number): number {
    const v = this.m.get(key);
    if (!v) return fallback ?? this.fail(key, "required key is missing");
    if ((v.type !== "f32" && v.type !== "f64") || typeof v.value !== "number" || !Number.isFinite(v.value))
      this.fail(key, `expected a float, got ${String(v.value)} (${v.type})`);
    return v.value as number;
  }

  string(key: string): string | undefined {
    const v = this.m.get(key);
    if (!v) return undefined;
    if (v.type !== "string") this.fail(key, `expected a string, got ${v.type}`);
    return v.value as string;
  }

  array(key: string, elementType: string): GGUFArray | undefined {
    const v = this.m.get(key);
    if (!v) return undefined;
    const arr = v.value as GGUFArray;
    if (v.type !== "array" || arr.elementType !== elementType)
      this.fail(key, `expected an array of ${elementType}, got ${v.type === "array" ? `an array of ${arr.elementType}` : v.type}`);
    return arr;
  }
}

/** The f32 round-trip of rms_norm_eps as stored (f32) turned back into the decimal users wrote. */
function tidyFloat(x: number): number {
  return Number(x.toPrecision(7));
}

function readVocabFromMeta(path: string, meta: Meta): EmbeddedVocab | undefined {
  const model = meta.string("tokenizer.ggml.model");
  const tokens = meta.array("tokenizer.ggml.tokens", "string");
  if (model === undefined || tokens === undefined) return undefined;
  const v: EmbeddedVocab = { model, tokens: tokens.values as string[] };
  const scores = meta.array("tokenizer.ggml.scores", "f32");
  const types = meta.array("tokenizer.ggml.token_type", "i32");
  if (scores) {
    if (scores.values.length !== v.tokens.length)
      throw new FormatError(path, "tokenizer.ggml.scores", `has ${scores.values.length} entries for ${v.tokens.length} tokens`);
    v.scores = Float32Array.from(scores.values as number[]);
  }
  if (types) {
    if (types.values.length !== v.tokens.length)
      throw new FormatError(path, "tokenizer.ggml.token_type", `has ${types.values.length} entries for ${v.tokens.length} tokens`);
    v.tokenTypes = Int32Array.from(types.values as number[]);
  }
  const id = (key: string): number | undefined => {
    const n = meta.int(key, -1);
    if (n === -1) return undefined;
    if (n >= v.tokens.length) throw new FormatError(path, key, `token id ${n} is outside the vocabulary of ${v.tokens.length}`);
    return n;
  };
  v.bosId = id("tokenizer.ggml.bos_token_id");
  v.eosId = id("tokenizer.ggml.eos_token_id");
  v.unkId = id("tokenizer.ggml.unknown_token_id");
  v.padId = id("tokenizer.ggml.padding_token_id");
  for (const k of ["bosId", "eosId", "unkId", "padId"] as const) if (v[k] === undefined) delete v[k];
  return v;
}

/** Reads a GGUF file of a llama-like family into HF names (llama's q/k permuted to rotate-halves). */
/**
 * q / k rows from GGUF's adjacent-pairs rotary layout to Hugging Face's halves, once the file is
 * known to split them into `heads` heads of an even size (a damaged head count would not).
 */
function rotaryToHalves(path: string, name: string, t: StoredTensor, heads: number, headKey: string): StoredTensor {
  const rows = t.shape[0] ?? 0;
  if (t.shape.length !== 2 || rows % heads !== 0 || (rows / heads) % 2 !== 0) {
    throw new FormatError(
      path,
      name,
      `shape [${t.shape.join(", ")}] does not split into ${heads} heads (attention.${headKey}) of an even head size`,
    );
  }
  return pairsToHalves(t, heads);
}

export function readGGUFCheckpoint(path: string): Checkpoint {
  const r = GGUFReader.open(path);
  try {
    const meta = new Meta(path, r.metadata);
    const ggufArch = meta.string("general.architecture");
    const family = familyOfGGUF(ggufArch);
    if (!family) {
      const known = [...new Set(GGUF_FAMILIES.map((a) => JSON.stringify(a.ggufArch)))].join(" or ");
      throw new FormatError(path, "general.architecture", `expected ${known}, got ${JSON.stringify(ggufArch ?? null)}`);
    }
    const key = (k: string) => `${family.ggufArch}.${k}`;
    const hidden = meta.int(key("embedding_length"));
    const heads = meta.int(key("attention.head_count"));
    const kvHeads = meta.int(key("attention.head_count_kv"), heads);
    // attention.key_length gives a head size of its own (Qwen3); without it, embedding_length / head_count.
    const explicitHead = meta.int(key("attention.key_length"), 0) || undefined;
    if (explicitHead === undefined && (heads === 0 || hidden % heads !== 0))
      throw new FormatError(path, key("attention.head_count"), `${heads} does not divide embedding_length ${hidden}`);
    if (kvHeads === 0 || heads % kvHeads !== 0)
      throw new FormatError(path, key("attention.head_count_kv"), `${kvHeads} does not divide head_count ${heads}`);
    const headDim = explicitHead ?? hidden / heads;
    const valueDim = meta.int(key("attention.value_length"), headDim);
    if (valueDim !== headDim)
      throw new FormatError(path, key("attention.value_length"), `expected the key length ${headDim}, got ${valueDim}`);
    const ropeDims = meta.int(key("rope.dimension_count"), headDim);
    if (ropeDims !== headDim)
      throw new FormatError(
        path,
        key("rope.dimension_count"),
        `expected the head size ${headDim} (partial rotary is not supported), got ${ropeDims}`,
      );
    if (!r.has("token_embd.weight")) throw new FormatError(path, "token_embd.weight", "tensor missing");
    const vocab = readVocabFromMeta(path, meta);
    const embShape = r.tensors.find((t) => t.name === "token_embd.weight")!.shape;
    const config = {
      model_type: family.modelType as "llama",
      vocab_size: embShape[0]!,
      hidden_size: hidden,
      intermediate_size: meta.int(key("feed_forward_length")),
      num_hidden_layers: meta.int(key("block_count")),
      num_attention_heads: heads,
      num_key_value_heads: kvHeads,
      max_position_embeddings: meta.int(key("context_length")),
      rms_norm_eps: tidyFloat(meta.float(key("attention.layer_norm_rms_epsilon"))),
      rope_theta: tidyFloat(meta.float(key("rope.freq_base"), 10000)),
      tie_word_embeddings: !r.has("output.weight"),
    } as LlamaConfig;
    if (family === qwen3) Object.assign(config, { head_dim: headDim, attention_bias: r.has("blk.0.attn_q.bias") });
    else if (headDim !== hidden / heads) config.head_dim = headDim;
    const window = family === llama ? meta.int(key(SLIDING_WINDOW), 0) : 0;
    if (window > 0) Object.assign(config, { model_type: "mistral", sliding_window: window });
    if (vocab?.bosId !== undefined) config.bos_token_id = vocab.bosId;
    if (vocab?.eosId !== undefined) config.eos_token_id = vocab.eosId;
    if (vocab?.padId !== undefined) config.pad_token_id = vocab.padId;

    if (family.ggufArch === "llama" && r.has(ROPE_FREQS)) {
      config.rope_scaling = ropeScalingFromFactors(path, r.read(ROPE_FREQS), headDim, config.rope_theta);
    }

    const tensors = new Map<string, StoredTensor>();
    const extras = new Map<string, StoredTensor>();
    for (const info of r.tensors) {
      if (info.name === ROPE_FREQS && config.rope_scaling) continue; // now in the config; written again from it
      const name = hfNameOfGGUF(info.name, family);
      let t = r.read(info.name);
      if (name === null) {
        extras.set(info.name, t); // e.g. rope_freqs.weight: kept, not used by tsgpt's model
        continue;
      }
      if (family.ggufPairsRotary && info.name.endsWith(".attn_q.weight")) t = rotaryToHalves(path, info.name, t, heads, "head_count");
      if (family.ggufPairsRotary && info.name.endsWith(".attn_k.weight")) t = rotaryToHalves(path, info.name, t, kvHeads, "head_count_kv");
      tensors.set(name, t);
    }
    const derived = derivedKeys(family.ggufArch);
    const metadata = new Map<string, unknown>([...r.metadata].filter(([k]) => !derived.has(k)));
    const ck: Checkpoint = { config, tensors, source: { path, format: "gguf" }, metadata };
    if (extras.size > 0) ck.extras = extras;
    if (vocab) ck.vocab = vocab;
    return ck;
  } finally {
    r.close();
  }
}

export interface SaveGGUFOptions {
  /** Store 2-D float weights in this dtype (norm vectors always stay F32, as llama.cpp expects). */
  dtype?: "F32" | "F16" | "BF16";
}

/**
 * llama.cpp's general.file_type (LLAMA_FTYPE_*) for the dtype most weights have: ALL_F32 = 0,
 * MOSTLY_F16 = 1, Q4_0 = 2, Q4_1 = 3, Q8_0 = 7, Q5_0 = 8, Q4_K_S = 14, Q6_K = 18, BF16 = 32.
 */
const FILE_TYPES: Partial<Record<StorageDType, number>> = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q8_0: 7,
  Q5_0: 8,
  Q4_K: 14,
  Q6_K: 18,
  BF16: 32,
};

const u32 = (value: number): GGUFValue => ({ type: "u32", value });
const f32 = (value: number): GGUFValue => ({ type: "f32", value });

/** Whether GGUF export supports this config's family (checked before any work is done). */
export function checkGGUFExportable(config: { model_type: string }, source: string): void {
  const family = GGUF_FAMILIES.find((a) => a.modelType === config.model_type);
  if (!family) {
    const known = GGUF_FAMILIES.map((a) => a.modelType).join(", ");
    throw new Error(`${source}: GGUF export supports ${known} models, this checkpoint is ${config.model_type}`);
  }
}

/** Writes a checkpoint of a llama-like family as GGUF (atomically), with its vocabulary when one is known. */
export function writeGGUFCheckpoint(path: string, checkpoint: Checkpoint, options: SaveGGUFOptions = {}): void {
  checkGGUFExportable(checkpoint.config, checkpoint.source.path);
  const c = checkpoint.config as LlamaConfig | MistralConfig | Qwen3Config;
  const family = architectureOf(c);
  const A = family.ggufArch;
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  const headKeys: Array<[string, GGUFValue]> =
    c.head_dim === undefined
      ? []
      : [
          [`${A}.attention.key_length`, u32(headDim)],
          [`${A}.attention.value_length`, u32(headDim)],
        ];

  const tensors: Array<[string, TensorSource]> = [];
  const dtypeCounts = new Map<StorageDType, number>();
  for (const [name, t] of checkpoint.tensors) {
    if (name === "lm_head.weight" && c.tie_word_embeddings) continue;
    const gname = ggufNameOfHF(name, family);
    if (gname === null) throw new Error(`tensor ${name} has no GGUF name (not a ${family.hfClass} weight)`);
    const isFloat = t.dtype === "F32" || t.dtype === "F16" || t.dtype === "BF16";
    const dtype: StorageDType = !isFloat ? t.dtype : t.shape.length === 1 ? "F32" : (options.dtype ?? t.dtype);
    if (t.shape.length > 1) dtypeCounts.set(dtype, (dtypeCounts.get(dtype) ?? 0) + 1);
    const permuted = family.ggufPairsRotary;
    const heads = !permuted
      ? 0
      : gname.endsWith(".attn_q.weight")
        ? c.num_attention_heads
        : gname.endsWith(".attn_k.weight")
          ? c.num_key_value_heads
          : 0;
    tensors.push([
      gname,
      {
        dtype,
        shape: [...t.shape],
        load: () => {
          let out = dtype === t.dtype ? t : convertFloat(t, dtype as "F32" | "F16" | "BF16");
          if (heads) out = halvesToPairs(out, heads);
          return out.data;
        },
      },
    ]);
  }
  if (c.model_type === "llama" && c.rope_scaling) {
    const factors = ropeFreqFactors(headDim, c.rope_theta, c.rope_scaling);
    tensors.push([ROPE_FREQS, { dtype: "F32", shape: [factors.length], load: () => factors }]);
  }
  for (const [name, t] of checkpoint.extras ?? []) {
    if (name === ROPE_FREQS && c.model_type === "llama" && c.rope_scaling) continue;
    if (checkpoint.source.format === "gguf") tensors.push([name, t]); // GGUF-only tensors go back where they came from
  }
  const mainDtype = [...dtypeCounts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "F32";

  const kept = checkpoint.source.format === "gguf" ? ([...(checkpoint.metadata ?? [])] as Array<[string, GGUFValue]>) : [];
  const metadata: Array<[string, GGUFValue]> = [
    ["general.architecture", { type: "string", value: A }],
    ...kept.filter(([k]) => k.startsWith("general.")),
    ["general.file_type", u32(FILE_TYPES[mainDtype] ?? 0)],
    [`${A}.context_length`, u32(c.max_position_embeddings)],
    [`${A}.embedding_length`, u32(c.hidden_size)],
    [`${A}.block_count`, u32(c.num_hidden_layers)],
    [`${A}.feed_forward_length`, u32(c.intermediate_size)],
    [`${A}.rope.dimension_count`, u32(headDim)],
    [`${A}.attention.head_count`, u32(c.num_attention_heads)],
    [`${A}.attention.head_count_kv`, u32(c.num_key_value_heads)],
    ...headKeys,
    [`${A}.attention.layer_norm_rms_epsilon`, f32(c.rms_norm_eps)],
    [`${A}.rope.freq_base`, f32(c.rope_theta)],
    ...(c.model_type === "mistral" && c.sliding_window !== null
      ? [[`${A}.${SLIDING_WINDOW}`, u32(c.sliding_window)] as [string, GGUFValue]]
      : []),
    ...kept.filter(([k]) => !k.startsWith("general.") && !k.startsWith("tokenizer.")),
    ...vocabMetadata(checkpoint),
    ...kept.filter(([k]) => k.startsWith("tokenizer.")),
  ];
  writeGGUF(path, { metadata, tensors });
}

function vocabMetadata(checkpoint: Checkpoint): Array<[string, GGUFValue]> {
  let v = checkpoint.vocab;
  if (!v && checkpoint.tokenizerPath) v = readVocab(checkpoint.tokenizerPath);
  if (!v) return [];
  const out: Array<[string, GGUFValue]> = [
    ["tokenizer.ggml.model", { type: "string", value: v.model }],
    ["tokenizer.ggml.tokens", { type: "array", value: { elementType: "string", values: v.tokens } }],
  ];
  if (v.scores) out.push(["tokenizer.ggml.scores", { type: "array", value: { elementType: "f32", values: [...v.scores] } }]);
  if (v.tokenTypes) out.push(["tokenizer.ggml.token_type", { type: "array", value: { elementType: "i32", values: [...v.tokenTypes] } }]);
  if (v.bosId !== undefined) out.push(["tokenizer.ggml.bos_token_id", u32(v.bosId)]);
  if (v.eosId !== undefined) out.push(["tokenizer.ggml.eos_token_id", u32(v.eosId)]);
  if (v.unkId !== undefined) out.push(["tokenizer.ggml.unknown_token_id", u32(v.unkId)]);
  if (v.padId !== undefined) out.push(["tokenizer.ggml.padding_token_id", u32(v.padId)]);
  return out;
}
