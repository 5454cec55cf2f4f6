// Atomic file writes: write a temporary file beside the target, fsync it, then rename it over
// the target. A crash or an error leaves either the old file or the new one, never half of one.
import { closeSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";

/** Writes all of `bytes` at the current position of `fd` (writeSync may write less than asked). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) {
    // Large writes go in chunks: a single write(2) is capped near 2 GiB.
    const n = writeSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30));
    done += n;
  }
}

/** Creates `path` atomically; `write` receives a file descriptor open for writing. */
export function writeFileAtomic(path: string, write: (fd: number) => void): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  const fd = openSync(tmp, "wx");
  let ok = false;
  try {
    write(fd);
    fsyncSync(fd);
    ok = true;
  } finally {
    closeSync(fd);
    if (!ok) {
      try { unlinkSync(tmp); } catch { /* already gone */ }
    }
  }
  renameSync(tmp, path);
  syncDirectory(dirname(path));
}

/** Makes the rename durable too (best effort: not every platform can fsync a directory). */
function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch { /* e.g. Windows */ }
}

/** Convenience: atomically writes a whole byte array or string. */
export function writeBytesAtomic(path: string, data: Uint8Array | string): void {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  writeFileAtomic(path, (fd) => writeAll(fd, bytes));
}

/** Atomically copies `src` to `dest`, in chunks (any size). */
export function copyFileAtomic(src: string, dest: string): void {
  const input = openSync(src, "r");
  try {
    writeFileAtomic(dest, (fd) => {
      const buf = new Uint8Array(1 << 20);
      for (;;) {
        const n = readSync(input, buf, 0, buf.length, null);
        if (n === 0) break;
        writeAll(fd, buf.subarray(0, n));
      }
    });
  } finally {
    closeSync(input);
  }
}
