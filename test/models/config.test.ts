// Config validation and the named presets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ConfigError,
  configFromJSON,
  createModel,
  modelFromPreset,
  presetConfig,
  presetNames,
  validateConfig,
} from "../../src/models/index.js";
import { readHFConfig } from "../../src/formats/hf_config.js";
import { FormatError } from "../../src/util/errors.js";
import { tinyGPT2Config, tinyLlamaConfig } from "./tiny.js";

test("configFromJSON fills Hugging Face defaults", () => {
  const llama = configFromJSON(
    {
      architectures: ["LlamaForCausalLM"],
      vocab_size: 32,
      hidden_size: 16,
      intermediate_size: 40,
      num_hidden_layers: 1,
      num_attention_heads: 2,
    },
    "a/config.json",
  );
  assert.equal(llama.model_type, "llama");
  if (llama.model_type !== "llama") return;
  assert.equal(llama.num_key_value_heads, 2);
  assert.equal(llama.rope_theta, 10000);
  assert.equal(llama.rms_norm_eps, 1e-6);
  assert.equal(llama.tie_word_embeddings, false);
  const gpt2 = configFromJSON(
    { model_type: "gpt2", vocab_size: 32, n_embd: 16, n_layer: 1, n_head: 2, n_positions: 8, eos_token_id: [5, 6] },
    "b",
  );
  assert.equal(gpt2.model_type, "gpt2");
  if (gpt2.model_type !== "gpt2") return;
  assert.equal(gpt2.activation_function, "gelu_new");
  assert.equal(gpt2.eos_token_id, 5);
});

test("config errors name the file and the field", () => {
  const base = {
    model_type: "llama",
    vocab_size: 32,
    hidden_size: 18,
    intermediate_size: 40,
    num_hidden_layers: 1,
    num_attention_heads: 4,
  };
  assert.throws(
    () => configFromJSON(base, "m/config.json"),
    (e: Error) =>
      e instanceof ConfigError && /^m\/config\.json: num_attention_heads: expected a divisor of hidden_size \(18\), got 4$/.test(e.message),
  );
  assert.throws(
    () => configFromJSON({ ...base, hidden_size: 16, num_key_value_heads: 3 }, "x"),
    /x: num_key_value_heads: expected a divisor of num_attention_heads \(4\), got 3/,
  );
  assert.throws(
    () => configFromJSON({ ...base, hidden_size: 12, num_attention_heads: 4 }, "x"),
    /x: hidden_size: expected hidden_size \/ num_attention_heads to be even .*got 12 \/ 4 = 3/,
  );
  assert.throws(() => configFromJSON({ ...base, vocab_size: -1 }, "x"), /x: vocab_size: expected a positive integer, got -1/);
  assert.throws(() => configFromJSON({ ...base, vocab_size: undefined }, "x"), /x: vocab_size: expected a positive integer, got nothing/);
  assert.throws(() => configFromJSON({ ...base, rope_theta: "big" }, "x"), /x: rope_theta: expected a positive number, got "big"/);
  assert.throws(
    () => configFromJSON({ model_type: "bert" }, "x"),
    /x: model_type: expected LlamaForCausalLM or GPT2LMHeadModel or \S+ForCausalLM.*\(model_type "llama" or "gpt2" or .*\), got "bert"/,
  );
  assert.throws(() => configFromJSON([1, 2], "x"), /x: \(root\): expected a JSON object, got a list/);
  const g = { model_type: "gpt2", vocab_size: 32, n_embd: 16, n_layer: 1, n_head: 3, n_positions: 8 };
  assert.throws(() => configFromJSON(g, "g.json"), /g\.json: n_head: expected a divisor of n_embd \(16\), got 3/);
  assert.throws(
    () => configFromJSON({ ...g, n_head: 2, activation_function: "relu" }, "g"),
    /g: activation_function: expected "gelu_new" or "gelu_pytorch_tanh" \(the tanh form of GELU\), got "relu"/,
  );
  assert.throws(() => createModel(tinyGPT2Config({ n_head: 5 })), /ConfigError: config: n_head: /);
  assert.throws(() => createModel(tinyLlamaConfig({ num_key_value_heads: 3 })), /ConfigError: config: num_key_value_heads: /);
});

/** The config a call returns, or the error it throws, as plain data to compare. */
function outcome(f: () => unknown): unknown {
  try {
    return { config: f() };
  } catch (e) {
    return { error: (e as Error).name, message: (e as Error).message };
  }
}

