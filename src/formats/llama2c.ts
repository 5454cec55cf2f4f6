// llama2.c's legacy checkpoint (`.bin`, "version 0"), read into and written from Hugging Face
// Llama names.
//
//   header: 7 x int32  dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
//           (a NEGATIVE vocab_size means the classifier is not shared and is stored last)
//   then float32 arrays, matrices row-major (out, in), per-layer arrays stacked over layers:
//     token_embedding (vocab, dim) | rms_att (L, dim) | wq (L, dim, dim) | wk (L, kv_dim, dim)
//     wv (L, kv_dim, dim) | wo (L, dim, dim) | rms_ffn (L, dim) | w1 (L, hidden, dim)
//     w2 (L, dim, hidden) | w3 (L, hidden, dim) | rms_final (dim) | freq_cis_real (seq, hs/2)
//     freq_cis_imag (seq, hs/2) | wcls (vocab, dim) only when unshared
//
// wq / wk rows use the adjacent-pairs rotary layout; they are permuted to HF's rotate-halves
// layout on load and back on save (see rotary_permute.ts).
import type { Checkpoint, LlamaConfig, StoredTensor } from "./types.js";
import { type BinaryFile, withBinaryFile } from "./binary.js";
import { FormatError } from "../util/errors.js";
import { halvesToPairs, pairsToHalves } from "./rotary_permute.js";
import { bytesOf, toFloat32, viewAs } from "./dtypes.js";
import { writeAll, writeFileAtomic } from "../util/atomic_write.js";
import { llama, modulePath, type GlobalRole, type LayerRole } from "../arch/index.js";

export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** Always positive here; see sharedClassifier. */
  vocabSize: number;
  seqLen: number;
  /** True when the file's vocab_size is positive: logits use the token embedding (no wcls). */
  sharedClassifier: boolean;
}

const HEADER_BYTES = 28;
const FIELDS = ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"] as const;

/** One array of the file: its HF name per layer (or once), and its per-layer shape. */
interface Segment {
  key: string;
  shape: number[];
  /** HF tensor name, given the layer for stacked arrays; null for arrays tsgpt keeps as extras. */
  name: ((layer: number) => string) | null;
  perLayer: boolean;
}

/** HF name of a Llama role's weight, per layer (names come from the architecture description). */
const layerName = (role: LayerRole) => (l: number) => `${modulePath(llama, role, l)}.weight`;
const globalName = (role: GlobalRole) => () => `${modulePath(llama, role, null)}.weight`;

/** The arrays of the file in order, with their shapes. */
function segments(h: Llama2cHeader): Segment[] {
  const hs = h.dim / h.nHeads;
  const kvDim = h.nKvHeads * hs;
  const seg = (key: string, shape: number[], name: Segment["name"], perLayer: boolean): Segment => ({ key, shape, name, perLayer });
  const list = [
    seg("token_embedding_table", [h.vocabSize, h.dim], globalName("token_embd"), false),
    seg("rms_att_weight", [h.dim], layerName("attn_norm"), true),
    seg("wq", [h.dim, h.dim], layerName("attn_q"), true),
    seg("wk", [kvDim, h.dim], layerName("attn_k"), true),
    seg("wv", [kvDim, h.dim], layerName("attn_v"), true),
    seg("wo", [h.dim, h.dim], layerName("attn_output"), true),
    seg("rms_ffn_weight", [h.dim], layerName("ffn_norm"), true),
    seg("w1", [h.hiddenDim, h.dim], layerName("ffn_gate"), true),
    seg("w2", [h.dim, h.hiddenDim], layerName("ffn_down"), true),
    seg("w3", [h.hiddenDim, h.dim], layerName("ffn_up"), true),
    seg("rms_final_weight", [h.dim], globalName("output_norm"), false),
    seg("freq_cis_real", [h.seqLen, hs / 2], null, false),
    seg("freq_cis_imag", [h.seqLen, hs / 2], null, false),
  ];
  if (!h.sharedClassifier) list.push(seg("wcls", [h.vocabSize, h.dim], globalName("output"), false));
  return list;
}

function floatsOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Bytes a file with this header must have. */
export function llama2cFileSize(h: Llama2cHeader): number {
  let floats = 0;
  for (const s of segments(h)) floats += floatsOf(s.shape) * (s.perLayer ? h.nLayers : 1);
  return HEADER_BYTES + 4 * floats;
}

