// LoRA: low-rank adaptation of a frozen linear layer (Hu et al., 2021), as PEFT does it.
//
//   y = W·x + b + scaling · B·A·dropout(x)        scaling = alpha / r
//
// W (out, in) and b stay frozen; only A (r, in) and B (out, r) train. A starts Kaiming-uniform
// and B at zero, so at step 0 the adapted model is exactly the base model. With r ≪ in, out the
// trainable parameters are a fraction of a percent of the model, and the optimizer state with
// them; no gradient is computed for W.
//
// The base may also be a QuantizedLinear (QLoRA): its weight stays quantized and frozen, the
// base output comes from the quantized matmul, and gradients flow through it to the input only.
// Such a layer cannot merge (ΔW does not fit back into a quantized weight).
//
// `addLoRA(model, options)` replaces the targeted Linear (or QuantizedLinear) layers of a model, found by name
// (q_proj, v_proj, c_attn, …), with LoRALinear layers that share the original weight and bias.
// The parameter names stay those of the model ("…q_proj.weight") with the factors beside them
// ("…q_proj.lora_A.weight"), which are PEFT's names without its "base_model.model." prefix.
import { Generator, Tensor, dropout, linear, noGrad } from "../tensor/index.js";
import { Linear } from "./linear.js";
import { finiteNumber, numberInRange, positiveInt } from "../util/validate.js";
import { Module, Parameter } from "./module.js";

/**
 * A linear layer whose weight is not a Parameter LoRA can share, used as it is and never trained:
 * quantized layers (QuantizedLinear in src/quant/, the base of QLoRA) are such layers.
 */
export interface FrozenLinear extends Module {
  /** Marks the layer as one (checked by isFrozenLinear). */
  readonly frozenLinear: true;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias: Parameter | null;
  forward(x: Tensor): Tensor;
}

/** Whether a module is a frozen linear layer (a QuantizedLinear, say). */
export function isFrozenLinear(m: Module): m is FrozenLinear {
  return (m as unknown as { frozenLinear?: unknown }).frozenLinear === true;
}

/** A layer LoRA can adapt: a Linear, or a frozen linear layer such as a QuantizedLinear (QLoRA). */
export type LoRABase = Linear | FrozenLinear;

export interface LoRAOptions {
  /** Rank of the update (default 8). */
  r?: number;
  /** Scale numerator: the update is multiplied by alpha / r (default 16). */
  alpha?: number;
  /** Dropout on the LoRA branch's input, in training mode (default 0). */
  dropout?: number;
  /** Random stream for A's initial values (default: a Generator seeded with 0). */
  generator?: Generator;
}

/** PEFT's default initialisation of A: kaiming_uniform_(a=√5), i.e. U(−1/√in, 1/√in). */
function kaimingUniform(rows: number, cols: number, generator: Generator): Tensor {
  const bound = 1 / Math.sqrt(cols); // gain √(2/(1+5)) · √(3/fan_in) = 1/√fan_in
  const v = new Float32Array(rows * cols);
  generator.fillUniform(v);
  for (let i = 0; i < v.length; i++) v[i] = (2 * v[i]! - 1) * bound;
  return new Tensor(v, [rows, cols]);
}

/** A LoRA factor: a bias-free projection holding one matrix as `weight` (PEFT's lora_A / lora_B). */
export class LoRAFactor extends Module {
  readonly weight: Parameter;

  constructor(init: Tensor) {
    super();
    this.weight = this.registerParameter("weight", new Parameter(init, { decay: true }));
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight);
  }
}

