// AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, PyTorch's torch.optim.AdamW.
//
// Each parameter keeps two moment buffers, exp_avg (m) and exp_avg_sq (v), the names
// PyTorch uses and that optimizer.safetensors stores ("<param>.exp_avg", "<param>.exp_avg_sq").
// The update itself is one backend kernel per parameter (backend.adamw), so the native
// backend runs it with SIMD.
//
// Weight decay applies only where `decay` is true. By default that is the parameter's own
// flag (nn/module.ts: Linear weights decay; biases, norm weights and embeddings do not);
// `decayEmbeddings` also decays embedding tables; `decay` overrides the rule entirely.
import { getBackend, noGrad, type Tensor } from "../tensor/index.js";
import { deviceArray, syncForCpu } from "../backend/device_arrays.js";

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Also decay embedding tables (names with "embed", "wte" or "wpe"). Default false. */
  decayEmbeddings?: boolean;
  /** Decides per parameter whether it decays (overrides the default rule). */
  decay?: (name: string, param: Tensor) => boolean;
}

interface Slot {
  name: string;
  param: Tensor;
  decay: boolean;
  expAvg: Float32Array;
  expAvgSq: Float32Array;
}

export class AdamW {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Number of updates taken so far (bias correction uses stepCount + 1 for the next one). */
  stepCount = 0;
  private readonly slots: Slot[];

  constructor(namedParams: Iterable<[string, Tensor]>, options: AdamWOptions = {}) {
    this.lr = options.lr ?? 1e-3;
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.01;
    check("lr", this.lr, this.lr >= 0);
    check("betas[0]", this.beta1, this.beta1 >= 0 && this.beta1 < 1);
    check("betas[1]", this.beta2, this.beta2 >= 0 && this.beta2 < 1);
    check("eps", this.eps, this.eps >= 0);
    check("weightDecay", this.weightDecay, this.weightDecay >= 0);
    this.slots = [];
    for (const [name, param] of namedParams) {
      if (param.dtype !== "float32" || !param.isContiguous()) {
        throw new TypeError(`AdamW: parameter ${name} must be a contiguous float32 tensor`);
      }
      this.slots.push({
        name,
        param,
        decay: decides(name, param, options),
        // Read on the CPU only through stateTensors / loadState, which read them back first.
        expAvg: deviceArray(param.numel),
        expAvgSq: deviceArray(param.numel),
      });
    }
  }

  /** Names of the parameters that decay and of those that do not (for logs and tests). */
  groups(): { decay: string[]; noDecay: string[] } {
    return {
      decay: this.slots.filter((s) => s.decay).map((s) => s.name),
      noDecay: this.slots.filter((s) => !s.decay).map((s) => s.name),
    };
  }

  /** One update of every parameter that has a gradient, at the current `lr`. */
  step(): void {
    this.stepCount++;
    const backend = getBackend();
    noGrad(() => {
      for (const s of this.slots) {
        const g = s.param.grad;
        if (!g) continue;
        const p = paramView(s.param);
        const gd = g.deviceData() as Float32Array;
        backend.adamw(
          p,
          gd,
          s.expAvg,
          s.expAvgSq,
          this.lr,
          this.beta1,
          this.beta2,
          this.eps,
          s.decay ? this.weightDecay : 0,
          this.stepCount,
        );
      }
    });
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const s of this.slots) s.param.zeroGrad();
  }

  /** Copies of the moments by name ("<param>.exp_avg", "<param>.exp_avg_sq") — what optimizer.safetensors holds. */
  stateTensors(): Map<string, { shape: number[]; data: Float32Array }> {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    // Copies: the moments may live on a GPU between steps (backend/device_arrays.ts).
    const snapshot = (a: Float32Array): Float32Array => {
      syncForCpu(a);
      return a.slice();
    };
    for (const s of this.slots) {
      out.set(`${s.name}.exp_avg`, { shape: s.param.shape.slice(), data: snapshot(s.expAvg) });
      out.set(`${s.name}.exp_avg_sq`, { shape: s.param.shape.slice(), data: snapshot(s.expAvgSq) });
    }
    return out;
  }

  /** Restores moments saved by stateTensors() and the step count. Every name must be present. */
  loadState(tensors: Map<string, { shape: readonly number[]; data: Float32Array }>, stepCount: number, source = "optimizer state"): void {
    for (const s of this.slots) {
      for (const [suffix, dest] of [
        ["exp_avg", s.expAvg],
        ["exp_avg_sq", s.expAvgSq],
      ] as const) {
        const name = `${s.name}.${suffix}`;
        const t = tensors.get(name);
        if (!t) throw new Error(`${source}: ${name}: missing`);
        if (t.data.length !== dest.length || t.shape.length !== s.param.ndim || t.shape.some((d, i) => d !== s.param.shape[i])) {
          throw new Error(`${source}: ${name}: shape [${t.shape.join(", ")}] does not match the parameter's [${s.param.shape.join(", ")}]`);
        }
        syncForCpu(dest); // what a GPU holds comes back first, so the write below is the newest
        dest.set(t.data);
      }
    }
    if (!Number.isSafeInteger(stepCount) || stepCount < 0)
      throw new Error(`${source}: step count must be a non-negative integer, got ${stepCount}`);
    this.stepCount = stepCount;
  }
}

function decides(name: string, param: Tensor, o: AdamWOptions): boolean {
  if (o.decay) return o.decay(name, param);
  if (o.decayEmbeddings && /(embed|wte|wpe)/.test(name) && param.ndim === 2) return true;
  const flag = (param as Tensor & { decay?: boolean }).decay;
  return flag ?? param.ndim >= 2; // a plain tensor: matrices decay, vectors do not
}

/** The parameter's own elements (not a copy), for the in-place kernel. */
function paramView(p: Tensor): Float32Array {
  const s = p.deviceStorage as Float32Array; // for the kernel only
  return p.offset === 0 && s.length === p.numel ? s : s.subarray(p.offset, p.offset + p.numel);
}

function check(name: string, v: number, ok: boolean): void {
  if (!ok || !Number.isFinite(v)) throw new RangeError(`AdamW: ${name} out of range: ${v}`);
}
