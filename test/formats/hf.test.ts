import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readHFCheckpoint, saveHFCheckpoint } from "../../src/formats/hf.js";
import { loadCheckpointSync, saveCheckpointSync } from "../../src/formats/load.js";
import { readSafetensors, writeSafetensors } from "../../src/formats/safetensors.js";
import type { GPT2Config, LlamaConfig, StoredTensor } from "../../src/formats/types.js";
import { f32ToBf16, f32ToF16 } from "../../src/tensor/half.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";

const dir = mkdtempSync(join(tmpdir(), "tsgpt-hf-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const binPath = () => sharedPath("models", "stories260K", "stories260K.bin");

describe("Hugging Face directories: Llama", { skip: skipUnlessShared("models", "stories260K", "stories260K.bin") }, () => {
  test("llama2.c → HF → back: same config, tensors and tokenizer", () => {
    const ck = loadCheckpointSync(binPath());
    assert.ok(ck.tokenizerPath?.endsWith("tok512.model"), `tokenizer found beside the .bin: ${ck.tokenizerPath}`);
    const out = join(dir, "stories");
    saveHFCheckpoint(out, ck);
    const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    assert.deepEqual(config.architectures, ["LlamaForCausalLM"]);
    assert.equal(config.model_type, "llama");
    assert.equal(config.torch_dtype, "float32");
    assert.equal(config.tie_word_embeddings, true);
    assert.ok(readFileSync(join(out, "tokenizer.model")).equals(readFileSync(ck.tokenizerPath!)));
    assert.deepEqual(JSON.parse(readFileSync(join(out, "generation_config.json"), "utf8")), { bos_token_id: 1, eos_token_id: 2 });
    assert.equal(readSafetensors(join(out, "model.safetensors")).metadata.format, "pt");

    const back = loadCheckpointSync(out);
    assert.equal(back.source.format, "hf");
    assert.deepEqual(back.config, ck.config);
    assert.deepEqual(back.generation, { bos_token_id: 1, eos_token_id: 2 });
    assert.equal(back.tokenizerPath, join(out, "tokenizer.model"));
    assert.deepEqual([...back.tensors.keys()].sort(), [...ck.tensors.keys()].sort());
    for (const [name, t] of ck.tensors) assert.deepEqual(back.tensors.get(name), t, name);

    // HF → llama2.c restores the original weights byte for byte (RoPE tables are recomputed).
    const bin = join(dir, "from-hf.bin");
    saveCheckpointSync(bin, back, "llama2c");
    const a = readFileSync(bin),
      b = readFileSync(binPath());
    const tables = 2 * 512 * 4 * 4;
    assert.equal(a.length, b.length);
    assert.ok(a.subarray(0, a.length - tables).equals(b.subarray(0, b.length - tables)));
  });

  test("saves F16 and BF16 weights, converted tensor by tensor", () => {
    const ck = loadCheckpointSync(binPath());
    for (const dtype of ["F16", "BF16"] as const) {
      const out = join(dir, `stories-${dtype}`);
      saveHFCheckpoint(out, ck, { dtype });
      const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
      assert.equal(config.torch_dtype, dtype === "F16" ? "float16" : "bfloat16");
      const back = readHFCheckpoint(out);
      const q = ck.tensors.get("model.layers.1.self_attn.q_proj.weight")!.data as Float32Array;
      const bq = back.tensors.get("model.layers.1.self_attn.q_proj.weight")!;
      assert.equal(bq.dtype, dtype);
      assert.deepEqual(bq.data, dtype === "F16" ? f32ToF16(q) : f32ToBf16(q));
    }
  });

  test("reads sharded checkpoints through model.safetensors.index.json", () => {
    const ck = loadCheckpointSync(binPath());
    const out = join(dir, "sharded");
    saveHFCheckpoint(out, ck);
    rmSync(join(out, "model.safetensors"));
    const names = [...ck.tensors.keys()];
    const half = Math.floor(names.length / 2);
    const shards = [names.slice(0, half), names.slice(half)];
    const weightMap: Record<string, string> = {};
    shards.forEach((list, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeSafetensors(
        join(out, file),
        list.map((n) => [n, ck.tensors.get(n)!] as [string, StoredTensor]),
        { format: "pt" },
      );
      for (const n of list) weightMap[n] = file;
    });
    writeFileSync(join(out, "model.safetensors.index.json"), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
    const back = readHFCheckpoint(out);
    for (const [name, t] of ck.tensors) assert.deepEqual(back.tensors.get(name), t, name);

    writeFileSync(
      join(out, "model.safetensors.index.json"),
      JSON.stringify({ weight_map: { ...weightMap, "model.norm.weight": "../evil.safetensors" } }),
    );
    assert.throws(
      () => readHFCheckpoint(out),
      /model\.safetensors\.index\.json: weight_map\.model\.norm\.weight: expected a \.safetensors file name in the same directory/,
    );
    writeFileSync(
      join(out, "model.safetensors.index.json"),
      JSON.stringify({ weight_map: { ...weightMap, "extra.weight": "model-00001-of-00002.safetensors" } }),
    );
    assert.throws(
      () => readHFCheckpoint(out),
      /model-00001-of-00002\.safetensors: extra\.weight: listed in model\.safetensors\.index\.json but not in this shard/,
    );
  });
});

/** Writes a config.json (and optionally weights) into a fresh directory. */
function hfDir(name: string, config: unknown, tensors?: Array<[string, StoredTensor]>): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "config.json"), typeof config === "string" ? config : JSON.stringify(config));
  if (tensors) writeSafetensors(join(d, "model.safetensors"), tensors, { format: "pt" });
  return d;
}