/** Reads and validates the header of an open file (including the exact file size). */
export function readLlama2cHeader(file: BinaryFile): Llama2cHeader {
  const fail = (field: string, msg: string): never => {
    throw new FormatError(file.path, field, msg);
  };
  if (file.size < HEADER_BYTES) fail("header", `expected a 28-byte header of 7 int32, the file has ${file.size} bytes`);
  const view = new DataView(file.read(0, HEADER_BYTES, "header").buffer);
  if (view.getUint32(0, true) === 0x616b3432) {
    fail(
      "magic",
      `this is a llama2.c export of version ${view.getInt32(4, true)} ("ak42" magic); only the legacy version-0 format is supported`,
    );
  }
  const v = FIELDS.map((_, i) => view.getInt32(i * 4, true));
  for (let i = 0; i < FIELDS.length; i++) {
    if (i !== 5 && v[i]! <= 0) fail(FIELDS[i]!, `expected a positive integer, got ${v[i]}`);
  }
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = v as [number, number, number, number, number, number, number];
  if (vocab === 0) fail("vocab_size", "expected a non-zero integer, got 0");
  if (dim % nHeads !== 0) fail("n_heads", `dim ${dim} is not divisible by n_heads ${nHeads}`);
  if ((dim / nHeads) % 2 !== 0) fail("n_heads", `head size ${dim / nHeads} must be even for rotary embeddings`);
  if (nKvHeads > nHeads || nHeads % nKvHeads !== 0) fail("n_kv_heads", `${nKvHeads} must divide n_heads ${nHeads}`);
  const h: Llama2cHeader = { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize: Math.abs(vocab), seqLen, sharedClassifier: vocab > 0 };
  const expected = llama2cFileSize(h);
  if (expected !== file.size) {
    const other = llama2cFileSize({ ...h, sharedClassifier: !h.sharedClassifier });
    const hint =
      other === file.size
        ? ` (the size matches a${h.sharedClassifier ? "n unshared" : " shared"} classifier: is the sign of vocab_size wrong?)`
        : file.size < expected
          ? " (truncated?)"
          : "";
    fail(
      "file size",
      `the header (${FIELDS.map((f, i) => `${f}=${v[i]}`).join(", ")}) implies ${expected} bytes${h.sharedClassifier ? " with a shared classifier" : " with an unshared classifier (wcls)"}, the file has ${file.size}${hint}`,
    );
  }
  return h;
}

/** True when `path` starts with a plausible llama2.c header whose implied size matches the file. */
export function isLlama2cCheckpoint(path: string): boolean {
  try {
    return withBinaryFile(path, (f) => (readLlama2cHeader(f), true));
  } catch {
    return false;
  }
}

/** The Hugging Face Llama config a llama2.c header describes (llama2.c's fixed eps and theta). */
export function llama2cConfig(h: Llama2cHeader): LlamaConfig {
  return {
    model_type: "llama",
    vocab_size: h.vocabSize,
    hidden_size: h.dim,
    intermediate_size: h.hiddenDim,
    num_hidden_layers: h.nLayers,
    num_attention_heads: h.nHeads,
    num_key_value_heads: h.nKvHeads,
    max_position_embeddings: h.seqLen,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: h.sharedClassifier,
    bos_token_id: 1,
    eos_token_id: 2,
  };
}

/** Reads a llama2.c checkpoint tensor by tensor into HF names (q/k permuted to rotate-halves). */
export function readLlama2c(path: string): Checkpoint {
  return withBinaryFile(path, (file) => {
    const h = readLlama2cHeader(file);
    const tensors = new Map<string, StoredTensor>();
    const extras = new Map<string, StoredTensor>();
    let offset = HEADER_BYTES;
    for (const s of segments(h)) {
      const bytes = floatsOf(s.shape) * 4;
      for (let l = 0; l < (s.perLayer ? h.nLayers : 1); l++) {
        const data = viewAs("F32", file.read(offset, bytes, s.key));
        offset += bytes;
        let t: StoredTensor = { dtype: "F32", shape: [...s.shape], data };
        if (s.name === null) {
          extras.set(s.key, t);
          continue;
        }
        if (s.key === "wq") t = pairsToHalves(t, h.nHeads);
        if (s.key === "wk") t = pairsToHalves(t, h.nKvHeads);
        tensors.set(s.name(l), t);
      }
    }
    return { config: llama2cConfig(h), tensors: layerOrder(tensors, h.nLayers), extras, source: { path, format: "llama2c" } };
  });
}

