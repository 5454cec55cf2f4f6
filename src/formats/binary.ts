// Reading binary files through a file descriptor, at offsets, never the whole file at once:
// checkpoints can be larger than the 2 GiB that readFileSync accepts, and tensors are read one
// by one so memory holds only what the caller keeps.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { FormatError } from "../util/errors.js";

const CHUNK = 1 << 30; // one read(2) is capped near 2 GiB; stay well below

export class BinaryFile {
  readonly fd: number;
  readonly size: number;

  constructor(readonly path: string) {
    this.fd = openSync(path, "r");
    try {
      this.size = fstatSync(this.fd).size;
    } catch (err) {
      closeSync(this.fd);
      throw err;
    }
  }

  /**
   * Reads `length` bytes at `offset` into a fresh, 8-byte-aligned buffer (so any typed array can
   * view it). Throws a FormatError naming `field` if the range is outside the file.
   */
  read(offset: number, length: number, field: string): Uint8Array {
    this.check(offset, length, field);
    const out = new Uint8Array(new ArrayBuffer(length));
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, out, done, Math.min(length - done, CHUNK), offset + done);
      if (n === 0) throw new FormatError(this.path, field, `file ended while reading ${length} bytes at offset ${offset}`);
      done += n;
    }
    return out;
  }

  /** Throws unless [offset, offset + length) lies inside the file. */
  check(offset: number, length: number, field: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new FormatError(
        this.path,
        field,
        `expected ${length} bytes at offset ${offset}, but the file has ${this.size} bytes (truncated or corrupt)`,
      );
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Opens `path`, runs `fn`, and always closes the file. */
export function withBinaryFile<T>(path: string, fn: (f: BinaryFile) => T): T {
  const f = new BinaryFile(path);
  try {
    return fn(f);
  } finally {
    f.close();
  }
}

/**
 * Sequential little-endian reader over a BinaryFile, buffered in chunks, for headers made of many
 * small fields (GGUF metadata). Every read is bounds-checked against the file size first, so a
 * corrupt length can never make it allocate more than the file holds.
 */
export class SequentialReader {
  private buf: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private bufStart = 0; // file offset of buf[0]
  pos: number;

  constructor(
    readonly file: BinaryFile,
    start = 0,
  ) {
    this.pos = start;
  }

  /** Makes sure bytes [pos, pos + n) are buffered; returns their index in buf. */
  private ensure(n: number, field: string): number {
    this.file.check(this.pos, n, field);
    const at = this.pos - this.bufStart;
    if (at >= 0 && at + n <= this.buf.length) return at;
    const len = Math.min(Math.max(n, 1 << 20), this.file.size - this.pos);
    this.buf = this.file.read(this.pos, len, field);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.bufStart = this.pos;
    return 0;
  }

  u8(field: string): number {
    const i = this.ensure(1, field);
    this.pos += 1;
    return this.view.getUint8(i);
  }
  i8(field: string): number {
    const i = this.ensure(1, field);
    this.pos += 1;
    return this.view.getInt8(i);
  }
  u16(field: string): number {
    const i = this.ensure(2, field);
    this.pos += 2;
    return this.view.getUint16(i, true);
  }
  i16(field: string): number {
    const i = this.ensure(2, field);
    this.pos += 2;
    return this.view.getInt16(i, true);
  }
  u32(field: string): number {
    const i = this.ensure(4, field);
    this.pos += 4;
    return this.view.getUint32(i, true);
  }
  i32(field: string): number {
    const i = this.ensure(4, field);
    this.pos += 4;
    return this.view.getInt32(i, true);
  }
  f32(field: string): number {
    const i = this.ensure(4, field);
    this.pos += 4;
    return this.view.getFloat32(i, true);
  }
  f64(field: string): number {
    const i = this.ensure(8, field);
    this.pos += 8;
    return this.view.getFloat64(i, true);
  }
  u64(field: string): bigint {
    const i = this.ensure(8, field);
    this.pos += 8;
    return this.view.getBigUint64(i, true);
  }
  i64(field: string): bigint {
    const i = this.ensure(8, field);
    this.pos += 8;
    return this.view.getBigInt64(i, true);
  }

  /** A u64 that must fit a JS number and be at most `max` (counts, lengths). */
  u64Bounded(field: string, max: number): number {
    const v = this.u64(field);
    if (v > BigInt(max)) throw new FormatError(this.file.path, field, `value ${v} is larger than possible (at most ${max} for this file)`);
    return Number(v);
  }

  bytes(n: number, field: string): Uint8Array {
    const i = this.ensure(n, field);
    this.pos += n;
    return this.buf.subarray(i, i + n);
  }

  /** UTF-8 text of `n` bytes; invalid UTF-8 is an error, not replacement characters. */
  utf8(n: number, field: string): string {
    const b = this.bytes(n, field);
    try {
      return utf8Decoder.decode(b);
    } catch {
      throw new FormatError(this.file.path, field, "expected valid UTF-8 text");
    }
  }
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
