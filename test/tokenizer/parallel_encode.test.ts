// Encoding on worker threads gives exactly the ids of encodeAsIds, line for line and in order,
// for any thread count; the corpus builder gives the same token cache with one or two threads.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ParallelEncoder } from "../../src/tokenizer/parallel_encode.js";
import { SentencePieceProcessor } from "../../src/tokenizer/processor.js";
import { loadTokenCorpus } from "../../src/train/corpus.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { modelPath } from "./vector_cases.js";

const skip = skipUnlessShared("testdata", "corpus", "heldout.txt") || skipUnlessShared("testdata", "tokenizer", "unigram8k_nfkc.model");

test("ParallelEncoder: the ids of encodeAsIds, in order, with 2 and 3 threads (BPE and Unigram)", { skip }, () => {
  const lines = readFileSync(sharedPath("testdata", "corpus", "heldout.txt"), "utf8")
    .split("\n")
    .slice(0, 3000);
  lines.push("", " ", "😀\u0000x");
  for (const model of ["llama2", "unigram8k_nfkc"]) {
    const sp = SentencePieceProcessor.load(modelPath(model));
    const expected = lines.map((l) => sp.encodeAsIds(l));
    for (const threads of [2, 3]) {
      const enc = new ParallelEncoder(sp, threads);
      try {
        const { ids, lengths } = enc.encodeLines(lines);
        assert.equal(lengths.length, lines.length);
        let at = 0;
        lines.forEach((_, i) => {
          assert.deepEqual(Array.from(ids.subarray(at, at + lengths[i]!)), expected[i], `${model}, ${threads} threads, line ${i}`);
          at += lengths[i]!;
        });
        assert.equal(at, ids.length);
        assert.deepEqual(enc.encodeLines([]).lengths.length, 0);
      } finally {
        enc.close();
      }
    }
  }
});

test("loadTokenCorpus: the same ids with 1 and 2 threads", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-par-"));
  try {
    // Twice the held-out text: above the size where worker threads are used.
    const text = readFileSync(sharedPath("testdata", "corpus", "heldout.txt"), "utf8");
    const file = join(dir, "corpus.txt");
    writeFileSync(file, text + text);
    const sp = SentencePieceProcessor.load(modelPath("llama2"));
    const one = loadTokenCorpus([file], sp, join(dir, "one"), "c", { threads: 1 });
    const two = loadTokenCorpus([file], sp, join(dir, "two"), "c", { threads: 2 });
    assert.ok(one.built && two.built);
    assert.equal(two.ids.length, one.ids.length);
    assert.ok(
      Buffer.from(one.ids.buffer, one.ids.byteOffset, one.ids.byteLength).equals(
        Buffer.from(two.ids.buffer, two.ids.byteOffset, two.ids.byteLength),
      ),
      "identical ids",
    );
    assert.deepEqual(readFileSync(two.cachePath), readFileSync(one.cachePath));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
