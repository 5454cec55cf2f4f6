// The one home of atomic writes: tokenizer files, checkpoints, caches and logs all go through here.
//
// Atomic file writes: write a temporary file beside the target, fsync it, rename it over the
// target, then fsync the directory so the rename itself survives a crash. A crash or an error
// leaves either the old file or the new one, never half of one (and no temporary file behind).
//
// The content is bytes, a string (UTF-8), or a function that writes through a file
// descriptor — for files too large to hold in memory at once (checkpoints over 2 GiB).
import { closeSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";

/** Writes all of `bytes` at the current position of `fd` (writeSync may write less than asked). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) {
    // Large writes go in chunks: a single write(2) is capped near 2 GiB.
    done += writeSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30));
  }
}

/** Creates or replaces `path` atomically with `content`; missing parent folders are created. */
export function writeFileAtomic(path: string, content: Uint8Array | string | ((fd: number) => void)): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  let fd: number;
  try {
    mkdirSync(dirname(path), { recursive: true }); // `--out out/model.gguf` works without a prior mkdir
    fd = openSync(tmp, "wx");
  } catch (err) {
    throw new Error(`cannot write '${path}': ${(err as Error).message}`);
  }
  let renamed = false;
  try {
    if (typeof content === "function") content(fd);
    else writeAll(fd, typeof content === "string" ? Buffer.from(content, "utf8") : content);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
    renamed = true;
  } finally {
    if (fd >= 0) closeSync(fd);
    if (!renamed) {
      try {
        unlinkSync(tmp);
      } catch {
        /* already gone */
      }
    }
  }
  syncDirectory(dirname(path));
}

/** Makes a rename in `dir` durable (best effort: not every platform can fsync a directory). */
export function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* e.g. Windows */
  }
}

/** Atomically writes a whole byte array or string (UTF-8). */
export function writeBytesAtomic(path: string, data: Uint8Array | string): void {
  writeFileAtomic(path, data);
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
