// Reading a llama-like model (llama, qwen2, qwen3, mistral) out of a parsed GGUF, and the name
// and metadata mappings the writer (gguf_llama.ts) shares. Imports no Node module: a browser page
// reads a GGUF the user picked through this file (gguf_llama.ts has the file-level doc).
import type { Checkpoint, EmbeddedVocab, LlamaConfig, StoredTensor } from "./types.js";
import { FormatError } from "../util/errors.js";
import type { GGUFArray, GGUFSourceReader, GGUFValue } from "./gguf_reader.js";
import { pairsToHalves } from "./rotary_permute.js";
import { ROPE_FREQS, ropeScalingFromFactors } from "./gguf_rope_freqs.js";
import { llama, mistral, qwen2, qwen3, roleOfName, type Architecture, type GlobalRole, type LayerRole } from "../arch/index.js";

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
export const TOKENIZER_KEYS: Record<string, keyof EmbeddedVocab> = {
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
export const GGUF_FAMILIES: readonly Architecture[] = [llama, qwen2, mistral, qwen3];

/** llama.cpp's key for a sliding window; tsgpt writes it for Mistral, whose llama.cpp architecture is llama. */
export const SLIDING_WINDOW = "attention.sliding_window";

/** The family of a GGUF general.architecture ("llama", "qwen2"), or undefined. */
export function familyOfGGUF(ggufArch: string | undefined): Architecture | undefined {
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
export function derivedKeys(ggufArch: string): Set<string> {
  return new Set([
    "general.architecture",
    "general.file_type",
    ...ARCH_KEYS.map((k) => `${ggufArch}.${k}`),
    ...Object.keys(TOKENIZER_KEYS),
  ]);
}

/** Typed metadata access with errors naming the file and key. */
export class Meta {
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
export function tidyFloat(x: number): number {
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

/**
 * q / k rows from GGUF's adjacent-pairs rotary layout to Hugging Face's halves, once the file is
 * known to split them into `heads` heads of an even size (a damaged shape would not).
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

/**
 * The model in a parsed GGUF of a llama-like family, in HF names (llama's q/k permuted to
 * rotate-halves); closes the reader. The tensors are read from its source (a file, or bytes).
 */
export function checkpointFromGGUF(r: GGUFSourceReader): Checkpoint {
  const path = r.path;
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
