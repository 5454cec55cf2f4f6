// What an architecture description says. One file per model family (llama.ts, gpt2.ts) fills
// this in; everything else is built from it: the training model (src/models/transformer.ts),
// the inference decoder with its KV cache (src/generate/decoder.ts), and the file formats
// (Hugging Face names, GGUF names, llama2.c), so a new architecture is one file plus its tests.
//
// Weights are named by *role*, with llama.cpp's GGUF names as the vocabulary of roles
// (token_embd, attn_q, ffn_down, …): they are short, model-neutral, and are the names GGUF files
// use anyway. Each architecture maps every role it has to its Hugging Face module path.
import type { JsonFields } from "./config_fields.js";
import type { RopeScaling } from "../nn/rope_tables.js";

export type { RopeScaling };

/** Roles of the tensors outside the layers. */
export type GlobalRole = "token_embd" | "position_embd" | "output_norm" | "output";

/** Roles of the tensors in each layer (block). */
export type LayerRole =
  | "attn_norm"
  | "attn_q"
  | "attn_k"
  | "attn_v"
  | "attn_qkv"
  | "attn_output"
  | "attn_q_norm"
  | "attn_k_norm"
  | "ffn_norm"
  | "ffn_gate"
  | "ffn_up"
  | "ffn_down";

/** The sizes of a model, whatever its family. */
export interface ModelDims {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  /** Key/value heads (grouped-query attention); equal to heads without GQA. */
  kvHeads: number;
  headDim: number;
  /** Width of the feed-forward layer. */
  intermediate: number;
  /** Longest sequence the model was trained for (max_position_embeddings / n_positions). */
  context: number;
}

/** How one block computes, and what the model around the blocks looks like. */
export interface BlockLayout {
  /** RMSNorm (Llama) or LayerNorm (GPT-2), before attention and before the MLP (pre-norm). */
  norm: "rms" | "layer";
  eps: number;
  /** LayerNorm with a bias (GPT-2; false with nanoGPT's bias: false). */
  normBias: boolean;
  /** q, k, v as one fused projection (GPT-2's c_attn) or three (Llama's q_proj, k_proj, v_proj). */
  qkv: "fused" | "separate";
  /** RMSNorm over each head of q and of k, before RoPE (Qwen3's q_norm / k_norm; roles attn_q_norm / attn_k_norm). */
  qkNorm: boolean;
  /** Biases on the q/k/v projections, and on the attention output projection. */
  qkvBias: boolean;
  outBias: boolean;
  /** "gated": down(act(gate(x)) ⊙ up(x)) (SwiGLU); "plain": down(act(up(x))). */
  mlp: "gated" | "plain";
  mlpBias: boolean;
  /** The MLP's nonlinearity: SiLU, or GELU in its tanh form ("gelu_new"). */
  activation: "silu" | "gelu_tanh";
  /** Rotary embeddings on q and k, or learned absolute position embeddings added to the input. */
  positions: "rope" | "learned";
  ropeTheta: number;
  /**
   * Sliding-window attention (Mistral): each query sees only the last `slidingWindow` positions,
   * itself included (keys j with i − W < j ≤ i); null for full causal attention.
   */
  slidingWindow: number | null;
  /** Rescaling of RoPE's frequencies (Llama 3), or null. */
  ropeScaling: RopeScaling | null;
  /** The output projection is the token embedding (no separate lm_head weight). */
  tiedEmbeddings: boolean;
}

/** Where each role's module sits in a Hugging Face checkpoint. */
export interface HFModulePaths {
  /** Module path of each global role ("model.embed_tokens"); absent roles are not in this family. */
  global: Partial<Record<GlobalRole, string>>;
  /** Prefix of layer i is `${layerPrefix}.${i}` ("model.layers"). */
  layerPrefix: string;
  /** Module path of each layer role inside a layer ("self_attn.q_proj"). */
  layer: Partial<Record<LayerRole, string>>;
}

/**
 * The order modules are created in, as transformers registers them. Creating them in this order
 * draws the initial weights from the seeded generator in the same order every time.
 */
export interface ModuleOrder {
  before: GlobalRole[];
  layer: LayerRole[];
  after: GlobalRole[];
}

/** Everything tsgpt knows about one model family. */
export interface Architecture<C extends { model_type: string } = { model_type: string }> {
  /** config.json's model_type. */
  readonly modelType: C["model_type"];
  /** The class transformers builds (config.json's architectures[0]). */
  readonly hfClass: string;
  /** GGUF's general.architecture (the prefix of its metadata keys), as llama.cpp names it. */
  readonly ggufArch: string;
  /**
   * GGUF stores attn_q / attn_k rows in the adjacent-pairs rotary order (llama.cpp's "normal"
   * RoPE, used for its llama architecture), so they are permuted on the way in and out. Families
   * llama.cpp runs with NeoX RoPE (qwen2, qwen3) keep Hugging Face's rotate-halves rows as they are.
   */
  readonly ggufPairsRotary: boolean;
  readonly paths: HFModulePaths;
  readonly order: ModuleOrder;
  /** Checkpoint tensors that are not weights and are skipped on load (buffers older exporters saved). */
  readonly ignoredTensors: readonly RegExp[];
  /** Reads and checks config.json's fields for this family, with transformers' defaults. */
  parseConfig(f: JsonFields): C;
  dims(config: C): ModelDims;
  layout(config: C): BlockLayout;
  /** Fields tsgpt adds when it writes config.json (e.g. hidden_act). */
  hfConfigExtras(config: C): Record<string, unknown>;
  /** The config field that holds the context length (for overrides such as --context). */
  readonly contextField: string;
  /** LoRA target modules (last name components): PEFT's default for this family, and all that may be adapted. */
  readonly lora: { defaults: readonly string[]; targetable: readonly string[] };
  /**
   * Linear layers that Hugging Face files store transposed, (in, out), as GPT-2's Conv1D does
   * (module paths inside a layer); tsgpt keeps every linear weight (out, in).
   */
  readonly transposedInFiles: readonly string[];
}