test("models and Hugging Face directories read a config by the same rules", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-config-"));
  try {
    const llama = {
      model_type: "llama",
      vocab_size: 32,
      hidden_size: 16,
      intermediate_size: 40,
      num_hidden_layers: 1,
      num_attention_heads: 4,
    };
    const gpt2 = { architectures: ["GPT2LMHeadModel"], vocab_size: 32, n_embd: 16, n_layer: 1, n_head: 2 };
    const cases: unknown[] = [
      llama,
      { ...llama, num_key_value_heads: 2, eos_token_id: [2, 3] },
      gpt2,
      { ...gpt2, n_inner: null, bias: false },
      { ...llama, num_key_value_heads: 3 },
      { ...llama, vocab_size: undefined },
      { ...gpt2, activation_function: "gelu" },
      { ...gpt2, tie_word_embeddings: false },
      { ...gpt2, layer_norm_epsilon: -1 },
      { architectures: ["BertModel"] },
    ];
    let failures = 0;
    cases.forEach((json, i) => {
      const path = join(dir, `config-${i}.json`);
      writeFileSync(path, JSON.stringify(json));
      const fromFile = outcome(() => readHFConfig(path));
      assert.deepEqual(
        outcome(() => configFromJSON(json, path)),
        fromFile,
        path,
      );
      if ("error" in (fromFile as object)) failures++;
    });
    assert.equal(failures, 6, "the bad cases fail, the good ones do not");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(new ConfigError("f", "x", "bad") instanceof FormatError);
});

test("validateConfig fills defaults into a copy and leaves its argument alone", () => {
  const given = tinyGPT2Config();
  const checked = validateConfig(given);
  assert.deepEqual(given, tinyGPT2Config());
  assert.deepEqual(checked, configFromJSON(given, "config"));
  assert.deepEqual([checked.activation_function, checked.tie_word_embeddings, checked.bias], ["gelu_new", true, true]);
  assert.deepEqual(validateConfig(tinyLlamaConfig()), tinyLlamaConfig());
});

test("presets have the documented sizes and accept overrides", () => {
  assert.deepEqual(presetNames(), ["gpt-mini", "llama-15m", "llama-110m"]);
  const mini = presetConfig("gpt-mini", { vocabSize: 512 });
  assert.deepEqual([mini.model_type, mini.vocab_size], ["gpt2", 512]);
  if (mini.model_type === "gpt2") assert.deepEqual([mini.n_layer, mini.n_head, mini.n_embd, mini.n_positions], [4, 4, 128, 64]);
  assert.throws(() => presetConfig("gpt-mini"), /vocab_size.*tokenizer/);
  const l15 = presetConfig("llama-15m");
  if (l15.model_type !== "llama") throw new Error("llama-15m is not llama");
  assert.deepEqual(
    [l15.hidden_size, l15.num_hidden_layers, l15.num_attention_heads, l15.max_position_embeddings, l15.vocab_size, l15.intermediate_size],
    [288, 6, 6, 256, 32000, 768],
  );
  const l110 = presetConfig("llama-110m", { vocabSize: 4096, context: 512 });
  if (l110.model_type !== "llama") throw new Error("llama-110m is not llama");
  assert.deepEqual(
    [
      l110.hidden_size,
      l110.num_hidden_layers,
      l110.num_attention_heads,
      l110.max_position_embeddings,
      l110.vocab_size,
      l110.intermediate_size,
    ],
    [768, 12, 12, 512, 4096, 2048],
  );
  assert.throws(() => presetConfig("gpt-huge"), /unknown model preset 'gpt-huge' \(known: gpt-mini, llama-15m, llama-110m\)/);
  const m = modelFromPreset("llama-15m", { vocabSize: 512, seed: 3 });
  // llama2.c's 260K-vocab-512 arithmetic: embeddings + 6 layers of attention, SwiGLU and norms + final norm (tied head).
  const C = 288,
    I = 768;
  assert.equal(m.numParameters(), 512 * C + 6 * (4 * C * C + 3 * C * I + 2 * C) + C);
});

test("the same seed gives the same weights; another seed does not", () => {
  const a = createModel(tinyLlamaConfig(), { seed: 9 }).parameters()[1]!.data();
  const b = createModel(tinyLlamaConfig(), { seed: 9 }).parameters()[1]!.data();
  const c = createModel(tinyLlamaConfig(), { seed: 10 }).parameters()[1]!.data();
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});
