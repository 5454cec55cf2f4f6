// Llama (Touvron et al., 2023), as Hugging Face's LlamaForCausalLM names its weights.
//
//   x = embed_tokens[ids]                                                     (B, T, C)
//   for each layer:  x = x + self_attn(input_layernorm(x))                      RoPE on q, k
//                    x = x + mlp(post_attention_layernorm(x))                   SwiGLU
//   logits = lm_head(norm(x))                                                 (B, T, vocab)
//
// Differences from GPT-2: RMSNorm instead of LayerNorm, no biases, rotary position
// embeddings instead of learned ones, SwiGLU MLP, grouped-query attention
// (num_key_value_heads ≤ num_attention_heads), and an lm_head that may or may not be tied
// to the token embedding.
import { Generator, Tensor, linear } from "../tensor/index.js";
import {
  AttentionContext, Embedding, Linear, Module, ModuleList, RMSNorm, RotaryEmbedding,
  SelfAttention, SwiGLUMLP, attentionContext,
} from "../nn/index.js";
import { CausalLM, CausalLMOutput, ForwardOptions, causalLMLoss, checkInputIds } from "./causal_lm.js";
import { LlamaConfig, validateConfig } from "./config.js";

interface LlamaInit {
  generator: Generator;
  /** std of projections into the residual stream (o_proj, down_proj): 0.02 / √(2·layers), as llama2.c. */
  residualStd: number;
  /** The cos/sin tables, shared by every layer. */
  rope: RotaryEmbedding;
}

export class LlamaDecoderLayer extends Module {
  readonly input_layernorm: RMSNorm;
  readonly self_attn: SelfAttention;
  readonly post_attention_layernorm: RMSNorm;
  readonly mlp: SwiGLUMLP;

  constructor(config: LlamaConfig, init: LlamaInit) {
    super();
    const C = config.hidden_size;
    // HF registers self_attn, mlp, then the two norms; the order only affects listing.
    this.self_attn = this.registerModule("self_attn", new SelfAttention({
      hidden: C, heads: config.num_attention_heads, kvHeads: config.num_key_value_heads,
      rope: init.rope, generator: init.generator, outStd: init.residualStd,
    }));
    this.mlp = this.registerModule("mlp", new SwiGLUMLP(C, config.intermediate_size, {
      generator: init.generator, outStd: init.residualStd,
    }));
    this.input_layernorm = this.registerModule("input_layernorm", new RMSNorm(C, config.rms_norm_eps));
    this.post_attention_layernorm = this.registerModule("post_attention_layernorm", new RMSNorm(C, config.rms_norm_eps));
  }

  forward(x: Tensor, ctx: AttentionContext): Tensor {
    x = x.add(this.self_attn.forward(this.input_layernorm.forward(x), ctx)); // (B, T, C)
    return x.add(this.mlp.forward(this.post_attention_layernorm.forward(x))); // (B, T, C)
  }
}

/** The body ("model." in HF names): embedding, layers, final norm. */
export class LlamaModel extends Module {
  readonly embed_tokens: Embedding;
  readonly layers: ModuleList<LlamaDecoderLayer>;
  readonly norm: RMSNorm;

  constructor(config: LlamaConfig, init: LlamaInit) {
    super();
    const C = config.hidden_size;
    this.embed_tokens = this.registerModule("embed_tokens", new Embedding(config.vocab_size, C, { generator: init.generator }));
    this.layers = this.registerModule("layers", new ModuleList<LlamaDecoderLayer>());
    for (let i = 0; i < config.num_hidden_layers; i++) this.layers.append(new LlamaDecoderLayer(config, init));
    this.norm = this.registerModule("norm", new RMSNorm(C, config.rms_norm_eps));
  }

  /** ids (B, T) → final hidden states (B, T, C). */
  forward(ids: Tensor, ctx: AttentionContext): Tensor {
    let x = this.embed_tokens.forward(ids); // (B, T, C)
    for (const layer of this.layers) x = layer.forward(x, ctx);
    return this.norm.forward(x);
  }
}

export class LlamaForCausalLM extends Module implements CausalLM {
  readonly config: LlamaConfig;
  readonly model: LlamaModel;
  /** The output projection; null when tied to model.embed_tokens (tie_word_embeddings). */
  readonly lm_head: Linear | null;
  readonly rope: RotaryEmbedding;

  constructor(config: LlamaConfig, opts: { seed?: number } = {}) {
    super();
    this.config = validateConfig({ ...config });
    const c = this.config;
    const generator = new Generator(opts.seed ?? 1337);
    this.rope = new RotaryEmbedding(c.hidden_size / c.num_attention_heads, c.max_position_embeddings, c.rope_theta);
    const init = { generator, residualStd: 0.02 / Math.sqrt(2 * c.num_hidden_layers), rope: this.rope };
    this.model = this.registerModule("model", new LlamaModel(c, init));
    this.lm_head = c.tie_word_embeddings
      ? null
      : this.registerModule("lm_head", new Linear(c.hidden_size, c.vocab_size, { bias: false, generator }));
  }

  forward(inputIds: Tensor, opts: ForwardOptions = {}): CausalLMOutput {
    const [B, T] = checkInputIds(inputIds, this.config.max_position_embeddings);
    const ctx = attentionContext(B, T, opts.attentionMask, opts.positionIds);
    const h = this.model.forward(inputIds, ctx); // (B, T, C)
    const logits = this.lm_head ? this.lm_head.forward(h) : linear(h, this.model.embed_tokens.weight); // (B, T, vocab)
    return opts.labels ? { logits, loss: causalLMLoss(logits, opts.labels, ctx.keyValid) } : { logits };
  }
}
