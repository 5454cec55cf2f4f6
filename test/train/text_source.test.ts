import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DataError, forEachLine, hashFiles, listDataFiles } from "../../src/train/index.js";
import { tempDir } from "./helpers.js";

describe("text_source", () => {
  test("lines are split on \\n and \\r\\n, and the hash matches hashFiles", () => {
    const { dir, cleanup } = tempDir();
    try {
      const f = join(dir, "a.txt");
      writeFileSync(f, "one\r\ntwo\n\nthree é 한국어");
      const lines: string[] = [];
      const sha = forEachLine([f], (l) => lines.push(l));
      assert.deepEqual(lines, ["one", "two", "", "three é 한국어"]);
      assert.equal(sha, hashFiles([f]));
      writeFileSync(f, "one\r\ntwo\n\nthree é 한국어!");
      assert.notEqual(sha, hashFiles([f]));
    } finally {
      cleanup();
    }
  });

  test("a character split across read chunks decodes correctly", () => {
    const { dir, cleanup } = tempDir();
    try {
      const f = join(dir, "big.txt");
      // 1 MiB - 1 ASCII bytes, then a 3-byte character straddling the chunk boundary.
      writeFileSync(f, "a".repeat((1 << 20) - 1) + "한\nb");
      const lines: string[] = [];
      forEachLine([f], (l) => lines.push(l));
      assert.equal(lines.length, 2);
      assert.equal(lines[0]!.slice(-2), "a한");
      assert.equal(lines[1], "b");
    } finally {
      cleanup();
    }
  });

  test("empty, binary and non-UTF-8 files are errors naming the file", () => {
    const { dir, cleanup } = tempDir();
    try {
      const cases: Array<[string, Uint8Array | string, RegExp]> = [
        ["empty.txt", "", /empty/],
        ["binary.bin", new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 1, 2]), /binary|UTF-8/],
        ["latin1.txt", new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a]), /not valid UTF-8/],
      ];
      for (const [name, content, re] of cases) {
        const f = join(dir, name);
        writeFileSync(f, content);
        assert.throws(
          () => forEachLine([f], () => {}),
          (e: unknown) => e instanceof DataError && e.message.includes(f) && re.test(e.message),
        );
      }
    } finally {
      cleanup();
    }
  });

  test("a directory lists its visible files in order; a missing path is an error", () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(join(dir, "b.txt"), "b");
      writeFileSync(join(dir, "a.txt"), "a");
      writeFileSync(join(dir, ".hidden"), "h");
      assert.deepEqual(listDataFiles(dir), [join(dir, "a.txt"), join(dir, "b.txt")]);
      assert.throws(() => listDataFiles(join(dir, "nope")), /no such file/);
    } finally {
      cleanup();
    }
  });
});
