// GGUF (version 3) files: opening one (the parsing is gguf_reader.ts's, which a browser can use
// too) and writing one; gguf_llama.ts maps a Llama model onto the container.
import { BinaryFile } from "./binary.js";
import { bytesOf, checkTensor, storageBytes } from "./dtypes.js";
import { writeAll, writeFileAtomic } from "../util/atomic_write.js";
import type { TensorSource } from "./safetensors.js";
import {
  GGML_TYPE_OF,
  GGUF_DEFAULT_ALIGNMENT,
  GGUFSourceReader,
  GGUF_VALUE_TYPES,
  MAGIC,
  MAX_DIMS,
  VERSION,
  hasGGUFMagicBytes,
  parseGGUF,
  type GGUFArray,
  type GGUFScalar,
  type GGUFValue,
  type GGUFValueType,
} from "./gguf_reader.js";

export {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_VALUE_TYPES,
  GGUFSourceReader,
  hasGGUFMagicBytes,
  type GGUFArray,
  type GGUFScalar,
  type GGUFTensorInfo,
  type GGUFValue,
  type GGUFValueType,
} from "./gguf_reader.js";

/** An open GGUF file: header, metadata and tensor infos validated; tensors read on demand. */
export class GGUFReader extends GGUFSourceReader {
  static open(path: string): GGUFReader {
    const file = new BinaryFile(path);
    try {
      return new GGUFReader(file, parseGGUF(file));
    } catch (err) {
      file.close();
      throw err;
    }
  }
}

/** True when the file starts with the GGUF magic. */
export function hasGGUFMagic(path: string): boolean {
  try {
    const f = new BinaryFile(path);
    try {
      return hasGGUFMagicBytes(f);
    } finally {
      f.close();
    }
  } catch {
    return false;
  }
}

