// Public API of the tensor library: `import { tensor, zeros, randn, noGrad } from "tsgpt"`.
export { Tensor } from "./tensor.js";
export type { NestedArray, TensorLike } from "./tensor.js";
export type { DType } from "./dtype.js";
export type { Shape } from "./shape.js";
export { Node, noGrad, enableGrad, isGradEnabled, setGradEnabled, record } from "./autograd.js";
export type { BackwardFn } from "./autograd.js";
export {
  tensor,
  full,
  zeros,
  ones,
  empty,
  zerosLike,
  onesLike,
  emptyLike,
  fullLike,
  arange,
  linspace,
  eye,
  rand,
  randn,
  randint,
  randperm,
} from "./creation.js";
export type { Size, TensorOptions, RandomOptions, TensorDataOptions, NestedData } from "./creation.js";
export { Generator, defaultGenerator, manualSeed, getRngState, setRngState } from "./random.js";
export type { RngState } from "./random.js";
export {
  add,
  sub,
  mul,
  div,
  pow,
  maximum,
  minimum,
  neg,
  exp,
  log,
  sqrt,
  rsqrt,
  abs,
  tanh,
  sigmoid,
  relu,
  gelu,
  silu,
  square,
  sin,
  cos,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  logicalAnd,
  logicalOr,
  logicalNot,
  where,
  maskedFill,
  clamp,
} from "./ops/elementwise.js";
export {
  sum,
  mean,
  max,
  min,
  argmax,
  argmin,
  logsumexp,
  variance,
  std,
  sumToShape,
} from "./ops/reduce.js";
export type { ValuesIndices, VarOptions } from "./ops/reduce.js";
export {
  reshape,
  view,
  flatten,
  permute,
  transpose,
  unsqueeze,
  squeeze,
  slice,
  narrow,
  select,
  expand,
  contiguous,
  clone,
} from "./ops/views.js";
export { cat, stack, split, chunk } from "./ops/join.js";
export { indexSelect, gather, triu, tril } from "./ops/indexing.js";
export { matmul } from "./ops/linalg.js";
export {
  softmax,
  logSoftmax,
  crossEntropy,
  embedding,
  linear,
  layerNorm,
  rmsNorm,
  dropout,
} from "./functional.js";
export type { CrossEntropyOptions, DropoutOptions } from "./functional.js";
export { fromHalfBits, toHalfBits } from "./convert.js";
export type { HalfDType } from "./convert.js";
export { f16ToF32, bf16ToF32, f32ToF16, f32ToBf16, halfToFloat, floatToHalf } from "./half.js";
export { getBackend, setBackend, availableBackends, jsBackend, profileBackend, KernelTally } from "../backend/index.js";
export type { BackendName, KernelTotal } from "../backend/index.js";
