// Reading binary files through a file descriptor, at offsets, never the whole file at once:
// checkpoints can be larger than the 2 GiB that readFileSync accepts, and tensors are read one
// by one so memory holds only what the caller keeps.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { FormatError } from "../util/errors.js";
import { type ByteSource, checkRange } from "./byte_source.js";

export { SequentialReader } from "./byte_source.js";

const CHUNK = 1 << 30; // one read(2) is capped near 2 GiB; stay well below

/** A file read at offsets through its descriptor (the Node side of ByteSource). */
export class BinaryFile implements ByteSource {
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
    checkRange(this.path, this.size, offset, length, field);
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