/** Growable little-endian byte buffer for the header part of a GGUF file. */
class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private room(n: number): number {
    if (this.length + n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      bigger.set(this.buf.subarray(0, this.length));
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  // room() may replace buf / view, so it runs before they are read (`this.view.setX(this.room(n))`
  // would write into the old, discarded buffer whenever the call grows it).
  private at(n: number): { view: DataView; at: number } {
    const at = this.room(n);
    return { view: this.view, at };
  }

  u8(v: number): void {
    const p = this.at(1);
    p.view.setUint8(p.at, v);
  }
  i8(v: number): void {
    const p = this.at(1);
    p.view.setInt8(p.at, v);
  }
  u16(v: number): void {
    const p = this.at(2);
    p.view.setUint16(p.at, v, true);
  }
  i16(v: number): void {
    const p = this.at(2);
    p.view.setInt16(p.at, v, true);
  }
  u32(v: number): void {
    const p = this.at(4);
    p.view.setUint32(p.at, v, true);
  }
  i32(v: number): void {
    const p = this.at(4);
    p.view.setInt32(p.at, v, true);
  }
  f32(v: number): void {
    const p = this.at(4);
    p.view.setFloat32(p.at, v, true);
  }
  f64(v: number): void {
    const p = this.at(8);
    p.view.setFloat64(p.at, v, true);
  }
  u64(v: bigint): void {
    const p = this.at(8);
    p.view.setBigUint64(p.at, v, true);
  }
  i64(v: bigint): void {
    const p = this.at(8);
    p.view.setBigInt64(p.at, v, true);
  }
  bytes(b: Uint8Array): void {
    const at = this.room(b.length);
    this.buf.set(b, at);
  }
  string(s: string): void {
    const b = Buffer.from(s, "utf8");
    this.u64(BigInt(b.length));
    this.bytes(b);
  }
  pad(alignment: number): void {
    const n = (alignment - (this.length % alignment)) % alignment;
    this.room(n); // the buffer is zero-filled
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

function writeValue(w: ByteWriter, type: GGUFValueType, value: GGUFScalar | GGUFArray, key: string): void {
  const bad = (): never => {
    throw new TypeError(`GGUF metadata ${key}: value ${String(value)} is not a ${type}`);
  };
  const num = (): number => (typeof value === "number" ? value : bad());
  const int = (lo: number, hi: number): number => {
    const v = num();
    return Number.isInteger(v) && v >= lo && v <= hi ? v : bad();
  };
  switch (type) {
    case "u8":
      return w.u8(int(0, 0xff));
    case "i8":
      return w.i8(int(-0x80, 0x7f));
    case "u16":
      return w.u16(int(0, 0xffff));
    case "i16":
      return w.i16(int(-0x8000, 0x7fff));
    case "u32":
      return w.u32(int(0, 0xffffffff));
    case "i32":
      return w.i32(int(-0x80000000, 0x7fffffff));
    case "f32":
      return w.f32(num());
    case "f64":
      return w.f64(num());
    case "u64":
      return w.u64(
        typeof value === "bigint" && value >= 0n
          ? value
          : typeof value === "number" && Number.isSafeInteger(value) && value >= 0
            ? BigInt(value)
            : bad(),
      );
    case "i64":
      return w.i64(typeof value === "bigint" ? value : typeof value === "number" && Number.isSafeInteger(value) ? BigInt(value) : bad());
    case "bool":
      return w.u8(typeof value === "boolean" ? (value ? 1 : 0) : bad());
    case "string":
      return w.string(typeof value === "string" ? value : bad());
    case "array": {
      if (typeof value !== "object") bad();
      const arr = value as GGUFArray;
      w.u32(GGUF_VALUE_TYPES.indexOf(arr.elementType));
      w.u64(BigInt(arr.values.length));
      arr.values.forEach((v, i) => writeValue(w, arr.elementType, v, `${key}[${i}]`));
      return;
    }
  }
}

export interface GGUFWriteInput {
  metadata: Iterable<[string, GGUFValue]>;
  /** Tensors with row-major shapes; F32, F16, BF16, Q8_0, Q6_K, Q5_0, Q4_1, Q4_0 or Q4_K. */
  tensors: Iterable<[string, TensorSource]>;
}

/** Writes a GGUF v3 file atomically; tensor data is produced and written one tensor at a time. */
export function writeGGUF(path: string, input: GGUFWriteInput): void {
  const metadata = [...input.metadata];
  const tensors = [...input.tensors];
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  for (const [k, v] of metadata) {
    if (k === "general.alignment") {
      if (v.type !== "u32" || typeof v.value !== "number" || v.value <= 0 || (v.value & (v.value - 1)) !== 0)
        throw new TypeError("GGUF general.alignment must be a u32 power of two");
      alignment = v.value;
    }
  }
  const w = new ByteWriter();
  w.u32(MAGIC);
  w.u32(VERSION);
  w.u64(BigInt(tensors.length));
  w.u64(BigInt(metadata.length));
  const keys = new Set<string>();
  for (const [key, v] of metadata) {
    if (keys.has(key)) throw new Error(`GGUF metadata ${key} appears twice`);
    keys.add(key);
    w.string(key);
    w.u32(GGUF_VALUE_TYPES.indexOf(v.type));
    writeValue(w, v.type, v.value, key);
  }
  let offset = 0;
  for (const [name, t] of tensors) {
    const type = GGML_TYPE_OF[t.dtype];
    if (type === undefined)
      throw new Error(`tensor ${name}: GGUF export supports F32, F16, BF16, Q8_0, Q6_K, Q5_0, Q4_1, Q4_0 and Q4_K, not ${t.dtype}`);
    if (t.shape.length < 1 || t.shape.length > MAX_DIMS)
      throw new Error(`tensor ${name}: GGUF tensors have 1 to ${MAX_DIMS} dims, got [${t.shape.join(", ")}]`);
    w.string(name);
    w.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) w.u64(BigInt(d));
    w.u32(type);
    w.u64(BigInt(offset));
    offset += Math.ceil(storageBytes(t.dtype, t.shape) / alignment) * alignment;
  }
  w.pad(alignment);
  const header = w.result();
  const zeros = new Uint8Array(alignment);
  writeFileAtomic(path, (fd) => {
    writeAll(fd, header);
    for (const [name, t] of tensors) {
      const data = "load" in t ? t.load() : t.data;
      checkTensor(name, { dtype: t.dtype, shape: t.shape, data });
      writeAll(fd, bytesOf(data));
      writeAll(fd, zeros.subarray(0, (alignment - (data.byteLength % alignment)) % alignment));
    }
  });
}
