import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FormatError } from "../../src/util/errors.js";
import {
  TOKEN_CACHE_HEADER_BYTES,
  loadTokenCorpus,
  readTokenCache,
  splitCorpus,
  tokenizeFiles,
  writeTokenCache,
} from "../../src/train/index.js";
import { TEXT, charTokenizer, tempDir } from "./helpers.js";

const SHA_A = "a".repeat(64);
const SHA_B = "b".repeat(64);

describe("token cache", () => {
  test("round trip with uint16 and uint32 ids; the file is header + ids, nothing else", () => {
    const { dir, cleanup } = tempDir();
    try {
      for (const vocabSize of [300, 100_000]) {
        const path = join(dir, `c${vocabSize}.tokens`);
        const ids = Array.from({ length: 70_000 }, (_, i) => (i * 7919) % vocabSize);
        writeTokenCache(path, {
          vocabSize,
          tokenizerSha256: SHA_A,
          produce: (push) => {
            ids.forEach(push);
            return { sourceSha256: SHA_B };
          },
        });
        const width = vocabSize <= 65536 ? 2 : 4;
        assert.equal(statSync(path).size, TOKEN_CACHE_HEADER_BYTES + ids.length * width);
        const r = readTokenCache(path, { tokenizerSha256: SHA_A, sourceSha256: SHA_B, vocabSize });
        assert.ok(width === 2 ? r.ids instanceof Uint16Array : r.ids instanceof Uint32Array);
        assert.deepEqual(Array.from(r.ids), ids);
      }
    } finally {
      cleanup();
    }
  });

  test("damaged or mismatched caches are rejected with the field named", () => {
    const { dir, cleanup } = tempDir();
    try {
      const path = join(dir, "c.tokens");
      writeTokenCache(path, {
        vocabSize: 10,
        tokenizerSha256: SHA_A,
        produce: (push) => {
          [1, 2, 3].forEach(push);
          return { sourceSha256: SHA_B };
        },
      });
      const good = readFileSync(path);
      const expectError = (bytes: Uint8Array, field: RegExp, opts = {}) => {
        writeFileSync(path, bytes);
        assert.throws(
          () => readTokenCache(path, opts),
          (e: unknown) => e instanceof FormatError && e.message.startsWith(path) && field.test(e.field),
        );
      };
      const badMagic = Buffer.from(good);
      badMagic[0] = 0x58;
      expectError(badMagic, /magic/);
      const badVersion = Buffer.from(good);
      badVersion[8] = 9;
      expectError(badVersion, /version/);
      const badDtype = Buffer.from(good);
      badDtype[12] = 3;
      expectError(badDtype, /dtype/);
      expectError(good.subarray(0, good.length - 1), /count/);
      expectError(good.subarray(0, 20), /header/);
      expectError(good, /tokenizer checksum/, { tokenizerSha256: SHA_B });
      expectError(good, /source checksum/, { sourceSha256: SHA_A });
      expectError(good, /ids\[/, { vocabSize: 3 });
    } finally {
      cleanup();
    }
  });

  test("a corpus is tokenized once, reused, and rebuilt when the text changes", () => {
    const { dir, cleanup } = tempDir();
    try {
      const { sp } = charTokenizer(dir);
      const data = join(dir, "data.txt");
      writeFileSync(data, TEXT);
      const first = loadTokenCorpus([data], sp, join(dir, "cache"));
      assert.equal(first.built, true);
      // Line by line with "\n" pieces between lines equals encoding the whole text at once.
      assert.deepEqual(Array.from(first.ids), sp.encodeAsIds(TEXT.replace(/\n$/, "")));
      assert.deepEqual(Array.from(tokenizeFiles([data], sp)), Array.from(first.ids));
      const again = loadTokenCorpus([data], sp, join(dir, "cache"));
      assert.equal(again.built, false);
      assert.deepEqual(Array.from(again.ids), Array.from(first.ids));
      writeFileSync(data, TEXT + "All:\n");
      const changed = loadTokenCorpus([data], sp, join(dir, "cache"));
      assert.equal(changed.built, true);
      assert.equal(changed.ids.length, first.ids.length + 5);
      const { train, val } = splitCorpus(changed.ids, 0.1);
      assert.equal(train.length + val.length, changed.ids.length);
      assert.equal(train.buffer, changed.ids.buffer, "the split shares the corpus array");
    } finally {
      cleanup();
    }
  });
});
