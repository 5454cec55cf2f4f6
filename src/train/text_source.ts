// Training text on disk: one file, or every regular file of a directory (sorted by name).
//
// Files are read in 1 MiB chunks and split into lines, never whole, so a corpus of any size
// streams through in constant memory. While reading, every file is checked: empty, binary
// (a NUL byte) or not UTF-8 is an error naming the file and the byte offset; and its bytes
// are hashed so a token cache can tell whether the text changed since it was built.
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { createHash, type Hash } from "node:crypto";
import { join } from "node:path";

/** Thrown for unusable training data: names the file and what is wrong with it. */
export class DataError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = "DataError";
  }
}

const CHUNK = 1 << 20;

/** The files a --data argument stands for: the file itself, or a directory's visible regular files, sorted. */
export function listDataFiles(path: string): string[] {
  if (!existsSync(path)) throw new DataError(path, "no such file or directory");
  const st = statSync(path);
  if (st.isFile()) return [path];
  if (!st.isDirectory()) throw new DataError(path, "not a regular file or a directory");
  const files = readdirSync(path)
    .filter((n) => !n.startsWith("."))
    .sort()
    .map((n) => join(path, n))
    .filter((p) => statSync(p).isFile());
  if (files.length === 0) throw new DataError(path, "the directory holds no files to train on");
  return files;
}

/**
 * Calls `onLine` for every line of the files, in order (without the line break; "\r\n" counts
 * as a break). Returns the sha256 of the files' bytes (each prefixed by its size, so moving
 * bytes between files changes the hash). Throws DataError on an empty, binary or non-UTF-8 file.
 */
export function forEachLine(files: readonly string[], onLine: (line: string, file: string) => void): string {
  const hash = createHash("sha256");
  for (const file of files) readLines(file, hash, onLine);
  return hash.digest("hex");
}

/** sha256 of the files as forEachLine computes it, without decoding (to check a cache is current). */
export function hashFiles(files: readonly string[]): string {
  const hash = createHash("sha256");
  for (const file of files) {
    hash.update(`${statSync(file).size}\n`);
    withChunks(file, (chunk) => {
      hash.update(chunk);
    });
  }
  return hash.digest("hex");
}

function readLines(file: string, hash: Hash, onLine: (line: string, file: string) => void): void {
  const size = statSync(file).size;
  if (size === 0) throw new DataError(file, "the file is empty");
  hash.update(`${size}\n`);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let carry = "";
  let offset = 0;
  const emit = (text: string, final: boolean): void => {
    const parts = (carry + text).split("\n");
    carry = final ? "" : parts.pop()!;
    for (const p of parts) onLine(p.endsWith("\r") ? p.slice(0, -1) : p, file);
  };
  withChunks(file, (chunk) => {
    hash.update(chunk);
    const nul = chunk.indexOf(0);
    if (nul >= 0) throw new DataError(file, `binary data (a NUL byte at offset ${offset + nul}); expected UTF-8 text`);
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      throw new DataError(file, `not valid UTF-8 (in the bytes ${offset}..${offset + chunk.length}); expected UTF-8 text`);
    }
    offset += chunk.length;
    emit(text, false);
  });
  let tail: string;
  try {
    tail = decoder.decode();
  } catch {
    throw new DataError(file, "not valid UTF-8 (the file ends inside a character); expected UTF-8 text");
  }
  if (carry + tail !== "") emit(tail, true);
}

function withChunks(file: string, onChunk: (chunk: Uint8Array) => void): void {
  const fd = openSync(file, "r");
  try {
    const buf = new Uint8Array(CHUNK);
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      onChunk(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}
