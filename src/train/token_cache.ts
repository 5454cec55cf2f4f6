// The token cache: a tokenized corpus stored as one binary file, so the text is tokenized
// once and later runs read the ids straight back.
//
//   offset  size  field
//   0       8     magic "TSGPTTOK"
//   8       4     version (u32 little-endian) = 1
//   12      4     dtype: 2 = uint16 ids, 4 = uint32 ids (bytes per id)
//   16      8     count: number of ids (u64)
//   24      32    sha256 of the tokenizer .model bytes
//   56      32    sha256 of the source text (text_source.ts hashFiles)
//   88      8     reserved, zero (keeps the ids 8-byte aligned)
//   96      ...   the ids, little-endian, back to back
//
// The writer streams ids in while the text is tokenized line by line (memory stays at one
// chunk), writes the header last, and renames the finished file into place. The reader
// validates every field against the file size and the expected checksums before it trusts
// the ids, then reads them into one typed array (2 or 4 bytes per token, nothing more).
import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { writeFileAtomic, writeAll } from "../util/atomic_write.js";
import { FormatError } from "../util/errors.js";

export const TOKEN_CACHE_MAGIC = "TSGPTTOK";
export const TOKEN_CACHE_VERSION = 1;
export const TOKEN_CACHE_HEADER_BYTES = 96;

export type TokenIds = Uint16Array | Uint32Array;

export interface TokenCacheHeader {
  version: number;
  /** Bytes per id: 2 (uint16) or 4 (uint32). */
  bytesPerId: 2 | 4;
  count: number;
  tokenizerSha256: string;
  sourceSha256: string;
}

/** Smallest id width that holds every id of a vocabulary of `vocabSize` pieces. */
export function bytesPerIdFor(vocabSize: number): 2 | 4 {
  return vocabSize <= 65536 ? 2 : 4;
}

/** Appends ids to an open file through a fixed-size buffer. */
class IdWriter {
  private readonly buf: Uint16Array | Uint32Array;
  private used = 0;
  count = 0;

  constructor(
    private readonly fd: number,
    readonly bytesPerId: 2 | 4,
    private readonly vocabSize: number,
  ) {
    this.buf = bytesPerId === 2 ? new Uint16Array(1 << 16) : new Uint32Array(1 << 16);
  }

