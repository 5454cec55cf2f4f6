// A profiler around a Backend: every kernel call is timed and added to a per-label total.
//
// `profiledBackend(inner, sink)` returns a Backend whose methods call `inner`'s and report
// (label, milliseconds) to the sink. The label is the method name, with the operation for the
// kernels that take one ("unary gelu_tanh", "binary add", "reduce sum"), so a report can say
// which op the time went to. Calls that nest (a fallback that calls another kernel of the same
// wrapped backend) are timed once, at the outermost call.
//
// The wrapper only measures: it passes every argument through unchanged and returns what the
// inner kernel returns, so results with and without the profiler are identical.
import type { Backend } from "./backend.js";

/** Receives one timed kernel call. */
export type KernelSink = (label: string, ms: number) => void;

/** Methods whose first argument names the operation (it becomes part of the label). */
const OP_FIRST = new Set(["unary", "unaryBackward", "binary", "reduce", "argReduce", "quantMatmul", "linearHalf"]);

/** Methods that answer questions rather than compute: not timed. */
const UNTIMED = new Set(["name", "preferredQuantLayout", "quantKernelName"]);

/** A Backend that times each kernel call of `inner` and reports it to `sink`. */
export function profiledBackend(inner: Backend, sink: KernelSink): Backend {
  let depth = 0;
  const wrapped: Record<string, unknown> = {};
  // Own and prototype methods alike (the native backend is an object literal, others may be classes).
  const names = new Set<string>();
  for (let o: object | null = inner; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const n of Object.getOwnPropertyNames(o)) if (n !== "constructor") names.add(n);
  }
  for (const name of names) {
    const value = (inner as unknown as Record<string, unknown>)[name];
    if (typeof value !== "function" || UNTIMED.has(name)) {
      Object.defineProperty(wrapped, name, { get: () => (inner as unknown as Record<string, unknown>)[name], enumerable: true });
      continue;
    }
    const fn = value as (...args: unknown[]) => unknown;
    wrapped[name] = (...args: unknown[]) => {
      if (depth > 0) return fn.apply(inner, args);
      depth++;
      const t0 = performance.now();
      try {
        return fn.apply(inner, args);
      } finally {
        depth--;
        sink(OP_FIRST.has(name) ? `${name} ${String(args[0])}` : name, performance.now() - t0);
      }
    };
  }
  if (!("name" in wrapped)) Object.defineProperty(wrapped, "name", { get: () => inner.name, enumerable: true });
  return wrapped as unknown as Backend;
}

/** Time and call count of one label. */
export interface KernelTotal {
  label: string;
  ms: number;
  calls: number;
}

/** Adds up kernel calls by label; `take()` returns the totals since the last take, largest first. */
export class KernelTally {
  private totals = new Map<string, KernelTotal>();

  readonly sink: KernelSink = (label, ms) => {
    const t = this.totals.get(label);
    if (t) {
      t.ms += ms;
      t.calls++;
    } else this.totals.set(label, { label, ms, calls: 1 });
  };

  take(): KernelTotal[] {
    const out = [...this.totals.values()].sort((a, b) => b.ms - a.ms);
    this.totals = new Map();
    return out;
  }
}
