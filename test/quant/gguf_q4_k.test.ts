// Q4_K in GGUF: a model whose rows are multiples of 256 quantized to Q4_K (its tied embedding to
// Q6_K, llama.cpp's output-head rule), written, read back
// with the same bytes (q / k rows permuted back to Hugging Face's layout), and run by the decoder.
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Checkpoint, StoredTensor } from "../../src/formats/types.js";
import { GGUFReader, writeGGUF } from "../../src/formats/gguf.js";
import { readGGUFCheckpoint, writeGGUFCheckpoint } from "../../src/formats/gguf_llama.js";
import { checkTensor } from "../../src/formats/dtypes.js";
import { quantizeCheckpoint, dequantizeCheckpoint } from "../../src/quant/checkpoint.js";
import { DecoderModel } from "../../src/generate/decoder.js";
import { gaussian } from "./data.js";

/** A one-layer Llama with every 2-D weight's rows 256 long (hidden 256, intermediate 256). */
function llama256(): Checkpoint {
  const H = 256,
    I = 256,
    V = 64,
    kv = 128;
  let seed = 1;
  const w = (shape: number[], scale: number): StoredTensor => ({
    dtype: "F32",
    shape,
    data: gaussian(
      shape.reduce((a, b) => a * b, 1),
      seed++,
      scale,
    ),
  });
  const ones = (n: number): StoredTensor => ({ dtype: "F32", shape: [n], data: new Float32Array(n).fill(1) });
  const p = "model.layers.0";
  const tensors = new Map<string, StoredTensor>([
    ["model.embed_tokens.weight", w([V, H], 1)],
    [`${p}.input_layernorm.weight`, ones(H)],
    [`${p}.self_attn.q_proj.weight`, w([H, H], 0.06)],
    [`${p}.self_attn.k_proj.weight`, w([kv, H], 0.06)],
    [`${p}.self_attn.v_proj.weight`, w([kv, H], 0.06)],
    [`${p}.self_attn.o_proj.weight`, w([H, H], 0.06)],
    [`${p}.post_attention_layernorm.weight`, ones(H)],
    [`${p}.mlp.gate_proj.weight`, w([I, H], 0.06)],
    [`${p}.mlp.up_proj.weight`, w([I, H], 0.06)],
    [`${p}.mlp.down_proj.weight`, w([H, I], 0.06)],
    ["model.norm.weight", ones(H)],
  ]);
  return {
    config: {
      model_type: "llama",
      vocab_size: V,
      hidden_size: H,
      intermediate_size: I,
      num_hidden_layers: 1,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 32,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: true,
    },
    tensors,
    source: { path: "llama256", format: "hf" },
  };
}

describe("Q4_K GGUF round trip", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-q4k-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("every 2-D weight is Q4_K (the tied embedding, the output head: Q6_K), bytes survive write and read, the decoder runs it", () => {
    const q = quantizeCheckpoint(llama256(), "Q4_K");
    for (const [name, t] of q.tensors) {
      assert.equal(t.dtype, t.shape.length < 2 ? "F32" : name === "model.embed_tokens.weight" ? "Q6_K" : "Q4_K", name);
    }
    const path = join(dir, "llama256-q4_k.gguf");
    writeGGUFCheckpoint(path, q);

    const r = GGUFReader.open(path);
    try {
      assert.equal(r.metadata.get("general.file_type")?.value, 14); // LLAMA_FTYPE_MOSTLY_Q4_K_S
      const info = r.tensors.find((t) => t.name === "blk.0.ffn_up.weight")!;
      assert.equal(info.dtype, "Q4_K");
      assert.equal(info.byteLength, ((256 * 256) / 256) * 144);
    } finally {
      r.close();
    }

    const back = readGGUFCheckpoint(path);
    assert.deepEqual([...back.tensors.keys()].sort(), [...q.tensors.keys()].sort());
    for (const [name, t] of q.tensors) {
      const u = back.tensors.get(name)!;
      checkTensor(name, u);
      assert.equal(u.dtype, t.dtype, name);
      assert.deepEqual(u.shape, t.shape, name);
      assert.ok(
        Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(
          Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        ),
        `${name}: bytes differ`,
      );
    }

    const tokens = Int32Array.from([1, 7, 30, 2]);
    const run = (c: Checkpoint) => {
      const m = DecoderModel.fromCheckpoint(c);
      return m.forward(m.createCache(1, 4), tokens, Int32Array.from([0, 1, 2, 3]), new Uint8Array(4).fill(1), 4);
    };
    const quant = run(back),
      ref = run(dequantizeCheckpoint(back));
    let diff = 0,
      scale = 0;
    for (let i = 0; i < ref.length; i++) {
      diff = Math.max(diff, Math.abs(quant[i]! - ref[i]!));
      scale = Math.max(scale, Math.abs(ref[i]!));
    }
    assert.ok(diff <= 0.03 * scale, `max |Δ| ${diff} vs max |logit| ${scale}`); // Q8 activation rounding only
  });

  test("Q6_K everywhere: ggml type 14, llama.cpp's file type 18, the same bytes back", () => {
    const q = quantizeCheckpoint(llama256(), "Q6_K");
    for (const [name, t] of q.tensors) assert.equal(t.dtype, t.shape.length < 2 ? "F32" : "Q6_K", name);
    const path = join(dir, "llama256-q6_k.gguf");
    writeGGUFCheckpoint(path, q);
    const r = GGUFReader.open(path);
    try {
      assert.equal(r.metadata.get("general.file_type")?.value, 18); // LLAMA_FTYPE_MOSTLY_Q6_K
      assert.equal(r.tensors.find((t) => t.name === "blk.0.attn_q.weight")!.byteLength, 256 * 210);
    } finally {
      r.close();
    }
    const back = readGGUFCheckpoint(path);
    for (const [name, t] of q.tensors) {
      const u = back.tensors.get(name)!;
      assert.equal(u.dtype, t.dtype, name);
      assert.ok(
        Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(
          Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        ),
        `${name}: bytes differ`,
      );
    }
  });

  test("a GGUF whose Q4_K rows are not a multiple of 256 is refused on read", () => {
    const path = join(dir, "bad-q4_k.gguf");
    // 256 values in rows of 128: the right number of bytes, but no row is a whole super-block.
    writeGGUF(path, { metadata: [], tensors: [["w", { dtype: "Q4_K", shape: [2, 128], data: new Uint8Array(144) }]] });
    assert.throws(() => GGUFReader.open(path), /row length 128 is not a multiple of the Q4_K block size 256/);
    writeGGUF(path, { metadata: [], tensors: [["w", { dtype: "Q6_K", shape: [2, 128], data: new Uint8Array(210) }]] });
    assert.throws(() => GGUFReader.open(path), /row length 128 is not a multiple of the Q6_K block size 256/);
  });
});
