// Module and Parameter: the bookkeeping every layer shares (like torch.nn.Module).
//
// A Module owns Parameters (tensors the optimizer updates) and child Modules, each under a
// name. Names chain with dots into the Hugging Face tensor names that checkpoints use:
// "model.layers.0.self_attn.q_proj.weight". Children are registered explicitly, in the order
// the layer is built, so the names and their order never depend on JS property names.
//
// Weight decay: each Parameter carries `decay`. The rule (PyTorch / nanoGPT practice) is set
// by the layer that creates the parameter: Linear weights decay; biases, norm weights and
// embeddings do not. Optimizers read `param.decay` to build their two groups.
//
// Empty weights (PyTorch's meta device, accelerate's init_empty_weights): a model built inside
// `initEmptyWeights(() => …)` has shape-only parameters — no memory, no random numbers — and
// loading fills them (`loadStateDict(state, { assign: true })`) or replaces whole layers
// first (a quantized base layer for QLoRA). Loading a checkpoint then never allocates, let
// alone initialises, weights it is about to overwrite.
import { Tensor, noGrad } from "../tensor/index.js";

export interface ParameterOptions {
  /** Whether AdamW's weight decay applies to this parameter (default false). */
  decay?: boolean;
}

/** A tensor the optimizer trains: requiresGrad is true, and it knows whether it decays. */
export class Parameter extends Tensor {
  decay: boolean;

  /** Wraps the elements of `data` (made contiguous; shares storage when it already is). */
  constructor(data: Tensor, opts: ParameterOptions = {}) {
    const src = data.isContiguous() && data.dtype === "float32" ? data : data.float().contiguous();
    // Shared, not read here: kernels may go on keeping its newest bytes on a GPU (backend/device_arrays.ts).
    const storage =
      src.offset === 0 && src.deviceStorage.length === src.numel
        ? src.deviceStorage
        : src.cpuStorage().slice(src.offset, src.offset + src.numel);
    super(storage, src.shape.slice());
    this.decay = opts.decay ?? false;
    this.requiresGrad_(true);
  }

  /** A shape-only parameter (torch's meta device): no elements are stored until loading assigns some. */
  static meta(shape: number[], opts: ParameterOptions = {}): Parameter {
    // The empty storage stays empty: the constructor keeps at most the elements there are.
    return new Parameter(new Tensor(new Float32Array(0), shape), opts);
  }

  /** True for a shape-only parameter (see Parameter.meta): it has no values to compute with. */
  get isMeta(): boolean {
    return this.deviceStorage.length < this.numel; // the length only: nothing to read back
  }
}

/** How many initEmptyWeights scopes are open (they nest; JS runs one constructor at a time). */
let emptyWeightsDepth = 0;
/** The shape-only stand-in of each parameter registered inside the scope: one registered twice stays one. */
let emptyStandIns = new WeakMap<Parameter, Parameter>();

/**
 * Runs `build` with every parameter that a module registers made shape-only (Parameter.meta),
 * like accelerate's init_empty_weights: `const model = initEmptyWeights(() => createModel(config))`.
 * Layers that ask `buildingEmptyWeights()` skip their random initialisation altogether.
 * The model must get all its weights (loadStateDict with assign) before it computes anything.
 */
export function initEmptyWeights<T>(build: () => T): T {
  emptyWeightsDepth++;
  try {
    return build();
  } finally {
    if (--emptyWeightsDepth === 0) emptyStandIns = new WeakMap();
  }
}

/** True inside initEmptyWeights: a layer's initial values would be thrown away, so it need not draw them. */
export function buildingEmptyWeights(): boolean {
  return emptyWeightsDepth > 0;
}

/** Factory form of `new Parameter(t, opts)`. */
export function parameter(t: Tensor, opts: ParameterOptions = {}): Parameter {
  return new Parameter(t, opts);
}

export interface LoadStateDictOptions {
  /** When true (default), missing or unexpected names are errors. */
  strict?: boolean;
  /**
   * When true, each parameter becomes the given tensor (PyTorch's assign=True) instead of
   * receiving a copy of its values: an f32 contiguous tensor is used as it is, without a copy;
   * decay and requiresGrad stay the parameter's. Default false. A shape-only (meta) parameter is
   * always assigned: it has no storage to copy into.
   */
  assign?: boolean;
}

export interface LoadStateDictResult {
  missing: string[];
  unexpected: string[];
}

export class Module {
  /** True in training mode (dropout active); see train() / eval(). */
  training = true;
  private readonly paramSlots = new Map<string, Parameter | null>();
  private readonly childSlots = new Map<string, Module>();

