// Encoding on worker threads gives exactly the ids of encodeAsIds, line for line and in order,
// for any thread count, warm or cold, and when a worker fails or dies; the corpus builder gives
// the same token cache with one or two threads.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ParallelEncoder } from "../../src/tokenizer/parallel_encode.js";
import { SentencePieceProcessor } from "../../src/tokenizer/processor.js";
import { loadTokenCorpus } from "../../src/train/corpus.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { modelPath } from "./vector_cases.js";

const skip = skipUnlessShared("testdata", "corpus", "heldout.txt") || skipUnlessShared("testdata", "tokenizer", "unigram8k_nfkc.model");

/** Asserts that `got` holds, line by line, the ids of encodeAsIds. */
function assertSameIds(got: { ids: Int32Array; lengths: Int32Array }, expected: number[][], what: string): void {
  assert.equal(got.lengths.length, expected.length, `${what}: line count`);
  let at = 0;
  expected.forEach((ids, i) => {
    assert.deepEqual(Array.from(got.ids.subarray(at, at + got.lengths[i]!)), ids, `${what}, line ${i}`);
    at += got.lengths[i]!;
  });
  assert.equal(at, got.ids.length, `${what}: no ids left over`);
}

function heldoutLines(count: number): string[] {
  return readFileSync(sharedPath("testdata", "corpus", "heldout.txt"), "utf8")
    .split("\n")
    .slice(0, count);
}

test("ParallelEncoder: the ids of encodeAsIds, in order, with 1, 2 and 3 threads (BPE and Unigram)", { skip }, () => {
  const lines = heldoutLines(3000);
  // Empty lines, a NUL, emoji, a lone surrogate, and an empty last line.
  lines.splice(1000, 0, "", " ", "😀\u0000x", "a\ud800b", "");
  lines.push("");
  for (const model of ["llama2", "unigram8k_nfkc"]) {
    const sp = SentencePieceProcessor.load(modelPath(model));
    const expected = lines.map((l) => sp.encodeAsIds(l));
    for (const threads of [1, 2, 3]) {
      const enc = new ParallelEncoder(sp, threads);
      try {
        assertSameIds(enc.encodeLines(lines), expected, `${model}, ${threads} threads`);
        // Again with the workers warm, then small and odd batches.
        assertSameIds(enc.encodeLines(lines), expected, `${model}, ${threads} threads, second batch`);
        assert.equal(enc.encodeLines([]).lengths.length, 0);
        assertSameIds(enc.encodeLines([""]), [sp.encodeAsIds("")], "one empty line");
        // A line with a newline of its own (the batch cannot be joined by newlines).
        const odd = ["a\nb", "c", ""];
        assertSameIds(
          enc.encodeLines(odd),
          odd.map((l) => sp.encodeAsIds(l)),
          "a line with a newline",
        );
      } finally {
        enc.close();
      }
    }
  }
});

test("ParallelEncoder: the per-thread figures add up to the batch", { skip }, () => {
  const lines = heldoutLines(20000);
  const sp = SentencePieceProcessor.load(modelPath("llama2"));
  const enc = new ParallelEncoder(sp, 2);
  enc.encodeLines(lines.slice(0, 200)); // the worker has the model now
  enc.encodeLines(lines);
  const stats = enc.lastStats!;
  assert.equal(stats.threads.length, 2);
  assert.equal(
    stats.threads.reduce((n, t) => n + t.bytes, 0),
    stats.bytes,
    "each chunk counted once",
  );
  assert.equal(stats.bytes, Buffer.byteLength(lines.join("\n")));
  enc.close();
});

test("ParallelEncoder: a worker that fails gives an error naming it; one that dies is done without, never a hang", { skip }, () => {
  const lines = heldoutLines(6000);
  const sp = SentencePieceProcessor.load(modelPath("llama2"));
  const expected = lines.map((l) => sp.encodeAsIds(l));
  const enc = new ParallelEncoder(sp, 2);
  try {
    enc.encodeLines(lines.slice(0, 100)); // warm: the worker takes chunks at once
    enc.faultForTests = "throw";
    assert.throws(() => enc.encodeLines(lines), /ParallelEncoder: worker 1 failed: fault injected for a test/);
    enc.faultForTests = undefined;
    assertSameIds(enc.encodeLines(lines), expected, "after a failed batch");
    // The worker exits in the middle of a chunk: the caller finishes the batch itself.
    enc.faultForTests = "exit";
    assertSameIds(enc.encodeLines(lines), expected, "a worker that exits");
    enc.faultForTests = undefined;
  } finally {
    enc.close();
  }
});

test("ParallelEncoder: the pool's idle workers do not keep the process alive", { skip }, () => {
  const url = (file: string) => JSON.stringify(new URL(`../../src/tokenizer/${file}`, import.meta.url).href);
  const script = `
    const { SentencePieceProcessor } = await import(${url("processor.js")});
    const { ParallelEncoder } = await import(${url("parallel_encode.js")});
    const enc = new ParallelEncoder(SentencePieceProcessor.load(${JSON.stringify(modelPath("llama2"))}), 2);
    console.log(enc.encodeLines(["hello world", "bye"]).lengths.length);`;
  const r = spawnSync(process.execPath, [...process.execArgv, "--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.signal, null, `the process did not exit by itself: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "2");
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
