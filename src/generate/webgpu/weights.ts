// The checkpoint's weights, uploaded to the GPU once: linear and embedding matrices in the
// format the matvec kernel reads (weight_formats_wgsl.ts), norms and biases as f32.
//
// F32 stays f32; Q8_0, Q4_0 and Q4_K stay quantized (Q8_0 and Q4_0 blocks are split into f32
// scales and word-aligned codes; Q4_K's 144-byte super-blocks are already aligned); F16 / BF16
// and the other block formats (Q4_1, Q5_0, Q6_K, Q8_ROW) are widened to f32 here, once.
/// <reference types="@webgpu/types" />
import type { Architecture, BlockLayout, GlobalRole, LayerRole, ModelConfig, ModelDims, Role } from "../../arch/index.js";
import { canonicalName, checkTensors, hasGlobalRole, isIgnoredTensor, modulePath } from "../../arch/index.js";
import type { Checkpoint, StoredTensor } from "../../formats/types.js";
import { toFloat32 } from "../../formats/dtypes.js";
import { dequantize } from "../../quant/quantize.js";
import { isQuantDType, type QuantizedTensor } from "../../quant/types.js";
import { halfToFloat } from "../../tensor/half.js";
import type { DecodeGpu } from "./gpu.js";
import type { GpuWeightFormat } from "./weight_formats_wgsl.js";

/** A (rows, cols) matrix on the GPU; `wOff` is where its codes start (words), see weight_formats_wgsl.ts. */
export interface GpuMatrix {
  format: GpuWeightFormat;
  buffer: GPUBuffer;
  rows: number;
  cols: number;
  wOff: number;
  bytes: number;
}

export interface GpuLinear {
  w: GpuMatrix;
  b: GPUBuffer | null;
}

export interface GpuNorm {
  w: GPUBuffer;
  b: GPUBuffer | null;
}

export interface GpuLayer {
  attnNorm: GpuNorm;
  qkv: GpuLinear | null;
  q: GpuLinear | null;
  k: GpuLinear | null;
  v: GpuLinear | null;
  out: GpuLinear;
  qNorm: GPUBuffer | null;
  kNorm: GPUBuffer | null;
  ffnNorm: GpuNorm;
  gate: GpuLinear | null;
  up: GpuLinear;
  down: GpuLinear;
}

export interface GpuWeights {
  embed: GpuMatrix;
  positions: GPUBuffer | null;
  layers: GpuLayer[];
  finalNorm: GpuNorm;
  /** The lm head: the embedding's own buffer when tied. */
  output: GpuMatrix;
  /** Bytes uploaded (a tied head counted once). */
  bytes: number;
  /**
   * Bytes a one-token step streams from the weights: all of them but the embedding tables, of
   * which a step reads one row (unless the embedding is also the lm head).
   */
  bytesPerToken: number;
}

/** The raw bytes of Q8_0 / Q4_0 blocks split into [f32 scales][codes], `codeBytes` code bytes per block. */
function splitBlocks(t: QuantizedTensor, rows: number, cols: number, blockBytes: number, codeBytes: number): Uint8Array {
  const nb = rows * (cols / 32);
  const out = new Uint8Array(nb * 4 + nb * codeBytes);
  const scales = new Float32Array(out.buffer, 0, nb);
  for (let i = 0; i < nb; i++) {
    const o = i * blockBytes;
    scales[i] = halfToFloat(t.data[o]! | (t.data[o + 1]! << 8));
    out.set(t.data.subarray(o + 2, o + 2 + codeBytes), nb * 4 + i * codeBytes);
  }
  return out;
}

/** What to upload for a matrix, in which format, and where its codes start. */
function matrixData(t: StoredTensor, rows: number, cols: number): { format: GpuWeightFormat; data: ArrayBufferView; wOff: number } {
  if (isQuantDType(t.dtype)) {
    const q = t as unknown as QuantizedTensor;
    const blocks = rows * (cols / 32);
    if (q.dtype === "Q8_0") return { format: "q8_0", data: splitBlocks(q, rows, cols, 34, 32), wOff: blocks };
    if (q.dtype === "Q4_0") return { format: "q4_0", data: splitBlocks(q, rows, cols, 18, 16), wOff: blocks };
    if (q.dtype === "Q4_K") return { format: "q4_k", data: q.data, wOff: 0 };
    return { format: "f32", data: dequantize(q).data as Float32Array, wOff: 0 };
  }
  return { format: "f32", data: toFloat32(t), wOff: 0 };
}

