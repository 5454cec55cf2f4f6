// Tiny random Llama and GPT-2 checkpoints for tests (HF tensor names, (out, in) linear weights).
import type { Checkpoint, StoredTensor } from "../../src/formats/types.js";
import { Generator } from "../../src/tensor/random.js";

function randomTensor(rng: Generator, shape: number[], scale: number, offset = 0): StoredTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = offset + (rng.random() * 2 - 1) * scale;
  return { dtype: "F32", shape, data };
}

export function tinyLlama(
  seed = 1,
  opts: { vocab?: number; hidden?: number; layers?: number; heads?: number; kvHeads?: number; context?: number } = {},
): Checkpoint {
  const V = opts.vocab ?? 40,
    H = opts.hidden ?? 16,
    Lr = opts.layers ?? 2,
    nh = opts.heads ?? 4,
    nkv = opts.kvHeads ?? 2;
  const hd = H / nh,
    I = 24,
    kv = nkv * hd;
  const rng = new Generator(seed);
  const t = new Map<string, StoredTensor>();
  t.set("model.embed_tokens.weight", randomTensor(rng, [V, H], 1));
  for (let l = 0; l < Lr; l++) {
    const p = `model.layers.${l}`;
    t.set(`${p}.input_layernorm.weight`, randomTensor(rng, [H], 0.2, 1));
    t.set(`${p}.self_attn.q_proj.weight`, randomTensor(rng, [H, H], 0.5));
    t.set(`${p}.self_attn.k_proj.weight`, randomTensor(rng, [kv, H], 0.5));
    t.set(`${p}.self_attn.v_proj.weight`, randomTensor(rng, [kv, H], 0.5));
    t.set(`${p}.self_attn.o_proj.weight`, randomTensor(rng, [H, H], 0.3));
    t.set(`${p}.post_attention_layernorm.weight`, randomTensor(rng, [H], 0.2, 1));
    t.set(`${p}.mlp.gate_proj.weight`, randomTensor(rng, [I, H], 0.4));
    t.set(`${p}.mlp.up_proj.weight`, randomTensor(rng, [I, H], 0.4));
    t.set(`${p}.mlp.down_proj.weight`, randomTensor(rng, [H, I], 0.3));
  }
  t.set("model.norm.weight", randomTensor(rng, [H], 0.2, 1));
  return {
    config: {
      model_type: "llama",
      vocab_size: V,
      hidden_size: H,
      intermediate_size: I,
      num_hidden_layers: Lr,
      num_attention_heads: nh,
      num_key_value_heads: nkv,
      max_position_embeddings: opts.context ?? 64,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: true,
      bos_token_id: 1,
      eos_token_id: 2,
    },
    tensors: t,
    source: { path: "tiny-llama", format: "hf" },
  };
}

export function tinyGPT2(seed = 2): Checkpoint {
  const V = 40,
    H = 16,
    Lr = 2,
    nh = 4,
    ctx = 64,
    I = 4 * H;
  const rng = new Generator(seed);
  const t = new Map<string, StoredTensor>();
  t.set("transformer.wte.weight", randomTensor(rng, [V, H], 1));
  t.set("transformer.wpe.weight", randomTensor(rng, [ctx, H], 0.3));
  for (let l = 0; l < Lr; l++) {
    const p = `transformer.h.${l}`;
    t.set(`${p}.ln_1.weight`, randomTensor(rng, [H], 0.2, 1));
    t.set(`${p}.ln_1.bias`, randomTensor(rng, [H], 0.1));
    t.set(`${p}.attn.c_attn.weight`, randomTensor(rng, [3 * H, H], 0.5));
    t.set(`${p}.attn.c_attn.bias`, randomTensor(rng, [3 * H], 0.1));
    t.set(`${p}.attn.c_proj.weight`, randomTensor(rng, [H, H], 0.3));
    t.set(`${p}.attn.c_proj.bias`, randomTensor(rng, [H], 0.1));
    t.set(`${p}.ln_2.weight`, randomTensor(rng, [H], 0.2, 1));
    t.set(`${p}.ln_2.bias`, randomTensor(rng, [H], 0.1));
    t.set(`${p}.mlp.c_fc.weight`, randomTensor(rng, [I, H], 0.4));
    t.set(`${p}.mlp.c_fc.bias`, randomTensor(rng, [I], 0.1));
    t.set(`${p}.mlp.c_proj.weight`, randomTensor(rng, [H, I], 0.3));
    t.set(`${p}.mlp.c_proj.bias`, randomTensor(rng, [H], 0.1));
  }
  t.set("transformer.ln_f.weight", randomTensor(rng, [H], 0.2, 1));
  t.set("transformer.ln_f.bias", randomTensor(rng, [H], 0.1));
  return {
    config: {
      model_type: "gpt2",
      vocab_size: V,
      n_embd: H,
      n_layer: Lr,
      n_head: nh,
      n_positions: ctx,
      layer_norm_epsilon: 1e-5,
      bos_token_id: 1,
      eos_token_id: 2,
    },
    tensors: t,
    source: { path: "tiny-gpt2", format: "hf" },
  };
}
