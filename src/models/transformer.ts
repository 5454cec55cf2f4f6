// The decoder-only transformer, built from an architecture description (src/arch/): GPT-2,
// Llama, and every family described there are this one model with a different layout.
//
//   x = token_embd[ids]  (+ position_embd[positions] when positions are learned)
//   for each block:  x = x + attention(attn_norm(x))        pre-norm residual blocks
//                    x = x + mlp(ffn_norm(x))
//   logits = output(output_norm(x))                          output = token_embd when tied
//
// Modules sit under the Hugging Face names the description gives ("model.layers.0.self_attn.
// q_proj" for Llama, "transformer.h.0.attn.c_attn" for GPT-2), so state dicts, LoRA targets and
// PEFT adapters use transformers' names. They are created in transformers' order, which fixes
// the order the initial weights are drawn from the seeded generator.
import { Generator, Tensor, linear } from "../tensor/index.js";
import {
  type AttentionContext,
  Embedding,
  LayerNorm,
  Linear,
  type Module,
  ModuleDict,
  ModuleList,
  RMSNorm,
  RotaryEmbedding,
  attentionContext,
  packedCausalAttention,
  scaledDotProductAttention,
} from "../nn/index.js";
import {
  architectureOf,
  hasGlobalRole,
  parseModelConfig,
  roleShapes,
  type Architecture,
  type BlockLayout,
  type GlobalRole,
  type LayerRole,
  type ModelConfig,
  type ModelDims,
} from "../arch/index.js";
import { type CausalLM, type CausalLMOutput, type ForwardOptions, causalLMLoss, checkInputIds } from "./causal_lm.js";

/** What every block shares: sizes, layout, the seeded stream, and the RoPE tables. */
interface BlockSetup {
  dims: ModelDims;
  layout: BlockLayout;
  generator: Generator;
  /** std of projections into the residual stream (attn_output, ffn_down): 0.02 / √(2·layers), as GPT-2 and llama2.c. */
  residualStd: number;
  rope: RotaryEmbedding | null;
}

/** Puts `module` at dotted `path` under `root`, creating the ModuleDicts on the way. */
function place<M extends Module>(root: ModuleDict, path: string, module: M): M {
  const parts = path.split(".");
  let dict = root;
  for (const part of parts.slice(0, -1)) {
    if (!dict.has(part)) dict.set(part, new ModuleDict());
    const next = dict.get(part);
    if (!(next instanceof ModuleDict)) throw new Error(`module path '${path}': '${part}' is not a container`);
    dict = next;
  }
  return dict.set(parts[parts.length - 1]!, module);
}

/** A new module for `role`: a norm, a linear layer or an embedding, with the layout's biases. */
function makeModule(role: GlobalRole | LayerRole, s: BlockSetup): Module {
  const { weight, bias } = roleShapes(role, s.dims, s.layout);
  const g = s.generator;
  switch (role) {
    case "token_embd":
    case "position_embd":
      return new Embedding(weight[0]!, weight[1]!, { generator: g });
    case "attn_q_norm":
    case "attn_k_norm": // over each head (Qwen3)
      return new RMSNorm(weight[0]!, s.layout.eps);
    case "output_norm":
    case "attn_norm":
    case "ffn_norm":
      return s.layout.norm === "rms"
        ? new RMSNorm(weight[0]!, s.layout.eps)
        : new LayerNorm(weight[0]!, { eps: s.layout.eps, bias: bias !== null });
    default: {
      const residual = role === "attn_output" || role === "ffn_down";
      return new Linear(weight[1]!, weight[0]!, { bias: bias !== null, generator: g, std: residual ? s.residualStd : undefined });
    }
  }
}

/** One transformer block; its modules are found by role through the description's paths. */
export class TransformerBlock extends ModuleDict {
  private readonly paths: Partial<Record<LayerRole, string>>;

  constructor(
    arch: Architecture,
    private readonly setup: BlockSetup,
  ) {
    super();
    this.paths = arch.paths.layer;
    for (const role of arch.order.layer) place(this, this.paths[role]!, makeModule(role, setup));
  }

  /** The module playing `role` in this block (looked up each time: LoRA may have replaced it). */
  private part<M extends Module>(role: LayerRole): M & { forward(x: Tensor): Tensor } {
    return this.getSubmodule(this.paths[role]!) as M & { forward(x: Tensor): Tensor };
  }

  forward(x: Tensor, ctx: AttentionContext): Tensor {
    x = x.add(this.attention(this.part("attn_norm").forward(x), ctx)); // (B, T, C)
    return x.add(this.mlp(this.part("ffn_norm").forward(x))); // (B, T, C)
  }

