// Bytes to parse, whatever holds them: a file read at offsets (BinaryFile, binary.ts, Node) or
// bytes already in memory (MemoryBytes: a File a browser page read, a test's buffer). The parsers
// (GGUF, …) read through this interface only, so they run wherever the bytes come from.
import { FormatError } from "../util/errors.js";

export interface ByteSource {
  /** Named in error messages (a path, or a file name in a browser). */
  readonly path: string;
  readonly size: number;
  /**
   * `length` bytes at `offset`, in a buffer of their own that any typed array can view (8-byte
   * aligned); a FormatError naming `field` when the range is outside the source.
   */
  read(offset: number, length: number, field: string): Uint8Array;
  /** Throws unless [offset, offset + length) lies inside the source. */
  check(offset: number, length: number, field: string): void;
  close(): void;
}

/** Throws a FormatError naming `field` unless [offset, offset + length) lies inside `size` bytes. */
export function checkRange(path: string, size: number, offset: number, length: number, field: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new FormatError(
      path,
      field,
      `expected ${length} bytes at offset ${offset}, but the file has ${size} bytes (truncated or corrupt)`,
    );
  }
}

/** Bytes in memory as a ByteSource; reads are copies, so views of them never alias each other. */
export class MemoryBytes implements ByteSource {
  readonly size: number;

  constructor(
    private readonly bytes: Uint8Array,
    readonly path: string,
  ) {
    this.size = bytes.length;
  }

  read(offset: number, length: number, field: string): Uint8Array {
    this.check(offset, length, field);
    const out = new Uint8Array(new ArrayBuffer(length));
    out.set(this.bytes.subarray(offset, offset + length));
    return out;
  }

  check(offset: number, length: number, field: string): void {
    checkRange(this.path, this.size, offset, length, field);
  }

  close(): void {}
}

/**
 * Sequential little-endian reader over a ByteSource, buffered in chunks, for headers made of many
 * small fields (GGUF metadata). Every read is bounds-checked against the file size first, so a
 * corrupt length can never make it allocate more than the file holds.
 */
export class SequentialReader {
  private buf: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private bufStart = 0; // file offset of buf[0]
  pos: number;

  constructor(
    readonly file: ByteSource,
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