export class LoRALinear<B extends LoRABase = LoRABase> extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** The base weight (out, in), frozen: the same Parameter the replaced Linear had (null over a QuantizedLinear). */
  readonly weight: B extends Linear ? Parameter : null;
  /** The quantized base layer when the base is a QuantizedLinear (kept out of the registry: its only parameter, the bias, is registered here). */
  readonly quantizedBase: FrozenLinear | null;
  readonly bias: Parameter | null;
  readonly lora_A: LoRAFactor; // (r, in)
  readonly lora_B: LoRAFactor; // (out, r)
  readonly r: number;
  readonly alpha: number;
  readonly dropoutP: number;
  /** alpha / r: the factor of B·A. */
  scaling: number;
  /** True while B·A is added into `weight` (forward then skips the LoRA branch). */
  merged = false;
  /** When true the layer acts as its base layer (the adapter is ignored). */
  disabled = false;

  constructor(base: B, options: LoRAOptions = {}) {
    super();
    const r = options.r ?? 8;
    positiveInt("LoRALinear: r", r);
    this.r = r;
    this.alpha = options.alpha ?? 16;
    finiteNumber("LoRALinear: alpha", this.alpha);
    this.dropoutP = options.dropout ?? 0;
    numberInRange("LoRALinear: dropout", this.dropoutP, 0, 1, { includeHigh: false });
    this.scaling = this.alpha / r;
    this.inFeatures = base.inFeatures;
    this.outFeatures = base.outFeatures;
    if (!(base instanceof Linear)) {
      this.quantizedBase = base;
      this.weight = null as B extends Linear ? Parameter : null;
    } else {
      this.quantizedBase = null;
      this.weight = this.registerParameter("weight", (base as Linear).weight) as B extends Linear ? Parameter : null;
      (base as Linear).weight.requiresGrad_(false);
    }
    this.bias = this.registerParameter("bias", base.bias);
    this.bias?.requiresGrad_(false);
    const gen = options.generator ?? new Generator(0);
    this.lora_A = this.registerModule("lora_A", new LoRAFactor(kaimingUniform(r, this.inFeatures, gen)));
    this.lora_B = this.registerModule("lora_B", new LoRAFactor(new Tensor(new Float32Array(this.outFeatures * r), [this.outFeatures, r])));
  }

  /** (..., in) → (..., out). */
  forward(x: Tensor): Tensor {
    const base = this.quantizedBase ? this.quantizedBase.forward(x) : linear(x, this.weight!, this.bias);
    if (this.merged || this.disabled) return base;
    const h = dropout(x, this.dropoutP, this.training); // (..., in)
    const update = this.lora_B.forward(this.lora_A.forward(h)); // (..., r) → (..., out)
    return base.add(update.mul(this.scaling));
  }

  /** ΔW = scaling · B·A, (out, in). */
  deltaWeight(): Float32Array {
    const A = this.lora_A.weight.data() as Float32Array;
    const B = this.lora_B.weight.data() as Float32Array;
    const [r, inF, outF] = [this.r, this.inFeatures, this.outFeatures];
    const delta = new Float32Array(outF * inF);
    for (let o = 0; o < outF; o++) {
      for (let k = 0; k < r; k++) {
        const bk = B[o * r + k]! * this.scaling;
        if (bk === 0) continue;
        for (let i = 0; i < inF; i++) delta[o * inF + i] = delta[o * inF + i]! + bk * A[k * inF + i]!;
      }
    }
    return delta;
  }

  /** Adds ΔW into the base weight (forward then costs what the base layer costs). */
  merge(): void {
    if (this.merged) return;
    if (this.quantizedBase) throw new Error("LoRALinear: cannot merge into a quantized base weight (merge into the f32 model instead)");
    this.addToWeight(1);
    this.merged = true;
  }

  /** Subtracts ΔW again, restoring the base weight (up to float rounding). */
  unmerge(): void {
    if (!this.merged) return;
    this.addToWeight(-1);
    this.merged = false;
  }

  /** Puts A and B (as (r, in) and (out, r) arrays) into the layer, e.g. from a saved adapter. */
  setFactors(a: Float32Array, b: Float32Array, scaling = this.scaling): void {
    if (this.merged) throw new Error("LoRALinear: unmerge() before loading other factors");
    if (a.length !== this.r * this.inFeatures || b.length !== this.outFeatures * this.r) {
      throw new RangeError(
        `LoRALinear: factors of ${a.length} and ${b.length} elements do not fit rank ${this.r} for a ${this.outFeatures}×${this.inFeatures} layer`,
      );
    }
    noGrad(() => {
      this.lora_A.weight.copy_(new Tensor(a, [this.r, this.inFeatures]));
      this.lora_B.weight.copy_(new Tensor(b, [this.outFeatures, this.r]));
    });
    this.scaling = scaling;
  }

  private addToWeight(sign: number): void {
    const delta = this.deltaWeight();
    const w = this.weight!.data() as Float32Array; // contiguous: a view of the parameter's storage
    for (let i = 0; i < w.length; i++) w[i] = w[i]! + sign * delta[i]!;
  }
}

export interface AddLoRAOptions extends LoRAOptions {
  /** Last name components of the Linear layers to adapt (e.g. ["q_proj", "v_proj"]). */
  targetModules: readonly string[];
  /** Seed of A's initial values (default 0; ignored when a generator is given). */
  seed?: number;
}

/** The LoRA layers of a model with their module names (e.g. "model.layers.0.self_attn.q_proj"). */
export function loraLayers(model: Module): Array<[string, LoRALinear]> {
  return model.namedModules().filter((e): e is [string, LoRALinear] => e[1] instanceof LoRALinear);
}

/**
 * Replaces every Linear (or QuantizedLinear) whose name ends with one of `targetModules` by a LoRALinear around it,
 * freezes every other parameter of the model, and returns the new layers by module name.
 * Fails when a target matches nothing (a typo would otherwise train nothing).
 */
