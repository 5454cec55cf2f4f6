// Reading safetensors, the Hugging Face weight format, from any ByteSource (a file in Node, bytes
// a browser page read): the header is validated whole before any tensor is read. Imports no Node
// module; safetensors.ts opens files and writes them.
//
//   [8 bytes]  N, little-endian u64: length of the JSON header
//   [N bytes]  JSON: { "__metadata__": {str: str}, "<name>": { "dtype": "F32", "shape": [..],
//              "data_offsets": [begin, end] }, ... }   (offsets relative to the data section)
//   [...]      the data section: every tensor's bytes, row-major, little-endian, back to back
import type { StorageDType, StoredTensor } from "./types.js";
import type { ByteSource } from "./byte_source.js";
import { FormatError } from "../util/errors.js";
import { elementCount, storageBytes, viewAs } from "./dtypes.js";

/** The dtypes tsgpt reads and writes in safetensors files. */
export const SAFETENSORS_DTYPES: readonly StorageDType[] = ["F32", "F16", "BF16", "I32", "I64", "U8", "BOOL"];

/** Same limit as the reference implementation: a larger header is certainly corrupt. */
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  name: string;
  dtype: StorageDType;
  shape: number[];
  /** Absolute offset of the tensor's first byte in the file. */
  offset: number;
  byteLength: number;
}

/** An open safetensors file: header validated, tensors read on demand. Call close() when done. */
export class SafetensorsSourceReader {
  /** Tensors in file (offset) order. */
  readonly entries: SafetensorsEntry[];
  readonly metadata: Record<string, string>;
  private readonly byName: Map<string, SafetensorsEntry>;

  protected constructor(
    private readonly file: ByteSource,
    entries: SafetensorsEntry[],
    metadata: Record<string, string>,
  ) {
    this.entries = entries;
    this.metadata = metadata;
    this.byName = new Map(entries.map((e) => [e.name, e]));
  }

  /** Parses and validates the header of `source` (closed again if it is not a valid safetensors file). */
  static fromSource(source: ByteSource): SafetensorsSourceReader {
    try {
      const { entries, metadata } = parseSafetensorsHeader(source);
      return new SafetensorsSourceReader(source, entries, metadata);
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

  entry(name: string): SafetensorsEntry {
    const e = this.byName.get(name);
    if (!e) throw new FormatError(this.file.path, name, "no tensor with this name");
    return e;
  }

  /** Reads one tensor (a fresh copy of its bytes, typed for its dtype). */
  read(name: string): StoredTensor {
    const e = this.entry(name);
    const bytes = this.file.read(e.offset, e.byteLength, `tensor ${name}`);
    return { dtype: e.dtype, shape: [...e.shape], data: viewAs(e.dtype, bytes) };
  }

  close(): void {
    this.file.close();
  }
}

/** Reads and validates the header: every check happens here, before any tensor is trusted. */
export function parseSafetensorsHeader(file: ByteSource): { entries: SafetensorsEntry[]; metadata: Record<string, string> } {
  const fail = (field: string, msg: string): never => {
    throw new FormatError(file.path, field, msg);
  };
  if (file.size < 8) fail("header length", `expected at least 8 bytes (a safetensors file), the file has ${file.size}`);
  const n = new DataView(file.read(0, 8, "header length").buffer).getBigUint64(0, true);
  if (n > BigInt(Math.min(MAX_HEADER_BYTES, file.size - 8))) {
    fail("header length", `${n} bytes does not fit: the file has ${file.size} bytes (at most ${MAX_HEADER_BYTES} allowed)`);
  }
  const headerLen = Number(n);
  const text = file.read(8, headerLen, "header");
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(text));
  } catch (err) {
    fail("header", `expected a JSON object in UTF-8 (${(err as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) fail("header", "expected a JSON object");

  const dataStart = 8 + headerLen;
  const dataSize = file.size - dataStart;
  const entries: SafetensorsEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = parseMetadata(value, fail);
      continue;
    }
    entries.push(parseEntry(name, value, dataStart, dataSize, fail));
  }
  // Tensors must tile the data section exactly: in offset order, no overlap, no gap, no tail.
  entries.sort((a, b) => a.offset - b.offset || a.byteLength - b.byteLength);
  let end = dataStart;
  for (const e of entries) {
    if (e.offset < end)
      fail(
        `${e.name}.data_offsets`,
        `range [${e.offset - dataStart}, ${e.offset - dataStart + e.byteLength}) overlaps the previous tensor (ends at ${end - dataStart})`,
      );
    if (e.offset > end)
      fail(
        `${e.name}.data_offsets`,
        `range starts at ${e.offset - dataStart}, expected ${end - dataStart} (a gap after the previous tensor)`,
      );
    end = e.offset + e.byteLength;
  }
  if (end !== file.size)
    fail("data", `tensors cover ${end - dataStart} bytes, but the data section has ${dataSize} (truncated file or trailing bytes)`);
  return { entries, metadata };
}

function parseMetadata(value: unknown, fail: (field: string, msg: string) => never): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    fail("__metadata__", "expected an object mapping strings to strings");
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== "string") fail(`__metadata__.${k}`, `expected a string, got ${JSON.stringify(v)}`);
    out[k] = v as string;
  }
  return out;
}

function parseEntry(
  name: string,
  value: unknown,
  dataStart: number,
  dataSize: number,
  fail: (field: string, msg: string) => never,
): SafetensorsEntry {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    fail(name, "expected an object with dtype, shape and data_offsets");
  const v = value as Record<string, unknown>;
  const dtype = v.dtype;
  if (typeof dtype !== "string" || !SAFETENSORS_DTYPES.includes(dtype as StorageDType)) {
    fail(`${name}.dtype`, `unsupported dtype ${JSON.stringify(dtype)} (expected one of ${SAFETENSORS_DTYPES.join(", ")})`);
  }
  const shape = v.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`${name}.shape`, `expected an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const dims = shape as number[];
  if (!Number.isSafeInteger(elementCount(dims) * 8)) fail(`${name}.shape`, `[${dims.join(", ")}] is too large`);
  const offsets = v.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    fail(`${name}.data_offsets`, `expected [begin, end] with non-negative integers, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(`${name}.data_offsets`, `begin ${begin} is after end ${end}`);
  if (end > dataSize) fail(`${name}.data_offsets`, `end ${end} is past the end of the data section (${dataSize} bytes; truncated file?)`);
  const expected = storageBytes(dtype as StorageDType, dims);
  if (end - begin !== expected) {
    fail(`${name}.data_offsets`, `shape [${dims.join(", ")}] ${dtype} needs ${expected} bytes, the range holds ${end - begin}`);
  }
  return { name, dtype: dtype as StorageDType, shape: [...dims], offset: dataStart + begin, byteLength: end - begin };
}
