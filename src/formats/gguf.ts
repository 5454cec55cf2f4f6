// GGUF (version 3): llama.cpp's single-file model format. This file reads and writes the
// container; gguf_llama.ts maps a Llama model onto it.
//
//   u32 magic "GGUF" | u32 version (3) | u64 tensor_count | u64 metadata_kv_count
//   metadata: key (u64 length + UTF-8) | u32 value type | value        (see GGUF_VALUE_TYPES)
//   tensor infos: name | u32 n_dims | u64 dims[n_dims] (innermost FIRST) | u32 ggml type | u64 offset
//   zero padding to `general.alignment` (default 32), then the tensor data; each offset is
//   relative to the data start and a multiple of the alignment.
//
// Dims are listed innermost-first (ne[0] is the row length); tsgpt shapes are row-major, so the
// shape is the reversed dims. Every count and length is checked against the file size before
// anything is allocated, so a corrupt file fails fast with a clear error.
import type { StorageDType, StoredTensor } from "./types.js";
import { BinaryFile, SequentialReader } from "./binary.js";
import { FormatError } from "../util/errors.js";
import { QUANT_BLOCKS, bytesOf, checkTensor, elementCount, storageBytes, viewAs } from "./dtypes.js";
import { writeAll, writeFileAtomic } from "../util/atomic_write.js";
import type { TensorSource } from "./safetensors.js";

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
const MAX_DIMS = 4; // GGML_MAX_DIMS
const MAX_NESTING = 8;

/** Metadata value types, by their number in the file. */
export const GGUF_VALUE_TYPES = ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"] as const;
export type GGUFValueType = (typeof GGUF_VALUE_TYPES)[number];
export type GGUFScalar = number | bigint | boolean | string;

/** An array value: element type and elements (nested arrays are GGUFArray elements). */
export interface GGUFArray {
  elementType: GGUFValueType;
  values: Array<GGUFScalar | GGUFArray>;
}

/** A typed metadata value. u64 / i64 are bigint; other numbers are number. */
export interface GGUFValue {
  type: GGUFValueType;
  value: GGUFScalar | GGUFArray;
}

/** ggml tensor types tsgpt reads and writes, by number; others are named for error messages. */
const GGML_TYPES: Record<number, StorageDType> = {
  0: "F32",
  1: "F16",
  2: "Q4_0",
  3: "Q4_1",
  6: "Q5_0",
  8: "Q8_0",
  12: "Q4_K",
  14: "Q6_K",
  30: "BF16",
};
const GGML_TYPE_NAMES: Record<number, string> = {
  7: "Q5_1",
  9: "Q8_1",
  10: "Q2_K",
  11: "Q3_K",
  13: "Q5_K",
  15: "Q8_K",
  16: "IQ2_XXS",
  17: "IQ2_XS",
  18: "IQ3_XXS",
  19: "IQ1_S",
  20: "IQ4_NL",
  21: "IQ3_S",
  22: "IQ2_S",
  23: "IQ4_XS",
  24: "I8",
  25: "I16",
  26: "I32",
  27: "I64",
  28: "F64",
  29: "IQ1_M",
};
const GGML_TYPE_OF: Partial<Record<StorageDType, number>> = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q8_0: 8,
  Q4_K: 12,
  Q6_K: 14,
  BF16: 30,
};

export interface GGUFTensorInfo {
  name: string;
  dtype: StorageDType;
  /** Row-major shape (the file's dims reversed). */
  shape: number[];
  /** Absolute offset of the first byte in the file. */
  offset: number;
  byteLength: number;
}

/** An open GGUF file: header, metadata and tensor infos validated; tensors read on demand. */
export class GGUFReader {
  readonly version: number;
  readonly metadata: Map<string, GGUFValue>;
  readonly tensors: GGUFTensorInfo[];
  readonly alignment: number;
  private readonly byName: Map<string, GGUFTensorInfo>;

  private constructor(
    private readonly file: BinaryFile,
    parsed: Parsed,
  ) {
    this.version = parsed.version;
    this.metadata = parsed.metadata;
    this.tensors = parsed.tensors;
    this.alignment = parsed.alignment;
    this.byName = new Map(parsed.tensors.map((t) => [t.name, t]));
  }

