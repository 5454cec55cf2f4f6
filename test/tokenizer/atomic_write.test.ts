import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../../src/util/atomic_write.js";

test("writeFileAtomic replaces a file and leaves no temporary file", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-atomic-"));
  try {
    const path = join(dir, "a.bin");
    writeFileSync(path, "old");
    writeFileAtomic(path, "new");
    assert.equal(readFileSync(path, "utf8"), "new");
    assert.deepEqual(readdirSync(dir), ["a.bin"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("writeFileAtomic creates missing parent folders", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-atomic-"));
  try {
    const path = join(dir, "out", "nested", "model.gguf");
    writeFileAtomic(path, Uint8Array.of(1, 2, 3));
    assert.deepEqual([...readFileSync(path)], [1, 2, 3]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a failing writer keeps the old file and removes its temporary file", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-atomic-"));
  try {
    const path = join(dir, "a.bin");
    writeFileSync(path, "old");
    assert.throws(
      () =>
        writeFileAtomic(path, () => {
          throw new Error("disk full");
        }),
      /disk full/,
    );
    assert.equal(readFileSync(path, "utf8"), "old");
    assert.deepEqual(readdirSync(dir), ["a.bin"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a parent path that is a file gives an error that names the target", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-atomic-"));
  try {
    writeFileSync(join(dir, "x"), "a file, not a folder");
    assert.throws(() => writeFileAtomic(join(dir, "x", "a.bin"), "x"), /cannot write '.*a\.bin'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
