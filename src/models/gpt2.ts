// GPT-2 (Radford et al., 2019), as Hugging Face's GPT2LMHeadModel names its weights.
//
//   x = wte[ids] + wpe[positions]                                  (B, T, C)
//   for each block:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))   (pre-norm residual blocks)
//   logits = ln_f(x) · wteᵀ                                        (B, T, vocab), tied head
//
// Learned position embeddings, LayerNorm, GELU (tanh form, "gelu_new"), one fused c_attn
// projection for q, k and v. `bias: false` (nanoGPT's option) drops every bias.
import { Generator, Tensor, linear } from "../tensor/index.js";
import {
  AttentionContext, Embedding, GeluMLP, LayerNorm, Linear, Module, ModuleList,
  attentionContext, scaledDotProductAttention,
} from "../nn/index.js";
import { CausalLM, CausalLMOutput, ForwardOptions, causalLMLoss, checkInputIds } from "./causal_lm.js";
import { GPT2Config, validateConfig } from "./config.js";

/** Init options shared by the blocks: one seeded stream, residual projections scaled down. */
interface GPT2Init {
  generator: Generator;
  /** std of projections into the residual stream: 0.02 / √(2·n_layer), as GPT-2 and nanoGPT. */
  residualStd: number;
}

/** Multi-head causal self-attention with a fused q/k/v projection (c_attn). */
export class GPT2Attention extends Module {
  readonly c_attn: Linear;
  readonly c_proj: Linear;
  readonly heads: number;

  constructor(config: GPT2Config, init: GPT2Init) {
    super();
    const C = config.n_embd;
    const bias = config.bias ?? true;
    this.heads = config.n_head;
    this.c_attn = this.registerModule("c_attn", new Linear(C, 3 * C, { bias, generator: init.generator }));
    this.c_proj = this.registerModule("c_proj", new Linear(C, C, { bias, generator: init.generator, std: init.residualStd }));
  }

  forward(x: Tensor, ctx: AttentionContext): Tensor {
    const [B, T, C] = x.shape as [number, number, number];
    const hd = C / this.heads;
    const qkv = this.c_attn.forward(x).view(B, T, 3, this.heads, hd); // (B, T, 3, nH, hd)
    const q = qkv.select(2, 0).transpose(1, 2); // (B, nH, T, hd)
    const k = qkv.select(2, 1).transpose(1, 2); // (B, nH, T, hd)
    const v = qkv.select(2, 2).transpose(1, 2); // (B, nH, T, hd)
    const y = scaledDotProductAttention(q, k, v, ctx); // (B, T, C)
    return this.c_proj.forward(y);
  }
}

/** One transformer block: attention then MLP, each on a LayerNorm'd copy of the residual. */
export class GPT2Block extends Module {
  readonly ln_1: LayerNorm;
  readonly attn: GPT2Attention;
  readonly ln_2: LayerNorm;
  readonly mlp: GeluMLP;

  constructor(config: GPT2Config, init: GPT2Init) {
    super();
    const C = config.n_embd;
    const norm = { eps: config.layer_norm_epsilon, bias: config.bias ?? true };
    this.ln_1 = this.registerModule("ln_1", new LayerNorm(C, norm));
    this.attn = this.registerModule("attn", new GPT2Attention(config, init));
    this.ln_2 = this.registerModule("ln_2", new LayerNorm(C, norm));
    this.mlp = this.registerModule("mlp", new GeluMLP(C, config.n_inner ?? 4 * C, {
      bias: config.bias ?? true, generator: init.generator, outStd: init.residualStd,
    }));
  }

  forward(x: Tensor, ctx: AttentionContext): Tensor {
    x = x.add(this.attn.forward(this.ln_1.forward(x), ctx)); // (B, T, C)
    return x.add(this.mlp.forward(this.ln_2.forward(x))); // (B, T, C)
  }
}

/** The body: embeddings, blocks, final LayerNorm ("transformer." in HF names). */
export class GPT2Model extends Module {
  readonly wte: Embedding;
  readonly wpe: Embedding;
  readonly h: ModuleList<GPT2Block>;
  readonly ln_f: LayerNorm;

  constructor(config: GPT2Config, init: GPT2Init) {
    super();
    const C = config.n_embd;
    this.wte = this.registerModule("wte", new Embedding(config.vocab_size, C, { generator: init.generator }));
    this.wpe = this.registerModule("wpe", new Embedding(config.n_positions, C, { generator: init.generator }));
    this.h = this.registerModule("h", new ModuleList<GPT2Block>());
    for (let i = 0; i < config.n_layer; i++) this.h.append(new GPT2Block(config, init));
    this.ln_f = this.registerModule("ln_f", new LayerNorm(C, { eps: config.layer_norm_epsilon, bias: config.bias ?? true }));
  }

  /** ids (B, T) → final hidden states (B, T, C). */
  forward(ids: Tensor, ctx: AttentionContext): Tensor {
    const pos = new Tensor(ctx.positions, [ctx.batch, ctx.time]);
    let x = this.wte.forward(ids).add(this.wpe.forward(pos)); // (B, T, C)
    for (const block of this.h) x = block.forward(x, ctx);
    return this.ln_f.forward(x);
  }
}

export class GPT2LMHeadModel extends Module implements CausalLM {
  readonly config: GPT2Config;
  readonly transformer: GPT2Model;

  constructor(config: GPT2Config, opts: { seed?: number } = {}) {
    super();
    this.config = validateConfig({ ...config });
    const generator = new Generator(opts.seed ?? 1337);
    const residualStd = 0.02 / Math.sqrt(2 * config.n_layer);
    this.transformer = this.registerModule("transformer", new GPT2Model(this.config, { generator, residualStd }));
  }

  forward(inputIds: Tensor, opts: ForwardOptions = {}): CausalLMOutput {
    const [B, T] = checkInputIds(inputIds, this.config.n_positions);
    const ctx = attentionContext(B, T, opts.attentionMask, opts.positionIds);
    const h = this.transformer.forward(inputIds, ctx); // (B, T, C)
    const logits = linear(h, this.transformer.wte.weight); // (B, T, vocab): the head is wte, tied
    return opts.labels ? { logits, loss: causalLMLoss(logits, opts.labels, ctx.keyValid) } : { logits };
  }
}