  static open(path: string): GGUFReader {
    const file = new BinaryFile(path);
    try {
      return new GGUFReader(file, parse(file));
    } catch (err) {
      file.close();
      throw err;
    }
  }

  get path(): string {
    return this.file.path;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  read(name: string): StoredTensor {
    const info = this.byName.get(name);
    if (!info) throw new FormatError(this.file.path, name, "no tensor with this name");
    const bytes = this.file.read(info.offset, info.byteLength, `tensor ${name}`);
    return { dtype: info.dtype, shape: [...info.shape], data: viewAs(info.dtype, bytes) };
  }

  close(): void {
    this.file.close();
  }
}

/** True when the file starts with the GGUF magic. */
export function hasGGUFMagic(path: string): boolean {
  try {
    const f = new BinaryFile(path);
    try {
      return f.size >= 4 && new DataView(f.read(0, 4, "magic").buffer).getUint32(0, true) === MAGIC;
    } finally {
      f.close();
    }
  } catch {
    return false;
  }
}

interface Parsed {
  version: number;
  metadata: Map<string, GGUFValue>;
  tensors: GGUFTensorInfo[];
  alignment: number;
}

function parse(file: BinaryFile): Parsed {
  const fail = (field: string, msg: string): never => {
    throw new FormatError(file.path, field, msg);
  };
  const r = new SequentialReader(file);
  if (file.size < 24) fail("header", `expected at least 24 bytes (magic, version, counts), the file has ${file.size}`);
  const magic = r.u32("magic");
  if (magic !== MAGIC)
    fail("magic", `expected "GGUF", got ${JSON.stringify(Buffer.from(new Uint32Array([magic]).buffer).toString("latin1"))}`);
  const version = r.u32("version");
  if (version !== VERSION)
    fail(
      "version",
      `expected ${VERSION}${version === 1 || version === 2 ? " (versions 1 and 2 are obsolete: re-convert the model)" : ""}, got ${version}`,
    );
  // Each tensor info takes at least 8 + 4 + 8 + 4 + 8 bytes and each key/value at least 8 + 4 + 1.
  const tensorCount = r.u64Bounded("tensor_count", Math.floor(file.size / 32));
  const kvCount = r.u64Bounded("metadata_kv_count", Math.floor(file.size / 13));

  const metadata = new Map<string, GGUFValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = readString(r, `metadata key ${i}`);
    if (metadata.has(key)) fail(`metadata ${key}`, "key appears twice");
    const type = readValueType(r, `metadata ${key} type`);
    metadata.set(key, { type, value: readValue(r, type, `metadata ${key}`, 0) });
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const a = metadata.get("general.alignment");
  if (a) {
    if (a.type !== "u32" || typeof a.value !== "number" || a.value === 0 || (a.value & (a.value - 1)) !== 0) {
      fail("general.alignment", `expected a u32 power of two, got ${String(a.value)} (${a.type})`);
    }
    alignment = a.value as number;
  }

  const infos: Array<{ name: string; dims: number[]; type: number; relOffset: number }> = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = readString(r, `tensor ${i} name`);
    if (names.has(name)) fail(`tensor ${name}`, "name appears twice");
    names.add(name);
    const nDims = r.u32(`tensor ${name} n_dims`);
    if (nDims < 1 || nDims > MAX_DIMS) fail(`tensor ${name} n_dims`, `expected 1..${MAX_DIMS}, got ${nDims}`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(r.u64Bounded(`tensor ${name} dims[${d}]`, file.size * 8));
    const type = r.u32(`tensor ${name} type`);
    const relOffset = r.u64Bounded(`tensor ${name} offset`, file.size);
    infos.push({ name, dims, type, relOffset });
  }
  const dataStart = Math.ceil(r.pos / alignment) * alignment;
  if (tensorCount > 0 && dataStart > file.size)
    fail("tensor data", `expected data at offset ${dataStart}, the file has ${file.size} bytes (truncated?)`);

  const tensors: GGUFTensorInfo[] = infos.map(({ name, dims, type, relOffset }) => {
    const dtype = GGML_TYPES[type];
    if (!dtype) {
      const known = GGML_TYPE_NAMES[type];
      fail(
        `tensor ${name} type`,
        known
          ? `${known} tensors are not supported by tsgpt yet (F32, F16, BF16, Q8_0, Q6_K, Q5_0, Q4_1, Q4_0, Q4_K are)`
          : `unknown ggml type ${type}`,
      );
    }
    const shape = [...dims].reverse();
    const count = elementCount(shape);
    if (!Number.isSafeInteger(count) || count * 4 > file.size * 8)
      fail(`tensor ${name} dims`, `[${dims.join(", ")}] is larger than the file could hold`);
    const q = QUANT_BLOCKS[dtype!];
    if (q && dims[0]! % q.elements !== 0)
      fail(`tensor ${name} dims`, `row length ${dims[0]} is not a multiple of the ${dtype} block size ${q.elements}`);
    if (relOffset % alignment !== 0) fail(`tensor ${name} offset`, `${relOffset} is not a multiple of the alignment ${alignment}`);
    const byteLength = storageBytes(dtype!, shape);
    const offset = dataStart + relOffset;
    if (offset + byteLength > file.size)
      fail(
        `tensor ${name} offset`,
        `data [${offset}, ${offset + byteLength}) extends past the end of the file (${file.size} bytes; truncated?)`,
      );
    return { name, dtype: dtype!, shape, offset, byteLength };
  });
  const sorted = [...tensors].sort((x, y) => x.offset - y.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!,
      cur = sorted[i]!;
    if (cur.offset < prev.offset + prev.byteLength) fail(`tensor ${cur.name} offset`, `data overlaps tensor ${prev.name}`);
  }
  return { version, metadata, tensors, alignment };
}

function readString(r: SequentialReader, field: string): string {
  const len = r.u64Bounded(`${field} length`, r.file.size - r.pos - 8);
  return r.utf8(len, field);
}

function readValueType(r: SequentialReader, field: string): GGUFValueType {
  const t = r.u32(field);
  const type = GGUF_VALUE_TYPES[t];
  if (type === undefined) throw new FormatError(r.file.path, field, `unknown value type ${t} (expected 0..${GGUF_VALUE_TYPES.length - 1})`);
  return type;
}

/** Smallest encoded size of one value of a type (to bound array lengths by the bytes left). */
function minSize(type: GGUFValueType): number {
  switch (type) {
    case "u8":
    case "i8":
    case "bool":
      return 1;
    case "u16":
    case "i16":
      return 2;
    case "u32":
    case "i32":
    case "f32":
      return 4;
    case "string":
    case "u64":
    case "i64":
    case "f64":
      return 8;
    case "array":
      return 12;
  }
}

function readValue(r: SequentialReader, type: GGUFValueType, field: string, depth: number): GGUFScalar | GGUFArray {
  switch (type) {
    case "u8":
      return r.u8(field);
    case "i8":
      return r.i8(field);
    case "u16":
      return r.u16(field);
    case "i16":
      return r.i16(field);
    case "u32":
      return r.u32(field);
    case "i32":
      return r.i32(field);
    case "f32":
      return r.f32(field);
    case "f64":
      return r.f64(field);
    case "u64":
      return r.u64(field);
    case "i64":
      return r.i64(field);
    case "bool": {
      const b = r.u8(field);
      if (b > 1) throw new FormatError(r.file.path, field, `expected a bool (0 or 1), got ${b}`);
      return b === 1;
    }
    case "string":
      return readString(r, field);
    case "array": {
      if (depth >= MAX_NESTING) throw new FormatError(r.file.path, field, `arrays nested deeper than ${MAX_NESTING}`);
      const elementType = readValueType(r, `${field} element type`);
      const len = r.u64Bounded(`${field} length`, Math.floor((r.file.size - r.pos - 8) / minSize(elementType)));
      const values: Array<GGUFScalar | GGUFArray> = new Array(len);
      for (let i = 0; i < len; i++) values[i] = readValue(r, elementType, `${field}[${i}]`, depth + 1);
      return { elementType, values };
    }
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