/** The same tensors in Hugging Face's order: embedding, layer by layer, final norm, head. */
function layerOrder(tensors: Map<string, StoredTensor>, nLayers: number): Map<string, StoredTensor> {
  const perLayer: LayerRole[] = ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"];
  const names = [globalName("token_embd")()];
  for (let l = 0; l < nLayers; l++) for (const role of perLayer) names.push(layerName(role)(l));
  names.push(globalName("output_norm")(), globalName("output")());
  return new Map(names.filter((n) => tensors.has(n)).map((n) => [n, tensors.get(n)!]));
}

/** llama2.c's precomputed RoPE tables (cos / sin of pos * theta^(-2i/hs)), for files that lack them. */
function ropeTable(h: Llama2cHeader, theta: number, fn: (x: number) => number): Float32Array {
  const half = h.dim / h.nHeads / 2;
  const out = new Float32Array(h.seqLen * half);
  for (let t = 0; t < h.seqLen; t++) {
    for (let i = 0; i < half; i++) out[t * half + i] = fn(t / Math.pow(theta, (2 * i) / (2 * half)));
  }
  return out;
}

/**
 * Writes a Llama checkpoint as a llama2.c legacy `.bin` (float32), atomically. The classifier is
 * shared when the config ties word embeddings. RoPE tables come from `checkpoint.extras` when
 * present (so a llama2.c file round-trips byte for byte), else they are computed.
 */
export function writeLlama2c(path: string, checkpoint: Checkpoint): void {
  const c = checkpoint.config;
  if (c.model_type !== "llama") throw new Error(`llama2.c format holds Llama models only, this checkpoint is ${c.model_type}`);
  const tied = c.tie_word_embeddings;
  const h: Llama2cHeader = {
    dim: c.hidden_size,
    hiddenDim: c.intermediate_size,
    nLayers: c.num_hidden_layers,
    nHeads: c.num_attention_heads,
    nKvHeads: c.num_key_value_heads,
    vocabSize: c.vocab_size,
    seqLen: c.max_position_embeddings,
    sharedClassifier: tied,
  };
  if (Math.abs(c.rms_norm_eps - 1e-5) > 1e-12) console.warn(`llama2.c assumes rms_norm_eps 1e-5; this model uses ${c.rms_norm_eps}`);
  if (c.rope_theta !== 10000) console.warn(`llama2.c assumes rope_theta 10000; this model uses ${c.rope_theta}`);
  const header = new DataView(new ArrayBuffer(HEADER_BYTES));
  [h.dim, h.hiddenDim, h.nLayers, h.nHeads, h.nKvHeads, tied ? h.vocabSize : -h.vocabSize, h.seqLen].forEach((x, i) =>
    header.setInt32(i * 4, x, true),
  );

  // Fetch every tensor up front, only to check names and shapes before the file is created.
  const plan = segments(h);
  for (const s of plan) {
    if (!s.name) continue;
    for (let l = 0; l < (s.perLayer ? h.nLayers : 1); l++) tensorFor(checkpoint, s.name(l), s.shape);
  }

  writeFileAtomic(path, (fd) => {
    writeAll(fd, new Uint8Array(header.buffer));
    for (const s of plan) {
      if (s.name === null) {
        const kept = checkpoint.extras?.get(s.key);
        const ok = kept && kept.dtype === "F32" && kept.shape.join() === s.shape.join();
        const data = ok ? (kept.data as Float32Array) : ropeTable(h, c.rope_theta, s.key === "freq_cis_real" ? Math.cos : Math.sin);
        writeAll(fd, bytesOf(data));
        continue;
      }
      for (let l = 0; l < (s.perLayer ? h.nLayers : 1); l++) {
        let t = tensorFor(checkpoint, s.name(l), s.shape);
        if (s.key === "wq") t = halvesToPairs(t, h.nHeads);
        if (s.key === "wk") t = halvesToPairs(t, h.nKvHeads);
        writeAll(fd, bytesOf(toFloat32(t)));
      }
    }
  });
}

/** The named tensor, checked to exist with the expected shape and a float dtype. */
function tensorFor(checkpoint: Checkpoint, name: string, shape: number[]): StoredTensor {
  const t = checkpoint.tensors.get(name);
  if (!t) throw new Error(`llama2.c export: tensor ${name} is missing from the checkpoint`);
  if (t.shape.join() !== shape.join())
    throw new Error(`llama2.c export: tensor ${name} has shape [${t.shape.join(", ")}], expected [${shape.join(", ")}]`);
  if (t.dtype !== "F32" && t.dtype !== "F16" && t.dtype !== "BF16")
    throw new Error(`llama2.c export: tensor ${name} is ${t.dtype}; dequantize it first`);
  return t;
}
