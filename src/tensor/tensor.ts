// The Tensor: an n-dimensional view (shape, strides, offset) over a typed-array storage.
//
// Views — transpose, permute, slice, expand, unsqueeze, squeeze, reshape when possible —
// share the storage and cost nothing; `contiguous()` copies into row-major order when a
// kernel needs it. Methods mirror PyTorch (camelCase) and forward to the free functions in
// ops/ and functional.ts, where each op and its gradient live.
import type { DataArray } from "../backend/backend.js";
import { getBackend, jsBackend } from "../backend/index.js";
import { deviceArray, exposeToCpu, syncForCpu } from "../backend/device_arrays.js";
import { type Node, isGradEnabled, runBackward } from "./autograd.js";
import { type DType, allocate, checkDType, dtypeOfArray } from "./dtype.js";
import { type Shape, contiguousStrides, normDim, numelOf, shapeStr } from "./shape.js";
import { formatTensor } from "./format.js";
import * as ew from "./ops/elementwise.js";
import * as red from "./ops/reduce.js";
import * as views from "./ops/views.js";
import * as idx from "./ops/indexing.js";
import * as join from "./ops/join.js";
import { matmul } from "./ops/linalg.js";
import * as F from "./functional.js";

/** A nested JS array as returned by tolist(). */
export type NestedArray = number | boolean | NestedArray[];

/** A tensor or a JS number standing for a scalar of the tensor's dtype. */
export type TensorLike = Tensor | number;

export class Tensor {
  private _storage: DataArray;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  /** Element offset of this view's first element in `storage`. */
  readonly offset: number;
  readonly dtype: DType;
  readonly device = "cpu" as const;
  /** Gradient accumulated by backward() (leaves that require grad only). */
  grad: Tensor | null = null;
  /** The op that produced this tensor, for autograd; null for leaves. */
  gradFn: Node | null = null;
  private _requiresGrad = false;

