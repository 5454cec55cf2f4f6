// GGUF (version 3): llama.cpp's single-file model format. This file parses the container from
// any ByteSource (a file in Node, bytes in a browser page) and imports no Node module; gguf.ts
// opens files and writes GGUF; gguf_llama_read.ts maps the tensors onto a model.
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
import { type ByteSource, SequentialReader } from "./byte_source.js";
import { FormatError } from "../util/errors.js";
import { QUANT_BLOCKS, elementCount, storageBytes, viewAs } from "./dtypes.js";

export const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
export const MAX_DIMS = 4; // GGML_MAX_DIMS
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
export const GGML_TYPE_OF: Partial<Record<StorageDType, number>> = {
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

/** A parsed GGUF: header, metadata and tensor infos validated; tensors read on demand from its source. */
export class GGUFSourceReader {
  readonly version: number;
  readonly metadata: Map<string, GGUFValue>;
  readonly tensors: GGUFTensorInfo[];
  readonly alignment: number;
  private readonly byName: Map<string, GGUFTensorInfo>;

  protected constructor(
    private readonly file: ByteSource,
    parsed: Parsed,
  ) {
    this.version = parsed.version;
    this.metadata = parsed.metadata;
    this.tensors = parsed.tensors;
    this.alignment = parsed.alignment;
    this.byName = new Map(parsed.tensors.map((t) => [t.name, t]));
  }

  /** Parses the header of `source` (closed again if it is not a valid GGUF). */
  static fromSource(source: ByteSource): GGUFSourceReader {
    try {
      return new GGUFSourceReader(source, parse(source));
    } catch (err) {
      source.close();
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

/** True when the source starts with the GGUF magic. */
export function hasGGUFMagicBytes(source: ByteSource): boolean {
  return source.size >= 4 && new DataView(source.read(0, 4, "magic").buffer).getUint32(0, true) === MAGIC;
}

/** @internal the parse behind GGUFSourceReader, for a subclass that opens files */
export function parseGGUF(source: ByteSource): Parsed {
  return parse(source);
}

export interface Parsed {
  version: number;
  metadata: Map<string, GGUFValue>;
  tensors: GGUFTensorInfo[];
  alignment: number;
}

function parse(file: ByteSource): Parsed {
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
