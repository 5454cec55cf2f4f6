// The tensors a model of a given config has: names (Hugging Face's), shapes and roles, derived
// from its architecture description. This is the one place that knows which tensors a
// checkpoint must hold; the training model, the inference decoder and the format readers all
// check a checkpoint through checkTensors.
import type { Architecture, BlockLayout, GlobalRole, LayerRole, ModelDims } from "./architecture.js";
import { architectureOf, type ModelConfig } from "./registry.js";

export type Role = GlobalRole | LayerRole;

export interface TensorSpec {
  /** Hugging Face name, e.g. "model.layers.0.self_attn.q_proj.weight". */
  name: string;
  shape: number[];
  role: Role;
  /** Layer index, or null for the tensors outside the layers. */
  layer: number | null;
  kind: "weight" | "bias";
}

/** Weight and bias shapes of the module that plays `role` (bias null when it has none). */
export function roleShapes(role: Role, d: ModelDims, l: BlockLayout): { weight: number[]; bias: number[] | null } {
  const H = d.hidden,
    I = d.intermediate,
    qDim = d.heads * d.headDim,
    kvDim = d.kvHeads * d.headDim;
  const norm = { weight: [H], bias: l.normBias ? [H] : null };
  const lin = (out: number, inF: number, bias: boolean) => ({ weight: [out, inF], bias: bias ? [out] : null });
  switch (role) {
    case "token_embd":
      return { weight: [d.vocabSize, H], bias: null };
    case "position_embd":
      return { weight: [d.context, H], bias: null };
    case "output":
      return lin(d.vocabSize, H, false);
    case "output_norm":
    case "attn_norm":
    case "ffn_norm":
      return norm;
    case "attn_q_norm":
    case "attn_k_norm":
      return { weight: [d.headDim], bias: null };
    case "attn_qkv":
      return lin(qDim + 2 * kvDim, H, l.qkvBias);
    case "attn_q":
      return lin(qDim, H, l.qkvBias);
    case "attn_k":
    case "attn_v":
      return lin(kvDim, H, l.qkvBias);
    case "attn_output":
      return lin(H, qDim, l.outBias);
    case "ffn_gate":
    case "ffn_up":
      return lin(I, H, l.mlpBias);
    case "ffn_down":
      return lin(H, I, l.mlpBias);
  }
}

/** Hugging Face module path of a role ("model.layers.3.self_attn.q_proj"). */
export function modulePath(arch: Architecture, role: Role, layer: number | null): string {
  if (layer === null) {
    const p = arch.paths.global[role as GlobalRole];
    if (p === undefined) throw new Error(`${arch.modelType} has no ${role} tensor`);
    return p;
  }
  const p = arch.paths.layer[role as LayerRole];
  if (p === undefined) throw new Error(`${arch.modelType} has no ${role} tensor in its layers`);
  return `${arch.paths.layerPrefix}.${layer}.${p}`;
}

/** Whether the model has a module for this global role (a tied head has no output). */
export function hasGlobalRole(arch: Architecture, layout: BlockLayout, role: GlobalRole): boolean {
  if (arch.paths.global[role] === undefined) return false;
  if (role === "output") return !layout.tiedEmbeddings;
  if (role === "position_embd") return layout.positions === "learned";
  return true;
}

/** Every tensor a model of this config has, in the order transformers' state dict lists them. */
export function tensorSpecs(config: ModelConfig): TensorSpec[] {
  const arch = architectureOf(config);
  const d = arch.dims(config),
    l = arch.layout(config);
  const out: TensorSpec[] = [];
  const add = (role: Role, layer: number | null) => {
    const path = modulePath(arch, role, layer);
    const s = roleShapes(role, d, l);
    out.push({ name: `${path}.weight`, shape: s.weight, role, layer, kind: "weight" });
    if (s.bias) out.push({ name: `${path}.bias`, shape: s.bias, role, layer, kind: "bias" });
  };
  for (const r of arch.order.before) if (hasGlobalRole(arch, l, r)) add(r, null);
  for (let i = 0; i < d.layers; i++) for (const r of arch.order.layer) add(r, i);
  for (const r of arch.order.after) if (hasGlobalRole(arch, l, r)) add(r, null);
  return out;
}