  /** Causal self-attention (grouped-query when kvHeads < heads), with RoPE when the layout has it. */
  private attention(x: Tensor, ctx: AttentionContext): Tensor {
    const [B, T] = x.shape as [number, number];
    const { heads, kvHeads, headDim: hd } = this.setup.dims;
    const rope = this.setup.rope;
    if (this.setup.layout.qkv === "fused" && !rope && !this.setup.layout.qkNorm) {
      // GPT-2: the attention kernel reads each head straight from c_attn's packed output.
      const qkv = this.part("attn_qkv").forward(x); // (B, T, 3·C)
      return this.part("attn_output").forward(packedCausalAttention(qkv, heads, kvHeads, ctx));
    }
    let q: Tensor, k: Tensor, v: Tensor; // q (B, T, nH, hd); k, v (B, T, nKV, hd)
    if (this.setup.layout.qkv === "fused") {
      const qkv = this.part("attn_qkv").forward(x).view(B, T, 3, heads, hd); // (B, T, 3, nH, hd)
      [q, k, v] = [qkv.select(2, 0), qkv.select(2, 1), qkv.select(2, 2)];
    } else {
      q = this.part("attn_q").forward(x).view(B, T, heads, hd);
      k = this.part("attn_k").forward(x).view(B, T, kvHeads, hd);
      v = this.part("attn_v").forward(x).view(B, T, kvHeads, hd);
    }
    if (this.setup.layout.qkNorm) {
      q = this.part("attn_q_norm").forward(q); // RMSNorm over each head, before RoPE
      k = this.part("attn_k_norm").forward(k);
    }
    const qh = rope ? rope.apply(q.contiguous(), ctx.positions) : q.transpose(1, 2); // (B, nH, T, hd)
    const kh = rope ? rope.apply(k.contiguous(), ctx.positions) : k.transpose(1, 2); // (B, nKV, T, hd)
    const vh = v.transpose(1, 2); // (B, nKV, T, hd): the kernel reads it in place
    const y = scaledDotProductAttention(qh, kh, vh, ctx); // (B, T, nH·hd)
    return this.part("attn_output").forward(y);
  }

  /** The feed-forward layer: gated (SwiGLU) or plain (GELU). */
  private mlp(x: Tensor): Tensor {
    const act = (t: Tensor) => (this.setup.layout.activation === "silu" ? t.silu() : t.gelu({ approximate: "tanh" }));
    if (this.setup.layout.mlp === "gated") {
      const gate = act(this.part("ffn_gate").forward(x)); // (B, T, I)
      const up = this.part("ffn_up").forward(x); // (B, T, I)
      return this.part("ffn_down").forward(gate.mul(up)); // (B, T, C)
    }
    return this.part("ffn_down").forward(act(this.part("ffn_up").forward(x)));
  }
}

export interface TransformerOptions {
  /** Seed of the initial weights (default 1337): the same seed gives the same model. */
  seed?: number;
}

/** A causal language model of any described architecture (transformers' *ForCausalLM). */
export class TransformerLM extends ModuleDict implements CausalLM {
  readonly config: ModelConfig;
  readonly arch: Architecture<ModelConfig>;
  readonly dims: ModelDims;
  readonly layout: BlockLayout;
  /** The cos/sin tables shared by every layer; null with learned positions. */
  readonly rope: RotaryEmbedding | null;
  private readonly layers: ModuleList<TransformerBlock>;

  constructor(config: ModelConfig, opts: TransformerOptions = {}) {
    super();
    this.config = parseModelConfig({ ...config });
    this.arch = architectureOf(this.config);
    this.dims = this.arch.dims(this.config);
    this.layout = this.arch.layout(this.config);
    const d = this.dims,
      l = this.layout;
    this.rope = l.positions === "rope" ? new RotaryEmbedding(d.headDim, d.context, l.ropeTheta, l.ropeScaling) : null;
    const setup: BlockSetup = {
      dims: d,
      layout: l,
      generator: new Generator(opts.seed ?? 1337),
      residualStd: 0.02 / Math.sqrt(2 * d.layers),
      rope: this.rope,
    };
    for (const role of this.arch.order.before) this.addGlobal(role, setup);
    this.layers = place(this, this.arch.paths.layerPrefix, new ModuleList<TransformerBlock>());
    for (let i = 0; i < d.layers; i++) this.layers.append(new TransformerBlock(this.arch, setup));
    for (const role of this.arch.order.after) this.addGlobal(role, setup);
  }

  private addGlobal(role: GlobalRole, setup: BlockSetup): void {
    if (hasGlobalRole(this.arch, this.layout, role)) place(this, this.arch.paths.global[role]!, makeModule(role, setup));
  }

  /** The module playing a global role (token_embd, output_norm, …). */
  globalModule<M extends Module>(role: GlobalRole): M {
    return this.getSubmodule(this.arch.paths.global[role]!) as M;
  }

  /** The blocks, in order. */
  get blocks(): readonly TransformerBlock[] {
    return this.layers.items;
  }

  forward(inputIds: Tensor, opts: ForwardOptions = {}): CausalLMOutput {
    const [B, T] = checkInputIds(inputIds, this.dims.context);
    const ctx: AttentionContext = { ...attentionContext(B, T, opts.attentionMask, opts.positionIds), window: this.layout.slidingWindow };
    const embed = this.globalModule<Embedding>("token_embd");
    let x = embed.forward(inputIds); // (B, T, C)
    if (this.layout.positions === "learned") {
      x = x.add(this.globalModule<Embedding>("position_embd").forward(new Tensor(ctx.positions, [B, T])));
    }
    for (const block of this.layers) x = block.forward(x, ctx);
    const h = this.globalModule<RMSNorm | LayerNorm>("output_norm").forward(x); // (B, T, C)
    const logits = this.layout.tiedEmbeddings ? linear(h, embed.weight) : this.globalModule<Linear>("output").forward(h); // (B, T, vocab)
    return opts.labels ? { logits, loss: causalLMLoss(logits, opts.labels, ctx.keyValid) } : { logits };
  }
}
