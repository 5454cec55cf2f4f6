// The matmul shapes the matmul benchmarks time (bench/matmul.ts against numpy, bench/webgpu/
// matmul.ts against the native backend), and their arguments, so both measure the same work.
import type { MatmulArgs } from "../src/backend/backend.js";

export interface Shape {
  label: string;
  batch: number;
  m: number;
  n: number;
  k: number;
}

export const SHAPES: Shape[] = [
  { label: "256² square", batch: 1, m: 256, n: 256, k: 256 },
  { label: "512² square", batch: 1, m: 512, n: 512, k: 512 },
  { label: "1024² square", batch: 1, m: 1024, n: 1024, k: 1024 },
  { label: "2048² square", batch: 1, m: 2048, n: 2048, k: 2048 },
  { label: "768×768·768×2304 (qkv)", batch: 1, m: 768, n: 2304, k: 768 },
  { label: "12 × 64×128·128×512 (attn)", batch: 12, m: 64, n: 512, k: 128 },
  { label: "1×768·768×3072 (decode)", batch: 1, m: 1, n: 3072, k: 768 },
];

/** C = A·B for a shape, A and B filled by `fill(length)`. */
export function matmulArgs(s: Shape, fill: (n: number) => Float32Array): MatmulArgs {
  return {
    batch: s.batch,
    m: s.m,
    n: s.n,
    k: s.k,
    a: fill(s.batch * s.m * s.k),
    aOffset: 0,
    aBatchStride: s.m * s.k,
    transA: false,
    b: fill(s.batch * s.k * s.n),
    bOffset: 0,
    bBatchStride: s.k * s.n,
    transB: false,
    c: new Float32Array(s.batch * s.m * s.n),
    accumulate: false,
  };
}
