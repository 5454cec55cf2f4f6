// The key/value cache: what attention needs to remember so each new token costs one step.
//
// Without a cache, generating token n recomputes keys and values for all n - 1 tokens
// before it. With it, a step computes k and v for the new token only, appends them, and
// attends over what is stored: the cost of a step grows with the position only through
// attention itself.
//
// Layout, per layer: keys[layer] and values[layer] are (batch, kvHeads, capacity, headDim)
// float32 (kvHeads × headDim = kvDim). Each key/value head is one contiguous (capacity, headDim)
// matrix, so attention is two matrix products per head — scores = Q · Kᵀ, output = P · V —
// that the backend's matmul runs at full speed. All rows of a batch advance together: slot s of
// row b holds column s of that row's left-padded sequence; `valid[b * capacity + s]` is 0 for a
// padding slot, which attention skips.
//
// The cache is sized to what a request needs (prompt + maxNewTokens, capped by the model's
// context), never to the model's maximum by default; `kvCacheEstimate` says how big it will
// be before anything is allocated.

export interface KVCacheShape {
  layers: number;
  batch: number;
  /** Positions each row can hold. */
  capacity: number;
  /** numKeyValueHeads × headDim. */
  kvDim: number;
  /** numKeyValueHeads (default 1: the whole kvDim is one head). */
  kvHeads?: number;
}

export interface KVCacheEstimate extends KVCacheShape {
  bytes: number;
  /** e.g. "KV cache: 2 × 5 layers × 260 positions × 32 × 4 bytes = 0.3 MB". */
  description: string;
}

/** Size of a cache of this shape, and a one-line description for logs. */
export function kvCacheEstimate(shape: KVCacheShape): KVCacheEstimate {
  const bytes = 2 * shape.layers * shape.batch * shape.capacity * shape.kvDim * 4;
  const rows = shape.batch > 1 ? ` × ${shape.batch} sequences` : "";
  const description = `KV cache: 2 × ${shape.layers} layers${rows} × ${shape.capacity} positions × ${shape.kvDim} × 4 bytes = ${formatBytes(bytes)}`;
  return { ...shape, bytes, description };
}

function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e5) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e3).toFixed(1)} kB`;
}

export class KVCache implements KVCacheShape {
  readonly layers: number;
  readonly batch: number;
  readonly capacity: number;
  readonly kvDim: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Per layer: (batch, kvHeads, capacity, headDim). */
  readonly keys: Float32Array[];
  readonly values: Float32Array[];
  /** (batch, capacity): 1 where the slot holds a real token, 0 for padding or not yet written. */
  readonly valid: Uint8Array;
  /** Slots filled so far (the same for every row). */
  length = 0;

  constructor(shape: KVCacheShape) {
    for (const [k, v] of Object.entries(shape)) {
      if (k === "kvHeads" && v === undefined) continue;
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`KV cache: ${k} must be a positive integer, got ${v}`);
    }
    this.layers = shape.layers;
    this.batch = shape.batch;
    this.capacity = shape.capacity;
    this.kvDim = shape.kvDim;
    this.kvHeads = shape.kvHeads ?? 1;
    this.headDim = shape.kvDim / this.kvHeads;
    if (!Number.isInteger(this.headDim))
      throw new RangeError(`KV cache: kvDim ${shape.kvDim} is not a multiple of kvHeads ${this.kvHeads}`);
    const size = shape.batch * shape.capacity * shape.kvDim;
    this.keys = Array.from({ length: shape.layers }, () => new Float32Array(size));
    this.values = Array.from({ length: shape.layers }, () => new Float32Array(size));
    this.valid = new Uint8Array(shape.batch * shape.capacity);
  }

  /** Index in keys[layer] / values[layer] of slot `slot` of head `head` in row `b`. */
  offset(b: number, head: number, slot: number): number {
    return ((b * this.kvHeads + head) * this.capacity + slot) * this.headDim;
  }

  /** Slots still free. */
  get remaining(): number {
    return this.capacity - this.length;
  }

  /** Forgets everything (the buffers are kept for reuse). */
  reset(): void {
    this.length = 0;
    this.valid.fill(0);
  }
}
