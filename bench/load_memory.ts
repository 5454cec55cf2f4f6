// Memory-frugal loading: peak resident memory while a 1.1B-parameter bf16 checkpoint loads.
//
// 1. Writes a random Llama checkpoint with TinyLlama-1.1B's shapes (hidden 2048, intermediate
//    5632, 22 layers, 32 heads, 4 key/value heads, vocab 32000, untied head) in bf16, as a
//    Hugging Face directory in a temporary folder. The single model.safetensors is ~2.2 GB,
//    larger than the 2 GiB that readFileSync accepts. Tensors are generated and written one at
//    a time, so the writer never holds the model.
// 2. In a child process (a fresh heap, so its peak is the loader's alone): loadCheckpoint +
//    DecoderModel.fromCheckpoint, which keeps the weights bf16 and widens them on the fly.
//    The child reads its peak resident set (VmHWM in /proc/self/status) and runs a short
//    prefill and a couple of decode steps to show the model works.
// 3. Prints peak RSS / bytes of the weights as kept in memory (target ≤ 1.3×), then deletes
//    the folder.
//
// The reference is the size of the weights themselves: a loader that read whole files, or
// expanded bf16 to f32, would print ≥ 2× here.
//
//   npx tsx bench/load_memory.ts [--layers 22] [--steps 2] [--keep]
//
// Needs ~2.5 GB free in the temporary folder (os.tmpdir(), or TMPDIR) and Linux (/proc).
// With less disk, it scales the number of layers down and says so.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { LlamaConfig } from "../src/formats/types.js";
import { hfConfigJson } from "../src/formats/hf_config.js";
import { writeBytesAtomic } from "../src/util/atomic_write.js";
import { writeSafetensors, type LazyTensor } from "../src/formats/safetensors.js";
import { loadCheckpoint } from "../src/formats/load.js";
import { DecoderModel } from "../src/generate/decoder.js";
import { getBackend } from "../src/backend/index.js";

const { values } = parseArgs({
  options: {
    layers: { type: "string", default: "22" },
    steps: { type: "string", default: "2" },
    keep: { type: "boolean", default: false },
    child: { type: "string" },
  },
});

const BF16_ONE = 0x3f80;

function tinyLlamaConfig(layers: number): LlamaConfig {
  return {
    model_type: "llama",
    vocab_size: 32000,
    hidden_size: 2048,
    intermediate_size: 5632,
    num_hidden_layers: layers,
    num_attention_heads: 32,
    num_key_value_heads: 4,
    max_position_embeddings: 2048,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: false,
    bos_token_id: 1,
    eos_token_id: 2,
  };
}

/** Every tensor of the checkpoint: name, shape, and whether it is a norm (filled with 1.0). */
function tensorList(c: LlamaConfig): Array<{ name: string; shape: number[]; norm: boolean }> {
  const H = c.hidden_size,
    I = c.intermediate_size,
    V = c.vocab_size;
  const kv = (c.num_key_value_heads * H) / c.num_attention_heads;
  const list = [{ name: "model.embed_tokens.weight", shape: [V, H], norm: false }];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    list.push(
      { name: `${p}.input_layernorm.weight`, shape: [H], norm: true },
      { name: `${p}.self_attn.q_proj.weight`, shape: [H, H], norm: false },
      { name: `${p}.self_attn.k_proj.weight`, shape: [kv, H], norm: false },
      { name: `${p}.self_attn.v_proj.weight`, shape: [kv, H], norm: false },
      { name: `${p}.self_attn.o_proj.weight`, shape: [H, H], norm: false },
      { name: `${p}.post_attention_layernorm.weight`, shape: [H], norm: true },
      { name: `${p}.mlp.gate_proj.weight`, shape: [I, H], norm: false },
      { name: `${p}.mlp.up_proj.weight`, shape: [I, H], norm: false },
      { name: `${p}.mlp.down_proj.weight`, shape: [H, I], norm: false },
    );
  }
  list.push({ name: "model.norm.weight", shape: [H], norm: true }, { name: "lm_head.weight", shape: [V, H], norm: false });
  return list;
}

/**
 * Random bf16 bits, made directly (no f32 detour): random sign and mantissa, exponent 2^-7,
 * so |w| is in [0.0078, 0.0156) — the scale of a trained model's weights, never inf or NaN.
 */
function randomBf16(n: number, seed: number): Uint16Array {
  const out = new Uint16Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5; // xorshift32
    out[i] = (s & 0x807f) | 0x3c00;
  }
  return out;
}

function writeCheckpoint(dir: string, c: LlamaConfig): number {
  let bytes = 0,
    seed = 1;
  const entries: Array<[string, LazyTensor]> = tensorList(c).map(({ name, shape, norm }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    bytes += 2 * n;
    const s = seed++;
    return [name, { dtype: "BF16", shape, load: () => (norm ? new Uint16Array(n).fill(BF16_ONE) : randomBf16(n, s * 2654435761)) }];
  });
  writeSafetensors(join(dir, "model.safetensors"), entries, { format: "pt" });
  writeBytesAtomic(join(dir, "config.json"), JSON.stringify(hfConfigJson(c, "bfloat16"), null, 2) + "\n");
  return bytes;
}

