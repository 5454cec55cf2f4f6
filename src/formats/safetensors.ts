// safetensors files, the Hugging Face weight format (the layout and the parsing are
// safetensors_reader.ts's, which a browser can use too): opening one, and writing one.
//
// The reader validates the whole header before it reads any tensor, then reads tensors one at a
// time at their offsets (files over 2 GiB work; memory holds only what the caller keeps).
// The writer streams tensors one at a time into a temporary file and renames it at the end.
import type { StorageDType, StoredTensor } from "./types.js";
import { BinaryFile } from "./binary.js";
import { bytesOf, checkTensor, storageBytes } from "./dtypes.js";
import { writeAll, writeFileAtomic } from "../util/atomic_write.js";
import { SAFETENSORS_DTYPES, SafetensorsSourceReader, parseSafetensorsHeader } from "./safetensors_reader.js";

export { SAFETENSORS_DTYPES, SafetensorsSourceReader, type SafetensorsEntry } from "./safetensors_reader.js";

/** An open safetensors file: header validated, tensors read on demand. Call close() when done. */
export class SafetensorsReader extends SafetensorsSourceReader {
  static open(path: string): SafetensorsReader {
    const file = new BinaryFile(path);
    try {
      const { entries, metadata } = parseSafetensorsHeader(file);
      return new SafetensorsReader(file, entries, metadata);
    } catch (err) {
      file.close();
      throw err;
    }
  }
}

/** Reads every tensor (or those `filter` accepts) of a safetensors file. */
export function readSafetensors(
  path: string,
  filter?: (name: string) => boolean,
): { tensors: Map<string, StoredTensor>; metadata: Record<string, string> } {
  const r = SafetensorsReader.open(path);
  try {
    const tensors = new Map<string, StoredTensor>();
    for (const e of r.entries) if (!filter || filter(e.name)) tensors.set(e.name, r.read(e.name));
    return { tensors, metadata: r.metadata };
  } finally {
    r.close();
  }
}

/**
 * A tensor to write whose data is produced only when the writer reaches it (for example a dtype
 * conversion), so a whole converted model never has to sit in memory at once.
 */
export interface LazyTensor {
  dtype: StorageDType;
  shape: number[];
  load: () => StoredTensor["data"];
}

export type TensorSource = StoredTensor | LazyTensor;

/** Writes a safetensors file atomically, tensors in the given order, one at a time. */
export function writeSafetensors(path: string, tensors: Iterable<[string, TensorSource]>, metadata: Record<string, string> = {}): void {
  const list = [...tensors];
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new TypeError(`safetensors metadata ${k}: expected a string value`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of list) {
    if (name === "__metadata__") throw new Error(`tensor name "__metadata__" is reserved in safetensors`);
    if (name in header) throw new Error(`tensor ${name} appears twice`);
    if (!SAFETENSORS_DTYPES.includes(t.dtype)) throw new Error(`tensor ${name}: safetensors cannot store ${t.dtype}`);
    const size = storageBytes(t.dtype, t.shape);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  // Pad the JSON with spaces so the data section starts 8-byte aligned (as the reference writer does).
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const jsonBytes = Buffer.from(json, "utf8");
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);

  writeFileAtomic(path, (fd) => {
    writeAll(fd, prefix);
    writeAll(fd, jsonBytes);
    for (const [name, t] of list) {
      const data = "load" in t ? t.load() : t.data;
      checkTensor(name, { dtype: t.dtype, shape: t.shape, data });
      writeAll(fd, bytesOf(data));
    }
  });
}