/**
 * The name a checkpoint tensor has in tsgpt: the same, except that GPT-2 files from the
 * original OpenAI export lack the "transformer." prefix (wte.weight, h.0.ln_1.weight, …).
 */
export function canonicalName(config: ModelConfig, name: string, names: ReadonlySet<string> | Map<string, unknown>): string {
  const arch = architectureOf(config);
  const prefix = arch.paths.layerPrefix.split(".")[0]!;
  if (arch.modelType === "gpt2" && !names.has(`${prefix}.wte.weight`) && names.has("wte.weight") && name !== "lm_head.weight") {
    return `${prefix}.${name}`;
  }
  return name;
}

/** Whether a checkpoint tensor is to be skipped on load (a buffer, or a tied head written out anyway). */
export function isIgnoredTensor(config: ModelConfig, name: string): boolean {
  const arch = architectureOf(config);
  if (arch.ignoredTensors.some((re) => re.test(name))) return true;
  // A tied head may still be written out (some exporters do); the embedding is the weight used.
  return name === `${arch.paths.global.output}.weight` && arch.layout(config).tiedEmbeddings;
}

/**
 * Checks that `tensors` (by canonical name) are exactly the tensors of `config` with the right
 * shapes: nothing missing, nothing unexpected. Errors start with `source` (the file).
 */
export function checkTensors(config: ModelConfig, shapes: ReadonlyMap<string, readonly number[]>, source: string): void {
  const specs = tensorSpecs(config);
  const expected = new Set(specs.map((s) => s.name));
  const missing = specs.filter((s) => !shapes.has(s.name));
  if (missing.length > 0) {
    throw new Error(`${source}: tensor '${missing[0]!.name}' is missing${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ""}`);
  }
  const unexpected = [...shapes.keys()].filter((n) => !expected.has(n));
  if (unexpected.length > 0) {
    throw new Error(
      `${source}: unexpected tensor '${unexpected[0]}' for a ${config.model_type} model${unexpected.length > 1 ? ` (and ${unexpected.length - 1} more)` : ""}`,
    );
  }
  for (const s of specs) {
    const got = shapes.get(s.name)!;
    if (got.length !== s.shape.length || got.some((v, i) => v !== s.shape[i])) {
      throw new Error(`${source}: tensor '${s.name}' has shape [${got.join(", ")}], expected [${s.shape.join(", ")}]`);
    }
  }
}

/** The role, layer and kind of a Hugging Face tensor name, or null when the family has no such tensor. */
export function roleOfName(arch: Architecture, name: string): { role: Role; layer: number | null; kind: "weight" | "bias" } | null {
  const m = /^(.*)\.(weight|bias)$/.exec(name);
  if (!m) return null;
  const [, path, kind] = m as unknown as [string, string, "weight" | "bias"];
  for (const [role, p] of Object.entries(arch.paths.global)) if (p === path) return { role: role as Role, layer: null, kind };
  const prefix = `${arch.paths.layerPrefix}.`;
  if (!path.startsWith(prefix)) return null;
  const rest = path.slice(prefix.length);
  const dot = rest.indexOf(".");
  const layer = Number(rest.slice(0, dot));
  if (dot <= 0 || !/^\d+$/.test(rest.slice(0, dot))) return null;
  for (const [role, p] of Object.entries(arch.paths.layer)) if (p === rest.slice(dot + 1)) return { role: role as Role, layer, kind };
  return null;
}

/** Whether Hugging Face files store this (canonical) linear weight transposed, (in, out): GPT-2's Conv1D. */
export function isTransposedInFiles(config: ModelConfig, name: string): boolean {
  const arch = architectureOf(config);
  const r = roleOfName(arch, name);
  return r !== null && r.layer !== null && r.kind === "weight" && arch.transposedInFiles.includes(arch.paths.layer[r.role as LayerRole]!);
}
