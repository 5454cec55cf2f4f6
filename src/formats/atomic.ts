// Atomic file writes for checkpoint files. The mechanism (temporary file, fsync, rename, fsync
// of the directory) lives in the tokenizer layer, which writes .model files the same way; this
// file adds what checkpoint writers need on top of it.
import { closeSync, openSync, readSync } from "node:fs";
import { writeAll, writeFileAtomic } from "../tokenizer/atomic_write.js";

export { writeAll, writeFileAtomic };

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
