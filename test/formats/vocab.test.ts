// The vocabulary of a SentencePiece .model, as GGUF embeds it, against the SentencePiece
// library itself: every piece (including odd ones such as U+FEFF), score, type and special id.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { readSentencePieceVocab } from "../../src/formats/vocab.js";
import { FormatError } from "../../src/util/errors.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { python, runPython } from "./python.js";

function skipUnlessSentencePiece(): false | string {
  const ok = spawnSync(python, ["-c", "import sentencepiece"], { stdio: "ignore" }).status === 0;
  return ok ? false : `the sentencepiece Python package is not available via ${python}`;
}

const SCRIPT = `
import json, sys, sentencepiece as spm
s = spm.SentencePieceProcessor(model_file=sys.argv[1])
def kind(i):
    if s.is_unknown(i): return 2
    if s.is_control(i): return 3
    if s.is_unused(i): return 5
    if s.is_byte(i): return 6
    return 1
n = s.get_piece_size()
json.dump({"pieces": [s.id_to_piece(i) for i in range(n)], "scores": [s.get_score(i) for i in range(n)],
           "types": [kind(i) for i in range(n)], "ids": [s.unk_id(), s.bos_id(), s.eos_id(), s.pad_id()]}, sys.stdout)
`;

for (const name of ["llama2.model", "unigram8k_nfkc.model"]) {
  test(`${name}: pieces, scores, types and special ids equal the SentencePiece library's`, {
    skip: skipUnlessShared("testdata", "tokenizer", name) || skipUnlessSentencePiece(),
  }, () => {
    const path = sharedPath("testdata", "tokenizer", name);
    const ref = JSON.parse(runPython(SCRIPT, undefined, [path]).toString("utf8")) as {
      pieces: string[];
      scores: number[];
      types: number[];
      ids: number[];
    };
    const v = readSentencePieceVocab(path);
    assert.deepEqual(v.tokens, ref.pieces);
    assert.deepEqual([...v.scores!], ref.scores.map(Math.fround));
    // The library has no is_user_defined: user-defined pieces (4) read as normal (1) there.
    assert.deepEqual(
      [...v.tokenTypes!].map((t) => (t === 4 ? 1 : t)),
      ref.types,
    );
    const [unk, bos, eos, pad] = ref.ids;
    assert.deepEqual([v.unkId ?? -1, v.bosId ?? -1, v.eosId ?? -1, v.padId ?? -1], [unk, bos, eos, pad]);
  });
}

test("a file that is not a SentencePiece model gives a FormatError naming it", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-vocab-"));
  try {
    const bad = join(dir, "bad.model");
    writeFileSync(bad, "{ not protobuf }");
    assert.throws(
      () => readSentencePieceVocab(bad),
      (e: unknown) => e instanceof FormatError && /bad\.model: ModelProto: not a valid SentencePiece model/.test(e.message),
    );
    const empty = join(dir, "empty.model");
    writeFileSync(empty, new Uint8Array(0));
    assert.throws(() => readSentencePieceVocab(empty), /empty\.model: pieces: expected a SentencePiece model with at least one piece/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