  /**
   * Low-level constructor: wraps `storage` (not copied). Prefer tensor(), zeros(), etc.
   * The dtype follows the storage type: Float32Array → float32, Int32Array → int32, Uint8Array → bool.
   */
  constructor(storage: DataArray, shape: Shape, strides?: readonly number[], offset = 0) {
    this._storage = storage;
    this.dtype = dtypeOfArray(storage);
    this.shape = Object.freeze(shape.slice());
    this.strides = Object.freeze(strides ? strides.slice() : contiguousStrides(shape));
    this.offset = offset;
    if (this.strides.length !== this.shape.length) {
      throw new RangeError(`Tensor: ${this.strides.length} strides for shape ${shapeStr(shape)}`);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Basic properties
  // ---------------------------------------------------------------------------------------

  /**
   * The typed array holding the elements (shared between views), current on the CPU: a GPU
   * backend copies back whatever it still holds of it first (backend/device_arrays.ts).
   */
  get storage(): DataArray {
    exposeToCpu(this._storage);
    return this._storage;
  }

  set storage(s: DataArray) {
    this._storage = s;
  }

  /**
   * @internal The storage, current on the CPU, for code that reads or writes it now and keeps
   * no reference to it afterwards (unlike `storage`, the array stays deferrable).
   */
  cpuStorage(): DataArray {
    syncForCpu(this._storage);
    return this._storage;
  }

  /**
   * @internal The storage as it is, for passing to the current backend's kernels only: bytes a
   * GPU backend still holds are not copied back, so never read it on the CPU.
   */
  get deviceStorage(): DataArray {
    return this._storage;
  }

  get numel(): number {
    return numelOf(this.shape);
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** The size of one dimension, or the whole shape (like torch's size()). */
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number | number[] {
    if (dim === undefined) return this.shape.slice();
    return this.shape[normDim("size", dim, this.ndim)];
  }

  /** Whether gradients flow to this tensor. Only float32 tensors may require grad. */
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }

  set requiresGrad(flag: boolean) {
    this.requiresGrad_(flag);
  }

  /** Sets requiresGrad on a leaf (in place, returns this), like torch's requires_grad_(). */
  requiresGrad_(flag = true): this {
    if (flag && this.dtype !== "float32") {
      throw new TypeError(`requiresGrad: only float32 tensors can require gradients, this one is ${this.dtype}`);
    }
    if (!flag && this.gradFn) {
      throw new Error("requiresGrad: cannot turn off gradients of a non-leaf tensor; use detach()");
    }
    this._requiresGrad = flag;
    return this;
  }

  /** True for tensors not produced by a recorded op (parameters, inputs). */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** @internal Used by autograd.record(). */
  _setGradFn(node: Node): void {
    this.gradFn = node;
    this._requiresGrad = true;
  }

  /** True when the elements are laid out row-major without gaps (views may not be). */
  isContiguous(): boolean {
    let expected = 1;
    for (let d = this.ndim - 1; d >= 0; d--) {
      if (this.shape[d] === 1) continue;
      if (this.strides[d] !== expected) return false;
      expected *= this.shape[d];
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------
  // Reading values
  // ---------------------------------------------------------------------------------------

  /**
   * The elements as a contiguous typed array (Float32Array, Int32Array, or Uint8Array for bool).
   * When the tensor is already contiguous this is a view of its storage (writes show through);
   * otherwise a fresh copy.
   */
  data(): DataArray {
    if (this.isContiguous()) return this.contiguousView(this.storage);
    return this.gatherWith(allocate(this.dtype, this.numel));
  }

  /**
   * @internal data() for passing straight to the current backend's kernels: bytes a GPU backend
   * still holds stay there (backend/device_arrays.ts), so never read the result on the CPU.
   */
  deviceData(): DataArray {
    if (this.isContiguous()) return this.contiguousView(this._storage);
    return this.gatherWith(this.dtype === "float32" ? deviceArray(this.numel) : allocate(this.dtype, this.numel));
  }

  /**
   * @internal data() for code that reads the elements now and keeps no reference to the
   * result afterwards (a copy for a file, a norm): unlike data(), the storage stays deferrable.
   */
  cpuData(): DataArray {
    if (this.isContiguous()) return this.contiguousView(this.cpuStorage());
    return this.gatherWith(allocate(this.dtype, this.numel));
  }

  private contiguousView(s: DataArray): DataArray {
    const n = this.numel;
    if (this.offset === 0 && s.length === n) return s;
    return s.subarray(this.offset, this.offset + n);
  }

  /** The elements copied into `out` in row-major order (float32 on the current backend). */
  private gatherWith(out: DataArray): DataArray {
    const backend = this.dtype === "float32" ? getBackend() : jsBackend;
    backend.copyStrided(this._storage, this.offset, this.shape, this.strides, out);
    return out;
  }

  /** The value of a one-element tensor as a JS number (bool → 0/1 becomes true/false via tolist). */
  item(): number {
    if (this.numel !== 1) {
      throw new RangeError(`item: only one-element tensors can be converted to a number, this one has shape ${shapeStr(this.shape)}`);
    }
    syncForCpu(this._storage); // read once here, not kept: the storage stays deferrable
    return this._storage[this.offset];
  }

  /** Nested JS arrays of the values (booleans for bool tensors), like torch's tolist(). */
  tolist(): NestedArray {
    const flat = this.data();
    const asValue = (v: number): number | boolean => (this.dtype === "bool" ? v !== 0 : v);
    if (this.ndim === 0) return asValue(flat[0]);
    let pos = 0;
    const build = (d: number): NestedArray[] => {
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[d]; i++) {
        out.push(d === this.ndim - 1 ? asValue(flat[pos++]) : build(d + 1));
      }
      return out;
    };
    return build(0);
  }

  /** PyTorch-style printout: tensor([[1.0000, 2.0000], ...], dtype=int32, requires_grad=True). */
  toString(): string {
    return formatTensor(this);
  }

  // ---------------------------------------------------------------------------------------
  // Autograd
  // ---------------------------------------------------------------------------------------

  /**
   * Computes gradients of this tensor with respect to every leaf that requires grad and adds
   * them into the leaves' `.grad`. A non-scalar tensor needs `gradient` (same shape).
   * The graph is freed afterwards: a second backward through it is an error.
   */
  backward(gradient?: Tensor): void {
    if (!this.requiresGrad) {
      throw new Error("backward: this tensor does not require grad and has no graph (did you forget requiresGrad, or run under noGrad?)");
    }
    let g: Tensor;
    if (gradient === undefined) {
      if (this.numel !== 1) {
        throw new RangeError(`backward: a gradient is needed for a non-scalar output of shape ${shapeStr(this.shape)}`);
      }
      g = new Tensor(new Float32Array([1]), this.shape);
    } else {
      if (!(gradient instanceof Tensor)) throw new TypeError("backward: gradient must be a Tensor");
      if (gradient.dtype !== "float32") throw new TypeError(`backward: gradient must be float32, got ${gradient.dtype}`);
      if (!sameShapeAs(gradient, this)) {
        throw new RangeError(
          `backward: gradient shape ${shapeStr(gradient.shape)} does not match the output shape ${shapeStr(this.shape)}`,
        );
      }
      g = gradient.detach();
    }
    runBackward(this, g);
  }

  /** @internal Adds `g` into this leaf's .grad (allocating it the first time). */
  _accumulateGrad(g: Tensor): void {
    if (!this.grad) {
      this.grad = views.contiguousCopy(g);
      return;
    }
    const acc = this.grad;
    getBackend().binary(
      "add",
      acc._storage as Float32Array,
      acc.offset,
      acc.strides,
      g._storage as Float32Array,
      g.offset,
      g.strides,
      acc._storage,
      acc.shape,
    );
  }

  /** Clears .grad (sets it to null, like PyTorch's default set_to_none=True). */
  zeroGrad(): void {
    this.grad = null;
  }

  /** A tensor sharing this one's storage, cut from the graph (requiresGrad false). */
  detach(): Tensor {
    return new Tensor(this._storage, this.shape, this.strides, this.offset);
  }

  /**
   * Drops the storage and the graph links so the memory can be reclaimed even while the
   * tensor object is still referenced. Using a disposed tensor reads as an empty buffer error.
   */
  dispose(): void {
    this.storage = allocate(this.dtype, 0);
    this.grad = null;
    this.gradFn = null;
  }

  // ---------------------------------------------------------------------------------------
  // In-place updates (optimizers, initialisers). They bypass autograd.
  // ---------------------------------------------------------------------------------------

  private checkInPlace(op: string): void {
    if (isGradEnabled() && this.requiresGrad) {
      throw new Error(`${op}: in-place update of a tensor that requires grad; wrap it in noGrad(() => ...)`);
    }
    if (this._storage.length === 0 && this.numel > 0) throw new Error(`${op}: the tensor was disposed`);
  }

  /** Copies `src` (broadcast to this shape, same dtype) into this tensor's elements. */
  copy_(src: Tensor): this {
    this.checkInPlace("copy_");
    views.writeInto(this, src, "copy_");
    return this;
  }

  /** Sets every element to `value`. */
  fill_(value: number | boolean): this {
    this.checkInPlace("fill_");
    views.fillInto(this, value);
    return this;
  }

  zero_(): this {
    return this.fill_(0);
  }

  /** this += alpha * other (float32), like torch's add_(other, alpha=...). */
  add_(other: Tensor | number, alpha = 1): this {
    this.checkInPlace("add_");
    const update = typeof other === "number" ? other * alpha : alpha === 1 ? other : ew.mul(other, alpha);
    views.writeInto(this, ew.add(this.detach(), update), "add_");
    return this;
  }

  /** this *= factor. */
  mul_(factor: Tensor | number): this {
    this.checkInPlace("mul_");
    views.writeInto(this, ew.mul(this.detach(), factor), "mul_");
    return this;
  }

  // ---------------------------------------------------------------------------------------
  // Element-wise ops
  // ---------------------------------------------------------------------------------------

  add(other: TensorLike): Tensor {
    return ew.add(this, other);
  }
  sub(other: TensorLike): Tensor {
    return ew.sub(this, other);
  }
  mul(other: TensorLike): Tensor {
    return ew.mul(this, other);
  }
  div(other: TensorLike): Tensor {
    return ew.div(this, other);
  }
  pow(exponent: TensorLike): Tensor {
    return ew.pow(this, exponent);
  }
  maximum(other: TensorLike): Tensor {
    return ew.maximum(this, other);
  }
  minimum(other: TensorLike): Tensor {
    return ew.minimum(this, other);
  }
  neg(): Tensor {
    return ew.neg(this);
  }
  exp(): Tensor {
    return ew.exp(this);
  }
  log(): Tensor {
    return ew.log(this);
  }
  sqrt(): Tensor {
    return ew.sqrt(this);
  }
  rsqrt(): Tensor {
    return ew.rsqrt(this);
  }
  abs(): Tensor {
    return ew.abs(this);
  }
  tanh(): Tensor {
    return ew.tanh(this);
  }
  sigmoid(): Tensor {
    return ew.sigmoid(this);
  }
  relu(): Tensor {
    return ew.relu(this);
  }
  gelu(opts?: { approximate?: "none" | "tanh" }): Tensor {
    return ew.gelu(this, opts);
  }
  silu(): Tensor {
    return ew.silu(this);
  }
  square(): Tensor {
    return ew.square(this);
  }
  sin(): Tensor {
    return ew.sin(this);
  }
  cos(): Tensor {
    return ew.cos(this);
  }
  eq(other: TensorLike): Tensor {
    return ew.eq(this, other);
  }
  ne(other: TensorLike): Tensor {
    return ew.ne(this, other);
  }
  lt(other: TensorLike): Tensor {
    return ew.lt(this, other);
  }
  le(other: TensorLike): Tensor {
    return ew.le(this, other);
  }
  gt(other: TensorLike): Tensor {
    return ew.gt(this, other);
  }
  ge(other: TensorLike): Tensor {
    return ew.ge(this, other);
  }
  logicalAnd(other: Tensor): Tensor {
    return ew.logicalAnd(this, other);
  }
  logicalOr(other: Tensor): Tensor {
    return ew.logicalOr(this, other);
  }
  logicalNot(): Tensor {
    return ew.logicalNot(this);
  }
  /** Elements where `mask` is true become `value`; the rest are kept. */
  maskedFill(mask: Tensor, value: number): Tensor {
    return ew.maskedFill(this, mask, value);
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return ew.clamp(this, min, max);
  }

  // ---------------------------------------------------------------------------------------
  // Reductions
  // ---------------------------------------------------------------------------------------

  sum(dim?: number | number[] | null, keepdim = false): Tensor {
    return red.sum(this, dim, keepdim);
  }
  mean(dim?: number | number[] | null, keepdim = false): Tensor {
    return red.mean(this, dim, keepdim);
  }
  /** Without dim: the maximum (a scalar tensor). With dim: { values, indices } like torch. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): red.ValuesIndices;
  max(dim?: number, keepdim = false): Tensor | red.ValuesIndices {
    return dim === undefined ? red.maxAll(this) : red.maxDim(this, dim, keepdim);
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): red.ValuesIndices;
  min(dim?: number, keepdim = false): Tensor | red.ValuesIndices {
    return dim === undefined ? red.minAll(this) : red.minDim(this, dim, keepdim);
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return red.argmax(this, dim, keepdim);
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return red.argmin(this, dim, keepdim);
  }
  logsumexp(dim: number | number[], keepdim = false): Tensor {
    return red.logsumexp(this, dim, keepdim);
  }
  var(dim?: number | number[] | null, opts?: red.VarOptions): Tensor {
    return red.variance(this, dim, opts);
  }
  std(dim?: number | number[] | null, opts?: red.VarOptions): Tensor {
    return red.std(this, dim, opts);
  }

  // ---------------------------------------------------------------------------------------
  // Linear algebra and nn functions
  // ---------------------------------------------------------------------------------------

  matmul(other: Tensor): Tensor {
    return matmul(this, other);
  }
  softmax(dim: number): Tensor {
    return F.softmax(this, dim);
  }
  logSoftmax(dim: number): Tensor {
    return F.logSoftmax(this, dim);
  }

  // ---------------------------------------------------------------------------------------
  // Shapes and views
  // ---------------------------------------------------------------------------------------

  reshape(...shape: number[] | [readonly number[]]): Tensor {
    return views.reshape(this, flatArgs(shape));
  }
  view(...shape: number[] | [readonly number[]]): Tensor {
    return views.view(this, flatArgs(shape));
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return views.flatten(this, startDim, endDim);
  }
  transpose(dim0: number, dim1: number): Tensor {
    return views.transpose(this, dim0, dim1);
  }
  /** Transpose of a tensor with at most 2 dims. */
  t(): Tensor {
    return views.t(this);
  }
  /** Shorthand for transpose of the last two dims (batched matrices). */
  get mT(): Tensor {
    return views.transpose(this, -2, -1);
  }
  permute(...dims: number[] | [readonly number[]]): Tensor {
    return views.permute(this, flatArgs(dims));
  }
  unsqueeze(dim: number): Tensor {
    return views.unsqueeze(this, dim);
  }
  squeeze(dim?: number | number[]): Tensor {
    return views.squeeze(this, dim);
  }
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
    return views.slice(this, dim, start, end, step);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return views.narrow(this, dim, start, length);
  }
  /** The sub-tensor at `index` along `dim` (that dim is removed), like x[:, i]. */
  select(dim: number, index: number): Tensor {
    return views.select(this, dim, index);
  }
  expand(...shape: number[] | [readonly number[]]): Tensor {
    return views.expand(this, flatArgs(shape));
  }
  expandAs(other: Tensor): Tensor {
    return views.expand(this, other.shape);
  }
  contiguous(): Tensor {
    return views.contiguous(this);
  }
  /** A contiguous copy (in the graph, like torch's clone()). */
  clone(): Tensor {
    return views.clone(this);
  }
  split(sizeOrSections: number | number[], dim = 0): Tensor[] {
    return join.split(this, sizeOrSections, dim);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return join.chunk(this, chunks, dim);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return idx.indexSelect(this, dim, index);
  }
  gather(dim: number, index: Tensor): Tensor {
    return idx.gather(this, dim, index);
  }
  triu(diagonal = 0): Tensor {
    return idx.triu(this, diagonal);
  }
  tril(diagonal = 0): Tensor {
    return idx.tril(this, diagonal);
  }

  // ---------------------------------------------------------------------------------------
  // Conversions
  // ---------------------------------------------------------------------------------------

  /** An explicit dtype conversion (float → int truncates toward zero; → bool is x != 0). */
  to(dtype: DType): Tensor {
    return ew.castTo(this, checkDType("to", dtype));
  }
  float(): Tensor {
    return this.to("float32");
  }
  int(): Tensor {
    return this.to("int32");
  }
  bool(): Tensor {
    return this.to("bool");
  }
}

function sameShapeAs(a: Tensor, b: Tensor): boolean {
  return a.ndim === b.ndim && a.shape.every((s, i) => s === b.shape[i]);
}

/** Accepts both reshape(2, 3) and reshape([2, 3]). */
function flatArgs(args: number[] | [readonly number[]]): number[] {
  if (args.length === 1 && Array.isArray(args[0])) return (args[0] as readonly number[]).slice();
  return args as number[];
}

/** Makes a contiguous tensor over a fresh typed array (helper for ops). */
export function fromStorage(storage: DataArray, shape: Shape): Tensor {
  return new Tensor(storage, shape);
}

/** Throws unless `x` is a Tensor (public functions check their arguments). */
export function assertTensor(op: string, name: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) {
    throw new TypeError(`${op}: ${name} must be a Tensor, got ${x === null ? "null" : typeof x}`);
  }
}