export function addLoRA(model: Module, options: AddLoRAOptions): Array<[string, LoRALinear]> {
  if (options.targetModules.length === 0) throw new Error("addLoRA: targetModules is empty");
  if (loraLayers(model).length > 0) throw new Error("addLoRA: the model already has LoRA layers");
  const generator = options.generator ?? new Generator(options.seed ?? 0);
  for (const p of model.parameters()) p.requiresGrad_(false);
  const added: Array<[string, LoRALinear]> = [];
  const hits = new Set<string>();
  const available = new Set<string>();
  for (const [name, mod] of model.namedModules()) {
    if (!(mod instanceof Linear || isFrozenLinear(mod))) continue;
    const leaf = name.slice(name.lastIndexOf(".") + 1);
    available.add(leaf);
    if (!options.targetModules.includes(leaf)) continue;
    const layer = new LoRALinear(mod, { ...options, generator });
    model.replaceModule(name, layer);
    added.push([name, layer]);
    hits.add(leaf);
  }
  const missing = options.targetModules.filter((t) => !hits.has(t));
  if (missing.length > 0) {
    throw new Error(
      `addLoRA: no linear layer named ${missing.map((m) => `'${m}'`).join(", ")} in this model (its linear layers: ${[...available].join(", ")})`,
    );
  }
  return added;
}

/** Only the LoRA factors, by name: what goes to the optimizer. */
export function loraParameters(model: Module): Array<[string, Parameter]> {
  return model.namedParameters().filter(([name, p]) => p.requiresGrad && /\.lora_[AB]\.weight$/.test(name));
}

/** Merges every LoRA layer into its base weight. */
export function mergeLoRA(model: Module): void {
  for (const [, l] of loraLayers(model)) l.merge();
}

/** Unmerges every LoRA layer. */
export function unmergeLoRA(model: Module): void {
  for (const [, l] of loraLayers(model)) l.unmerge();
}

/** Turns every LoRA branch off (the base model) or back on. */
export function setLoRAEnabled(model: Module, enabled: boolean): void {
  for (const [, l] of loraLayers(model)) l.disabled = !enabled;
}

/** A factor as plain data: shape and float32 values (formats/peft.ts's F32Tensor fits). */
export interface LoRAFactorData {
  shape: number[];
  data: Float32Array;
}

/** A and B of every LoRA layer by module name, copied: what an adapter file stores. */
export function getLoRAFactors(model: Module): Map<string, { a: LoRAFactorData; b: LoRAFactorData }> {
  const out = new Map<string, { a: LoRAFactorData; b: LoRAFactorData }>();
  const copy = (p: Parameter): LoRAFactorData => ({ shape: p.shape.slice(), data: (p.cpuData() as Float32Array).slice() });
  for (const [name, l] of loraLayers(model)) out.set(name, { a: copy(l.lora_A.weight), b: copy(l.lora_B.weight) });
  return out;
}

/**
 * Puts saved factors into the model's LoRA layers (switching adapters): every LoRA layer must
 * get factors of its shape, and every factor must have a layer. `scalingOf` gives each
 * layer's alpha / r (from the adapter's config).
 */
export function setLoRAFactors(
  model: Module,
  layers: ReadonlyMap<string, { a: LoRAFactorData; b: LoRAFactorData }>,
  scalingOf: (moduleName: string) => number,
): void {
  const own = new Map(loraLayers(model));
  for (const name of layers.keys()) {
    if (!own.has(name)) throw new Error(`setLoRAFactors: the adapter has layer '${name}', which is not a LoRA layer of this model`);
  }
  for (const [name, l] of own) {
    const f = layers.get(name);
    if (!f) throw new Error(`setLoRAFactors: no factors for the LoRA layer '${name}'`);
    const want = [
      [l.r, l.inFeatures],
      [l.outFeatures, l.r],
    ];
    if (f.a.shape.join() !== want[0]!.join() || f.b.shape.join() !== want[1]!.join()) {
      throw new Error(`setLoRAFactors: '${name}' needs A [${want[0]}] and B [${want[1]}], got [${f.a.shape}] and [${f.b.shape}]`);
    }
  }
  for (const [name, l] of own) {
    const f = layers.get(name)!;
    l.setFactors(f.a.data, f.b.data, scalingOf(name));
  }
}

export interface ParameterCounts {
  trainable: number;
  total: number;
  /** trainable / total · 100. */
  percent: number;
}

/** Trainable and total parameter counts (PEFT's get_nb_trainable_parameters); quantized weights count in the total. */
export function countParameters(model: Module): ParameterCounts {
  let trainable = 0;
  let total = 0;
  for (const p of model.parameters()) {
    total += p.numel;
    if (p.requiresGrad) trainable += p.numel;
  }
  for (const [, m] of model.namedModules()) {
    const q = isFrozenLinear(m) ? m : m instanceof LoRALinear ? m.quantizedBase : null;
    if (q) total += q.inFeatures * q.outFeatures; // frozen, no Parameter
  }
  return { trainable, total, percent: total > 0 ? (100 * trainable) / total : 0 };
}

/** PEFT's print_trainable_parameters line: "trainable params: 73,728 || all params: 15,264,480 || trainable%: 0.4830". */
export function formatTrainableParameters(c: ParameterCounts): string {
  const n = (x: number) => x.toLocaleString("en-US");
  return `trainable params: ${n(c.trainable)} || all params: ${n(c.total)} || trainable%: ${c.percent.toFixed(4)}`;
}