describe("Hugging Face directories: GPT-2", () => {
  const config = {
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    vocab_size: 10,
    n_embd: 4,
    n_layer: 1,
    n_head: 2,
    n_positions: 8,
    layer_norm_epsilon: 1e-5,
  };
  const range = (n: number) => Float32Array.from({ length: n }, (_, i) => i);
  // As HF stores it: Conv1D weights (in, out), no "transformer." prefix, with a causal-mask buffer.
  const stored: Array<[string, StoredTensor]> = [
    ["wte.weight", { dtype: "F32", shape: [10, 4], data: range(40) }],
    ["wpe.weight", { dtype: "F32", shape: [8, 4], data: range(32) }],
    ["h.0.attn.c_attn.weight", { dtype: "F32", shape: [4, 12], data: range(48) }],
    ["h.0.attn.c_attn.bias", { dtype: "F32", shape: [12], data: range(12) }],
    ["h.0.attn.bias", { dtype: "F32", shape: [1, 1, 8, 8], data: range(64) }],
    ["h.0.mlp.c_fc.weight", { dtype: "F16", shape: [4, 16], data: f32ToF16(range(64)) }],
    ["h.0.mlp.c_proj.weight", { dtype: "F32", shape: [16, 4], data: range(64) }],
    ["ln_f.weight", { dtype: "F32", shape: [4], data: range(4) }],
  ];

  test("Conv1D weights are transposed to (out, in) on load and back on save", () => {
    const d = hfDir("gpt2", config, stored);
    const ck = readHFCheckpoint(d);
    assert.equal((ck.config as GPT2Config).n_embd, 4);
    assert.deepEqual([...ck.tensors.keys()].sort(), [
      "transformer.h.0.attn.c_attn.bias",
      "transformer.h.0.attn.c_attn.weight",
      "transformer.h.0.mlp.c_fc.weight",
      "transformer.h.0.mlp.c_proj.weight",
      "transformer.ln_f.weight",
      "transformer.wpe.weight",
      "transformer.wte.weight",
    ]);
    const w = ck.tensors.get("transformer.h.0.attn.c_attn.weight")!;
    assert.deepEqual(w.shape, [12, 4]);
    // Row o of the (out, in) weight is column o of the stored (in, out) one.
    assert.deepEqual([...(w.data as Float32Array).subarray(4, 8)], [1, 13, 25, 37]);
    const fc = ck.tensors.get("transformer.h.0.mlp.c_fc.weight")!;
    assert.deepEqual(fc.shape, [16, 4]);
    assert.equal(fc.dtype, "F16");

    const out = join(dir, "gpt2-saved");
    saveHFCheckpoint(out, ck);
    const raw = readSafetensors(join(out, "model.safetensors")).tensors;
    assert.deepEqual(raw.get("transformer.h.0.attn.c_attn.weight"), stored[2]![1]);
    assert.deepEqual(raw.get("transformer.h.0.mlp.c_fc.weight"), stored[5]![1]);
    assert.equal(raw.has("lm_head.weight"), false);
    const again = readHFCheckpoint(out);
    for (const [name, t] of ck.tensors) assert.deepEqual(again.tensors.get(name), t, name);
  });

  describe("bad directories give errors naming the file and field", () => {
    const cases: Array<[string, () => string, RegExp]> = [
      [
        "no config.json",
        () => {
          const d = join(dir, "empty");
          mkdirSync(d, { recursive: true });
          return d;
        },
        /empty: config\.json: .*must contain config\.json/,
      ],
      ["config.json not JSON", () => hfDir("badjson", "{nope"), /config\.json: JSON: invalid JSON/],
      [
        "missing field",
        () => hfDir("nofield", { ...config, n_embd: undefined }, stored),
        /config\.json: n_embd: expected a positive integer, got nothing/,
      ],
      [
        "wrong type",
        () => hfDir("wrongtype", { ...config, n_layer: "12" }, stored),
        /config\.json: n_layer: expected a positive integer, got "12"/,
      ],
      [
        "unsupported architecture",
        () => hfDir("bert", { architectures: ["BertModel"], model_type: "bert" }, stored),
        /config\.json: architectures: expected LlamaForCausalLM or GPT2LMHeadModel or \S+ForCausalLM.*\(model_type "llama" or "gpt2" or .*\), got \["BertModel"\]/,
      ],
      [
        "llama heads",
        () =>
          hfDir("heads", {
            model_type: "llama",
            vocab_size: 8,
            hidden_size: 6,
            intermediate_size: 8,
            num_hidden_layers: 1,
            num_attention_heads: 4,
          }),
        /config\.json: num_attention_heads: expected a divisor of hidden_size \(6\), got 4/,
      ],
      ["no weights", () => hfDir("noweights", config), /noweights: model\.safetensors: no model\.safetensors/],
      [
        "integer weights",
        () => hfDir("intweights", config, [["wte.weight", { dtype: "I32", shape: [2], data: new Int32Array(2) }]]),
        /model\.safetensors: wte\.weight: dtype I32 is not a weight dtype/,
      ],
      [
        "bad generation config",
        () => {
          const d = hfDir("gen", config, stored);
          writeFileSync(join(d, "generation_config.json"), JSON.stringify({ top_p: 3 }));
          return d;
        },
        /generation_config\.json: top_p: expected a number in \(0, 1\]/,
      ],
    ];
    for (const [what, make, re] of cases) {
      test(what, () => {
        const d = make();
        assert.throws(() => loadCheckpointSync(d), re);
      });
    }
  });

  test("generation_config.json is read into GenerationDefaults", () => {
    const d = hfDir("gen-ok", config, stored);
    writeFileSync(
      join(d, "generation_config.json"),
      JSON.stringify({ do_sample: true, temperature: 0.7, top_k: 40, top_p: 0.9, eos_token_id: [2, 3], transformers_version: "4.0" }),
    );
    const ck = readHFCheckpoint(d);
    assert.deepEqual(ck.generation, { do_sample: true, temperature: 0.7, top_k: 40, top_p: 0.9, eos_token_id: [2, 3] });
    assert.equal(existsSync(join(d, "tokenizer.model")), false);
    assert.equal(ck.tokenizerPath, undefined);
    assert.equal((readHFCheckpoint(d).config as LlamaConfig | GPT2Config).model_type, "gpt2");
  });
});
