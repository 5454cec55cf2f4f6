// Where a training step's time goes (`tsgpt train --profile`).
//
// The trainer wraps the parts of each step in `phase(name, fn)`: forward (the batch's loss),
// backward, clip (gradient norm and clipping) and optimizer (AdamW and zeroing the
// gradients). Meanwhile every backend kernel call is timed (src/backend/profiler.ts), so the
// report also names the kernels that took the most time, and how much of the step ran inside
// kernels at all — the rest is JavaScript: autograd bookkeeping, allocation, copies in JS.
//
//   profile step 12: 158.3 ms = forward 52.1 (33%) · backward 91.4 (58%) · clip 1.2 (1%) · optimizer 9.8 (6%) · other 3.8 (2%)
//     kernels 139.0 ms (88%): matmul 97.2 ms ×170 · softmax 9.1 ms ×8 · …
import { KernelTally, type KernelTotal, profileBackend } from "../tensor/index.js";

/** The parts of a step, in the order they run. */
export const STEP_PHASES = ["forward", "backward", "clip", "optimizer"] as const;
export type StepPhase = (typeof STEP_PHASES)[number];

/** One step's figures. */
export interface StepProfile {
  step: number;
  totalMs: number;
  phases: Record<StepPhase, number>;
  /** Time inside backend kernels, largest first. */
  kernels: KernelTotal[];
}

export interface StepProfilerOptions {
  /** Receives each step's report lines (default: stderr). */
  print?: (line: string) => void;
  /** Kernels named per step (default 8). */
  top?: number;
}

/** Times the phases and kernels of each step; `start()` before training, `stop()` after. */
export class StepProfiler {
  private readonly tally = new KernelTally();
  private phases = emptyPhases();
  private restore: (() => void) | null = null;
  private readonly print: (line: string) => void;
  private readonly top: number;
  /** Every step's profile, in order (for tests and summaries). */
  readonly steps: StepProfile[] = [];

  constructor(options: StepProfilerOptions = {}) {
    this.print = options.print ?? ((line) => process.stderr.write(`${line}\n`));
    this.top = options.top ?? 8;
  }

  /** Starts timing kernel calls (routes the backend through the profiler). */
  start(): void {
    if (!this.restore) this.restore = profileBackend(this.tally.sink);
  }

  /** Stops timing kernel calls and puts the plain backend back. */
  stop(): void {
    this.restore?.();
    this.restore = null;
  }

  /** Called when a step begins: what ran since the last step (an evaluation) is not counted. */
  beginStep(): void {
    this.tally.take();
    this.phases = emptyPhases();
  }

  /** Runs fn, adding its time to `name`. */
  phase<T>(name: StepPhase, fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.phases[name] += performance.now() - t0;
    }
  }

  /** Called when step `step` (1-based) has finished after totalMs; prints its report. */
  endStep(step: number, totalMs: number): StepProfile {
    const p: StepProfile = { step, totalMs, phases: this.phases, kernels: this.tally.take() };
    this.steps.push(p);
    for (const line of formatStepProfile(p, this.top)) this.print(line);
    return p;
  }
}

function emptyPhases(): Record<StepPhase, number> {
  return { forward: 0, backward: 0, clip: 0, optimizer: 0 };
}

const pct = (part: number, whole: number) => `${whole > 0 ? Math.round((100 * part) / whole) : 0}%`;

/** The two lines of a step's report: phases, then kernels. */
export function formatStepProfile(p: StepProfile, top = 8): string[] {
  const inPhases = STEP_PHASES.reduce((s, k) => s + p.phases[k], 0);
  const parts = STEP_PHASES.map((k) => `${k} ${p.phases[k].toFixed(1)} (${pct(p.phases[k], p.totalMs)})`);
  const other = Math.max(0, p.totalMs - inPhases);
  parts.push(`other ${other.toFixed(1)} (${pct(other, p.totalMs)})`);
  const kernelMs = p.kernels.reduce((s, k) => s + k.ms, 0);
  const shown = p.kernels.slice(0, top).map((k) => `${k.label} ${k.ms.toFixed(1)} ms ×${k.calls}`);
  const rest = p.kernels.length - shown.length;
  return [
    `profile step ${p.step}: ${p.totalMs.toFixed(1)} ms = ${parts.join(" · ")}`,
    `  kernels ${kernelMs.toFixed(1)} ms (${pct(kernelMs, p.totalMs)}): ${shown.join(" · ")}${rest > 0 ? ` · ${rest} more` : ""}`,
  ];
}