  /** Registers a parameter under `name` (null reserves the name, e.g. an absent bias); inside initEmptyWeights it is made shape-only. */
  protected registerParameter<P extends Parameter | null>(name: string, p: P): P {
    checkName(name);
    const slot = (p && buildingEmptyWeights() && !p.isMeta ? emptyStandIn(p) : p) as P;
    this.paramSlots.set(name, slot);
    return slot;
  }

  /** Registers a child module under `name`; its parameters appear as "name.…". */
  protected registerModule<M extends Module>(name: string, m: M): M {
    checkName(name);
    this.childSlots.set(name, m);
    return m;
  }

  /**
   * Puts `module` in place of the descendant at dotted `name` (e.g. "model.layers.0.self_attn.q_proj",
   * torch's set_submodule) and returns the module it replaced. The new one takes the old one's
   * place in the registry, so parameter names and order stay the same, and in the field that
   * forward reads: every module here keeps each child in a field named as it registered it.
   */
  replaceModule(name: string, module: Module): Module {
    const path = name.split(".");
    const leaf = path.pop()!;
    let parent: Module = this;
    for (const part of path) {
      const next = parent.childSlots.get(part);
      if (!next) throw new Error(`replaceModule: no module named '${name}' (nothing at '${part}')`);
      parent = next;
    }
    if (!parent.childSlots.has(leaf)) throw new Error(`replaceModule: no module named '${name}'`);
    return parent.replaceChild(leaf, module);
  }

  /** The descendant at dotted `name` (torch's get_submodule), e.g. "model.layers.0.self_attn.q_proj". */
  getSubmodule(name: string): Module {
    let m: Module = this;
    for (const part of name.split(".")) {
      const next = m.childSlots.get(part);
      if (!next) throw new Error(`getSubmodule: no module named '${name}' (nothing at '${part}')`);
      m = next;
    }
    return m;
  }

  /** Swaps the direct child `name` in the registry and in its field; returns the old child. */
  protected replaceChild(name: string, module: Module): Module {
    const old = this.childSlots.get(name)!;
    const fields = this as unknown as Record<string, unknown>;
    // A child kept under another field name would stay in use by forward: refuse, never half-replace.
    if (fields[name] !== old)
      throw new Error(`replaceModule: ${this.constructor.name} does not keep its child '${name}' in a field of that name`);
    this.registerModule(name, module); // same key: keeps its position
    fields[name] = module;
    return old;
  }

  /** Direct children with their names, in registration order. */
  namedChildren(): Array<[string, Module]> {
    return [...this.childSlots];
  }

  /** This module and every descendant, depth first, with dotted names ("" for this one). */
  namedModules(prefix = ""): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix, this]];
    for (const [name, child] of this.childSlots) out.push(...child.namedModules(join(prefix, name)));
    return out;
  }

  /**
   * Every parameter with its dotted name, in registration order. A parameter shared by two
   * modules (tied embeddings) is listed once, under its first name, like PyTorch.
   */
  namedParameters(prefix = ""): Array<[string, Parameter]> {
    const out: Array<[string, Parameter]> = [];
    const seen = new Set<Parameter>();
    for (const [modName, mod] of this.namedModules(prefix)) {
      for (const [name, p] of mod.paramSlots) {
        if (!p || seen.has(p)) continue;
        seen.add(p);
        out.push([join(modName, name), p]);
      }
    }
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Total number of trainable elements (shared parameters counted once). */
  numParameters(): number {
    let n = 0;
    for (const p of this.parameters()) n += p.numel;
    return n;
  }

  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: train(false). */
  eval(): this {
    return this.train(false);
  }

  /** Clears every parameter's .grad. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /** Parameter values by name (detached views sharing storage: cheap, but they change with training). */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [name, p] of this.namedParameters()) out.set(name, p.detach());
    return out;
  }

  /**
   * Copies values from `state` into the parameters with the same names. Shapes must match
   * exactly. With strict (the default) a missing or unexpected name is an error; otherwise
   * they are returned.
   */
  loadStateDict(state: Map<string, Tensor>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = opts.strict ?? true;
    const params = new Map(this.namedParameters());
    const missing = [...params.keys()].filter((n) => !state.has(n));
    const unexpected = [...state.keys()].filter((n) => !params.has(n));
    if (strict && (missing.length > 0 || unexpected.length > 0)) {
      const parts: string[] = [];
      if (missing.length > 0) parts.push(`missing keys: ${listNames(missing)}`);
      if (unexpected.length > 0) parts.push(`unexpected keys: ${listNames(unexpected)}`);
      throw new Error(`loadStateDict: ${parts.join("; ")}`);
    }
    for (const [name, p] of params) {
      const src = state.get(name);
      if (!src) continue;
      if (src.ndim !== p.ndim || src.shape.some((d, i) => d !== p.shape[i])) {
        throw new Error(`loadStateDict: '${name}' has shape [${src.shape.join(", ")}] but the model expects [${p.shape.join(", ")}]`);
      }
    }
    const assigned = new Map<Parameter, Parameter>();
    for (const [name, p] of params) {
      const src = state.get(name);
      if (src && (opts.assign || p.isMeta)) assigned.set(p, assignedParameter(p, src));
    }
    this.swapParameters(assigned);
    noGrad(() => {
      for (const [name, p] of params) {
        const src = state.get(name);
        if (src && !assigned.has(p)) p.copy_(src.dtype === "float32" ? src : src.float());
      }
    });
    return { missing, unexpected };
  }

  /**
   * Puts each new parameter in every slot (and the field of the same name) that holds the old
   * one: a parameter shared by two modules stays shared. Checks every slot first, so it never
   * half-replaces.
   */
  private swapParameters(swaps: ReadonlyMap<Parameter, Parameter>): void {
    if (swaps.size === 0) return;
    const slots: Array<[Module, string, Parameter]> = [];
    for (const [, mod] of this.namedModules()) {
      for (const [name, p] of mod.paramSlots) {
        const next = p && swaps.get(p);
        if (!next) continue;
        // forward reads the field: a parameter kept under another name would stay in use.
        if ((mod as unknown as Record<string, unknown>)[name] !== p) {
          throw new Error(
            `loadStateDict: ${mod.constructor.name} does not keep its parameter '${name}' in a field of that name; cannot assign it`,
          );
        }
        slots.push([mod, name, next]);
      }
    }
    for (const [mod, name, next] of slots) {
      mod.paramSlots.set(name, next); // same key: keeps its position
      (mod as unknown as Record<string, unknown>)[name] = next;
    }
  }
}