  push(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new RangeError(`token cache: id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
    }
    this.buf[this.used++] = id;
    this.count++;
    if (this.used === this.buf.length) this.flush();
  }

  flush(): void {
    if (this.used === 0) return;
    const bytes = new Uint8Array(this.buf.buffer, 0, this.used * this.bytesPerId);
    writeAll(this.fd, bytes);
    this.used = 0;
  }
}

export interface WriteTokenCacheOptions {
  vocabSize: number;
  tokenizerSha256: string;
  /** Computed while producing the ids, so it is returned by `produce`. */
  produce: (push: (id: number) => void) => { sourceSha256: string };
}

/** Writes a token cache atomically; `produce` pushes the ids one at a time. Returns the header. */
export function writeTokenCache(path: string, options: WriteTokenCacheOptions): TokenCacheHeader {
  const bytesPerId = bytesPerIdFor(options.vocabSize);
  let header: TokenCacheHeader | null = null;
  writeFileAtomic(path, (fd) => {
    writeAll(fd, new Uint8Array(TOKEN_CACHE_HEADER_BYTES)); // placeholder, rewritten below
    const writer = new IdWriter(fd, bytesPerId, options.vocabSize);
    const { sourceSha256 } = options.produce((id) => writer.push(id));
    writer.flush();
    header = {
      version: TOKEN_CACHE_VERSION,
      bytesPerId,
      count: writer.count,
      tokenizerSha256: options.tokenizerSha256,
      sourceSha256,
    };
    writeSync(fd, encodeHeader(header), 0, TOKEN_CACHE_HEADER_BYTES, 0);
  });
  return header!;
}

function encodeHeader(h: TokenCacheHeader): Uint8Array {
  const out = new Uint8Array(TOKEN_CACHE_HEADER_BYTES);
  const view = new DataView(out.buffer);
  out.set(Buffer.from(TOKEN_CACHE_MAGIC, "latin1"), 0);
  view.setUint32(8, h.version, true);
  view.setUint32(12, h.bytesPerId, true);
  view.setBigUint64(16, BigInt(h.count), true);
  out.set(hexBytes(h.tokenizerSha256, "tokenizerSha256"), 24);
  out.set(hexBytes(h.sourceSha256, "sourceSha256"), 56);
  return out;
}

function hexBytes(hex: string, what: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new TypeError(`token cache: ${what} must be 64 lowercase hex digits`);
  return Buffer.from(hex, "hex");
}

/** Reads and validates the header of a token cache file (throws FormatError naming the field). */
export function readTokenCacheHeader(path: string): TokenCacheHeader {
  const fd = openSync(path, "r");
  try {
    return parseHeader(path, fd);
  } finally {
    closeSync(fd);
  }
}

function parseHeader(path: string, fd: number): TokenCacheHeader {
  const size = fstatSync(fd).size;
  if (size < TOKEN_CACHE_HEADER_BYTES) {
    throw new FormatError(path, "header", `expected at least ${TOKEN_CACHE_HEADER_BYTES} bytes, the file has ${size}`);
  }
  const buf = new Uint8Array(TOKEN_CACHE_HEADER_BYTES);
  readSync(fd, buf, 0, buf.length, 0);
  const view = new DataView(buf.buffer);
  const magic = Buffer.from(buf.subarray(0, 8)).toString("latin1");
  if (magic !== TOKEN_CACHE_MAGIC)
    throw new FormatError(path, "magic", `expected "${TOKEN_CACHE_MAGIC}", got ${JSON.stringify(magic)} (not a tsgpt token cache)`);
  const version = view.getUint32(8, true);
  if (version !== TOKEN_CACHE_VERSION) throw new FormatError(path, "version", `expected ${TOKEN_CACHE_VERSION}, got ${version}`);
  const bytesPerId = view.getUint32(12, true);
  if (bytesPerId !== 2 && bytesPerId !== 4)
    throw new FormatError(path, "dtype", `expected 2 (uint16) or 4 (uint32) bytes per id, got ${bytesPerId}`);
  const count = view.getBigUint64(16, true);
  const expected = BigInt(TOKEN_CACHE_HEADER_BYTES) + count * BigInt(bytesPerId);
  if (expected !== BigInt(size)) {
    throw new FormatError(
      path,
      "count",
      `${count} ids of ${bytesPerId} bytes need a file of ${expected} bytes, the file has ${size} (truncated or corrupt)`,
    );
  }
  return {
    version,
    bytesPerId,
    count: Number(count),
    tokenizerSha256: Buffer.from(buf.subarray(24, 56)).toString("hex"),
    sourceSha256: Buffer.from(buf.subarray(56, 88)).toString("hex"),
  };
}

export interface ReadTokenCacheOptions {
  /** When given, the cache must have been made with this tokenizer. */
  tokenizerSha256?: string;
  /** When given, the cache must have been made from this text. */
  sourceSha256?: string;
  /** When given, every id must be below it. */
  vocabSize?: number;
}

/** Reads a token cache into one typed array, after validating the header and the checksums. */
export function readTokenCache(path: string, options: ReadTokenCacheOptions = {}): { header: TokenCacheHeader; ids: TokenIds } {
  const fd = openSync(path, "r");
  try {
    const header = parseHeader(path, fd);
    if (options.tokenizerSha256 !== undefined && header.tokenizerSha256 !== options.tokenizerSha256) {
      throw new FormatError(path, "tokenizer checksum", "the cache was made with a different tokenizer");
    }
    if (options.sourceSha256 !== undefined && header.sourceSha256 !== options.sourceSha256) {
      throw new FormatError(path, "source checksum", "the cache was made from different text");
    }
    const ids = header.bytesPerId === 2 ? new Uint16Array(header.count) : new Uint32Array(header.count);
    const bytes = new Uint8Array(ids.buffer);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30), TOKEN_CACHE_HEADER_BYTES + done);
      if (n === 0) throw new FormatError(path, "ids", "the file ended early");
      done += n;
    }
    if (options.vocabSize !== undefined) {
      for (let i = 0; i < ids.length; i++) {
        if (ids[i]! >= options.vocabSize)
          throw new FormatError(path, `ids[${i}]`, `id ${ids[i]} is outside the vocabulary [0, ${options.vocabSize})`);
      }
    }
    return { header, ids };
  } finally {
    closeSync(fd);
  }
}
