// Weight initialisation shared by the layers: GPT-2 / llama2.c draw weights from N(0, 0.02²).
import { type Generator, type Tensor, defaultGenerator, randn, zeros, ones } from "../tensor/index.js";

/** Options every layer with random weights accepts. */
export interface InitOptions {
  /** The random stream for the initial weights (default: the global one, see manualSeed). */
  generator?: Generator;
  /** Standard deviation of the normal initialisation (default 0.02). */
  std?: number;
}

/** A (shape) tensor of N(0, std²) samples. */
export function normalInit(shape: number[], opts: InitOptions = {}): Tensor {
  const t = randn(shape, { generator: opts.generator ?? defaultGenerator });
  const std = opts.std ?? 0.02;
  const v = t.cpuStorage() as Float32Array; // scaled in place, no reference kept
  for (let i = 0; i < v.length; i++) v[i] = v[i]! * std;
  return t;
}

export { zeros, ones };