/** The shape-only parameter registered in place of `p` inside initEmptyWeights. */
function emptyStandIn(p: Parameter): Parameter {
  let meta = emptyStandIns.get(p);
  if (!meta) {
    meta = Parameter.meta(p.shape.slice(), { decay: p.decay });
    emptyStandIns.set(p, meta);
  }
  return meta;
}

/** The parameter that takes `p`'s place when `src` is assigned to it: src's values (shared when f32 contiguous), p's decay and requiresGrad. */
function assignedParameter(p: Parameter, src: Tensor): Parameter {
  const next = new Parameter(src.detach(), { decay: p.decay });
  return next.requiresGrad_(p.requiresGrad);
}

/**
 * Modules kept by name (torch.nn.ModuleDict). Forward passes look their children up by name at
 * the time they run, so replaceModule (LoRA, quantized layers) takes effect without a field to
 * update. Models built from an architecture description hold their layers this way, under the
 * Hugging Face names the description gives.
 */
export class ModuleDict extends Module {
  /** Adds `module` under `name` (no dots) and returns it. */
  set<M extends Module>(name: string, module: M): M {
    return this.registerModule(name, module);
  }

  /** The child `name`; throws when there is none. */
  get(name: string): Module {
    const m = this.namedChildren().find(([n]) => n === name);
    if (!m) throw new Error(`ModuleDict: no module named '${name}'`);
    return m[1];
  }

  has(name: string): boolean {
    return this.namedChildren().some(([n]) => n === name);
  }

  /** Children live only in the registry, so swapping there is the whole replacement. */
  protected override replaceChild(name: string, module: Module): Module {
    const old = this.get(name);
    this.registerModule(name, module);
    return old;
  }
}

/** A list of modules named "0", "1", … (torch.nn.ModuleList): transformer layers. */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  append(m: M): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }

  /** Children live in `items` (by index), not in fields named "0", "1", …. */
  protected override replaceChild(name: string, module: Module): Module {
    const i = Number(name);
    const old = this.items[i]!;
    this.registerModule(name, module);
    this.items[i] = module as M; // the caller chose the type; ModuleList cannot check it
    return old;
  }

  get length(): number {
    return this.items.length;
  }

  at(i: number): M {
    const m = this.items[i];
    if (!m) throw new RangeError(`ModuleList: index ${i} out of range for ${this.items.length} modules`);
    return m;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}

function join(prefix: string, name: string): string {
  return prefix === "" ? name : `${prefix}.${name}`;
}

function checkName(name: string): void {
  if (name === "" || name.includes(".")) throw new Error(`Module: invalid name '${name}' (non-empty, no dots)`);
}

function listNames(names: string[]): string {
  const shown = names.slice(0, 8).join(", ");
  return names.length > 8 ? `${shown}, … (${names.length} in all)` : shown;
}
