// config.json → ModelConfig: transformers' defaults for the fields a file leaves out, the file's
// own values where it has them, and errors that name the file, the field and what was expected.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hfConfigJson, readHFConfig } from "../../src/formats/hf_config.js";
import { ConfigError } from "../../src/arch/config_fields.js";
import { FormatError } from "../../src/util/errors.js";

const dir = mkdtempSync(join(tmpdir(), "tsgpt-hf-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let count = 0;
/** Writes `json` as a config.json of its own and returns its path. */
function configFile(json: unknown): string {
  const path = join(dir, `config-${count++}.json`);
  writeFileSync(path, JSON.stringify(json));
  return path;
}

// The defaults of transformers' LlamaConfig and GPT2Config (configuration_llama.py,
// configuration_gpt2.py): what `from_pretrained` gives a config.json that leaves these out.
const LLAMA_DEFAULTS = { max_position_embeddings: 2048, rms_norm_eps: 1e-6, rope_theta: 10000, tie_word_embeddings: false };
const GPT2_DEFAULTS = { n_positions: 1024, layer_norm_epsilon: 1e-5, activation_function: "gelu_new", tie_word_embeddings: true };

const llamaSizes = { vocab_size: 32, hidden_size: 16, intermediate_size: 40, num_hidden_layers: 2, num_attention_heads: 4 };
const gpt2Sizes = { vocab_size: 32, n_embd: 16, n_layer: 2, n_head: 4 };

describe("missing optional fields take transformers' defaults", () => {
  test("Llama (num_key_value_heads defaults to num_attention_heads)", () => {
    const config = readHFConfig(configFile({ architectures: ["LlamaForCausalLM"], ...llamaSizes }));
    assert.deepEqual(config, { model_type: "llama", ...llamaSizes, num_key_value_heads: 4, ...LLAMA_DEFAULTS });
  });

  test("GPT-2 (plus tsgpt's bias, true unless a config turns it off)", () => {
    const config = readHFConfig(configFile({ model_type: "gpt2", ...gpt2Sizes }));
    assert.deepEqual(config, { model_type: "gpt2", ...gpt2Sizes, ...GPT2_DEFAULTS, bias: true });
  });

  test("null counts as missing, as None does in transformers", () => {
    const config = readHFConfig(
      configFile({ model_type: "llama", ...llamaSizes, num_key_value_heads: null, rope_theta: null, pad_token_id: null }),
    );
    assert.deepEqual(config, { model_type: "llama", ...llamaSizes, num_key_value_heads: 4, ...LLAMA_DEFAULTS });
    // GPT-2's n_inner: null (how transformers writes it) is kept, so the file round-trips.
    assert.deepEqual(readHFConfig(configFile({ model_type: "gpt2", ...gpt2Sizes, n_inner: null })), {
      model_type: "gpt2",
      ...gpt2Sizes,
      n_inner: null,
      ...GPT2_DEFAULTS,
      bias: true,
    });
  });

  test("token ids are not invented: transformers' bos 1 / eos 2 belong to Llama's own vocabulary", () => {
    const config = readHFConfig(configFile({ model_type: "llama", ...llamaSizes }));
    assert.equal("bos_token_id" in config || "eos_token_id" in config || "pad_token_id" in config, false);
  });
});

test("values in the file win; unknown fields are dropped; of several EOS ids the first is kept", () => {
  const file = {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    ...llamaSizes,
    num_key_value_heads: 2,
    max_position_embeddings: 8192,
    rms_norm_eps: 1e-5,
    rope_theta: 500000,
    tie_word_embeddings: true,
    bos_token_id: 0,
    eos_token_id: [1, 9],
    pad_token_id: 3,
    hidden_act: "silu",
    torch_dtype: "bfloat16",
    transformers_version: "4.40.0",
  };
  assert.deepEqual(readHFConfig(configFile(file)), {
    model_type: "llama",
    ...llamaSizes,
    num_key_value_heads: 2,
    max_position_embeddings: 8192,
    rms_norm_eps: 1e-5,
    rope_theta: 500000,
    tie_word_embeddings: true,
    bos_token_id: 0,
    eos_token_id: 1,
    pad_token_id: 3,
  });
});

test("what hfConfigJson writes reads back as the same config", () => {
  for (const json of [
    { model_type: "llama", ...llamaSizes, eos_token_id: 2 },
    { model_type: "gpt2", ...gpt2Sizes, n_inner: 24, bias: false },
  ]) {
    const config = readHFConfig(configFile(json));
    assert.deepEqual(readHFConfig(configFile(hfConfigJson(config, "float32"))), config);
  }
});

describe("a bad config.json gives a ConfigError (a FormatError) naming the file, the field and what was expected", () => {
  const llama = { model_type: "llama", ...llamaSizes };
  const gpt2 = { model_type: "gpt2", ...gpt2Sizes };
  const cases: Array<[string, unknown, string, RegExp]> = [
    ["a missing size", { ...llama, hidden_size: undefined }, "hidden_size", /expected a positive integer, got nothing$/],
    ["a size that is not an integer", { ...gpt2, n_layer: 2.5 }, "n_layer", /expected a positive integer, got 2\.5$/],
    ["eps of zero", { ...llama, rms_norm_eps: 0 }, "rms_norm_eps", /expected a positive number, got 0$/],
    ["rope_theta as a string", { ...llama, rope_theta: "1e4" }, "rope_theta", /expected a positive number, got "1e4"$/],
    [
      "tie_word_embeddings as a string",
      { ...llama, tie_word_embeddings: "yes" },
      "tie_word_embeddings",
      /expected true or false, got "yes"$/,
    ],
    [
      "heads that do not divide hidden_size",
      { ...llama, num_attention_heads: 3 },
      "num_attention_heads",
      /expected a divisor of hidden_size \(16\), got 3$/,
    ],
    [
      "an odd head size (rotary embeddings need pairs)",
      { ...llama, hidden_size: 12, num_attention_heads: 4 },
      "hidden_size",
      /to be even .*got 12 \/ 4 = 3$/,
    ],
    [
      "kv heads that do not divide the heads",
      { ...llama, num_key_value_heads: 3 },
      "num_key_value_heads",
      /expected a divisor of num_attention_heads \(4\), got 3$/,
    ],
    ["GPT-2 heads that do not divide n_embd", { ...gpt2, n_head: 3 }, "n_head", /expected a divisor of n_embd \(16\), got 3$/],
    [
      "an activation GPT-2 does not use",
      { ...gpt2, activation_function: "relu" },
      "activation_function",
      /expected "gelu_new" or "gelu_pytorch_tanh" .*got "relu"$/,
    ],
    ["an untied GPT-2", { ...gpt2, tie_word_embeddings: false }, "tie_word_embeddings", /expected true .*lm_head.*got false$/],
    ["n_inner of zero", { ...gpt2, n_inner: 0 }, "n_inner", /expected a positive integer, got 0$/],
    ["a negative token id", { ...llama, bos_token_id: -1 }, "bos_token_id", /expected a token id \(non-negative integer\), got -1$/],
    [
      "a bad id in an EOS list",
      { ...llama, eos_token_id: [2, "x"] },
      "eos_token_id",
      /expected a token id or a list of token ids, got \[2,"x"\]$/,
    ],
    [
      "architectures that is not a list",
      { ...llama, architectures: "LlamaForCausalLM" },
      "architectures",
      /expected a list of class names, got "LlamaForCausalLM"$/,
    ],
    [
      "an unsupported model",
      { model_type: "falcon" },
      "model_type",
      /expected LlamaForCausalLM or GPT2LMHeadModel or \S+ForCausalLM.*\(model_type "llama" or "gpt2" or .*\), got "falcon"$/,
    ],
  ];
  for (const [what, json, field, expected] of cases) {
    test(what, () => {
      const path = configFile(json);
      assert.throws(
        () => readHFConfig(path),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError && e instanceof FormatError, String(e));
          assert.equal(e.file, path);
          assert.equal(e.source, path);
          assert.equal(e.field, field);
          assert.ok(e.message.startsWith(`${path}: ${field}: `), e.message);
          assert.match(e.message, expected);
          return true;
        },
      );
    });
  }
});