/** Reads a checkpoint's tensors by role (names and shapes checked against the architecture first) and uploads them. */
class Uploader {
  private readonly tensors = new Map<string, StoredTensor>();
  bytes = 0;

  constructor(
    ckpt: Checkpoint,
    config: ModelConfig,
    private readonly arch: Architecture,
    private readonly gpu: DecodeGpu,
  ) {
    for (const [name, t] of ckpt.tensors) {
      if (!isIgnoredTensor(config, name)) this.tensors.set(canonicalName(config, name, ckpt.tensors), t);
    }
    checkTensors(config, new Map([...this.tensors].map(([n, t]) => [n, t.shape])), ckpt.source.path);
  }

  private tensor(role: Role, layer: number | null, kind: "weight" | "bias"): StoredTensor | undefined {
    return this.tensors.get(`${modulePath(this.arch, role, layer)}.${kind}`);
  }

  private label(role: Role, layer: number | null, kind: string): string {
    return `${modulePath(this.arch, role, layer)}.${kind}`;
  }

  vector(role: Role, layer: number | null, kind: "weight" | "bias" = "weight"): GPUBuffer | null {
    const t = this.tensor(role, layer, kind);
    if (!t) return null;
    const data = toFloat32(t);
    this.bytes += data.byteLength;
    return this.gpu.upload(data, this.label(role, layer, kind));
  }

  norm(role: "attn_norm" | "ffn_norm" | "output_norm", layer: number | null): GpuNorm {
    return { w: this.vector(role, layer)!, b: this.vector(role, layer, "bias") };
  }

  matrix(role: Role, layer: number | null): GpuMatrix {
    const t = this.tensor(role, layer, "weight")!;
    const [rows, cols] = t.shape as [number, number];
    const { format, data, wOff } = matrixData(t, rows, cols);
    this.bytes += data.byteLength;
    const buffer = this.gpu.upload(data, this.label(role, layer, "weight"));
    return { format, buffer, rows, cols, wOff, bytes: data.byteLength };
  }

  linear(role: LayerRole, layer: number): GpuLinear | null {
    if (this.arch.paths.layer[role] === undefined) return null;
    return { w: this.matrix(role, layer), b: this.vector(role, layer, "bias") };
  }

  layer(i: number): GpuLayer {
    const has = (role: LayerRole) => this.arch.paths.layer[role] !== undefined;
    return {
      attnNorm: this.norm("attn_norm", i),
      qkv: this.linear("attn_qkv", i),
      q: this.linear("attn_q", i),
      k: this.linear("attn_k", i),
      v: this.linear("attn_v", i),
      out: this.linear("attn_output", i)!,
      qNorm: has("attn_q_norm") ? this.vector("attn_q_norm", i) : null,
      kNorm: has("attn_k_norm") ? this.vector("attn_k_norm", i) : null,
      ffnNorm: this.norm("ffn_norm", i),
      gate: this.linear("ffn_gate", i),
      up: this.linear("ffn_up", i)!,
      down: this.linear("ffn_down", i)!,
    };
  }

  has(role: GlobalRole, layout: BlockLayout): boolean {
    return hasGlobalRole(this.arch, layout, role);
  }
}

/** Uploads every weight of the checkpoint; an out-of-memory allocation is an error naming the model. */
export async function uploadWeights(
  gpu: DecodeGpu,
  ckpt: Checkpoint,
  config: ModelConfig,
  arch: Architecture,
  layout: BlockLayout,
  dims: ModelDims,
): Promise<GpuWeights> {
  const up = new Uploader(ckpt, config, arch, gpu);
  return gpu.allocating(`the weights of ${ckpt.source.path}`, () => {
    const layers: GpuLayer[] = [];
    for (let i = 0; i < dims.layers; i++) layers.push(up.layer(i));
    const embed = up.matrix("token_embd", null);
    const positions = up.has("position_embd", layout) ? up.vector("position_embd", null) : null;
    const finalNorm = up.norm("output_norm", null);
    const output = up.has("output", layout) ? up.matrix("output", null) : embed;
    const tables = (output === embed ? 0 : embed.bytes) + (positions ? positions.size : 0);
    return { embed, positions, layers, finalNorm, output, bytes: up.bytes, bytesPerToken: up.bytes - tables };
  });
}