/** kB figures of /proc/self/status (VmHWM: peak resident set; VmRSS: now). */
function procStatus(): { hwm: number; rss: number } {
  const text = readFileSync("/proc/self/status", "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN) * 1024;
  return { hwm: kb("VmHWM"), rss: kb("VmRSS") };
}

/** The child: load, measure, decode a few tokens, print one JSON line. */
async function child(dir: string, steps: number): Promise<void> {
  const before = procStatus();
  let t0 = performance.now();
  const ckpt = await loadCheckpoint(dir);
  const model = DecoderModel.fromCheckpoint(ckpt); // default: bf16 weights stay bf16
  const loadMs = performance.now() - t0;
  const afterLoad = procStatus();
  const prompt = [1, 450, 4996, 17354];
  const cache = model.createCache(1, prompt.length + steps);
  t0 = performance.now();
  let logits = model.forward(
    cache,
    Int32Array.from(prompt),
    Int32Array.from(prompt.keys()),
    new Uint8Array(prompt.length).fill(1),
    prompt.length,
  );
  const prefillMs = performance.now() - t0;
  const argmax = (l: Float32Array) => l.reduce((best, v, i) => (v > l[best]! ? i : best), 0);
  const tokens: number[] = [];
  t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    const next = argmax(logits);
    if (!Number.isFinite(logits[next]!)) throw new Error("logits are not finite");
    tokens.push(next);
    logits = model.forward(cache, Int32Array.of(next), Int32Array.of(prompt.length + s), Uint8Array.of(1), 1);
  }
  const decodeMs = (performance.now() - t0) / Math.max(1, steps);
  const end = procStatus();
  console.log(
    JSON.stringify({
      backend: getBackend().name,
      weightBytes: model.weightBytes,
      baseRss: before.rss,
      loadHwm: afterLoad.hwm,
      hwm: end.hwm,
      loadMs,
      prefillMs,
      decodeMs,
      tokens,
    }),
  );
}

async function main(): Promise<void> {
  if (values.child) return child(values.child, Number(values.steps));
  let layers = Number(values.layers);
  const tmp = tmpdir();
  const fs = statfsSync(tmp);
  const free = fs.bavail * fs.bsize;
  const fileBytes = (l: number) => tensorList(tinyLlamaConfig(l)).reduce((a, t) => a + 2 * t.shape.reduce((x, y) => x * y, 1), 0);
  while (layers > 1 && fileBytes(layers) * 1.1 > free) layers--;
  if (layers !== Number(values.layers)) {
    console.log(
      `only ${(free / 1e9).toFixed(1)} GB free in ${tmp}: scaled down to ${layers} layers (${(fileBytes(layers) / 1e9).toFixed(2)} GB)`,
    );
  }
  const config = tinyLlamaConfig(layers);
  const dir = mkdtempSync(join(tmp, "tsgpt-load-memory-"));
  try {
    let t0 = performance.now();
    const bytes = writeCheckpoint(dir, config);
    const params = bytes / 2;
    console.log(
      `wrote a random bf16 Llama (TinyLlama-1.1B shapes, ${layers} layers): ${(params / 1e9).toFixed(2)}B parameters, ` +
        `${(bytes / 1e9).toFixed(2)} GB (${(bytes / 2 ** 30).toFixed(2)} GiB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    t0 = performance.now();
    const script = fileURLToPath(import.meta.url);
    const res = spawnSync(process.execPath, [...process.execArgv, script, "--child", dir, "--steps", String(values.steps)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 1 << 20,
    });
    if (res.status !== 0) throw new Error(`the child process failed (exit ${res.status ?? res.signal})`);
    const r = JSON.parse(res.stdout.trim().split("\n").pop()!) as {
      backend: string;
      weightBytes: number;
      baseRss: number;
      loadHwm: number;
      hwm: number;
      loadMs: number;
      prefillMs: number;
      decodeMs: number;
      tokens: number[];
    };
    const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;
    console.log(`child (${r.backend} backend): runtime before loading ${gb(r.baseRss)}; loaded in ${(r.loadMs / 1000).toFixed(1)} s`);
    console.log(`weights as kept in memory (bf16): ${gb(r.weightBytes)}`);
    console.log(`peak RSS after loading: ${gb(r.loadHwm)} = ${(r.loadHwm / r.weightBytes).toFixed(3)}× the weights`);
    console.log(
      `prefill of 4 tokens: ${(r.prefillMs / 1000).toFixed(2)} s; decode: ${(r.decodeMs / 1000).toFixed(2)} s/token; greedy tokens ${r.tokens.join(" ")}`,
    );
    console.log(`peak RSS including prefill and decode: ${gb(r.hwm)} = ${(r.hwm / r.weightBytes).toFixed(3)}× the weights (target ≤ 1.3×)`);
  } finally {
    if (values.keep) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
