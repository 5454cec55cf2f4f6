// Golden vectors made by the SentencePiece C++ library 0.1.97: for every case, tsgpt must give
// the same ids, pieces and decoded text (see ../shared/testdata/tokenizer/README.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { SentencePieceProcessor } from "../../src/tokenizer/processor.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { loadVectors, MODELS } from "./vector_cases.js";

for (const model of MODELS) {
  const skip = skipUnlessShared("testdata", "tokenizer", `${model}.public.jsonl`);
  test(`${model}: ids, pieces and decoded text equal SentencePiece 0.1.97`, { skip }, () => {
    const sp = SentencePieceProcessor.load(sharedPath("testdata", "tokenizer", `${model}.model`));
    const cases = loadVectors(model);
    assert.ok(cases.length > 0);
    let passed = 0;
    let firstFailure: string | undefined;
    for (const c of cases) {
      const ids = sp.encodeAsIds(c.text);
      const pieces = sp.encodeAsPieces(c.text);
      const decoded = sp.decode(c.ids);
      const ok =
        JSON.stringify(ids) === JSON.stringify(c.ids) && JSON.stringify(pieces) === JSON.stringify(c.pieces) && decoded === c.decoded;
      if (ok) passed++;
      else if (!firstFailure) {
        firstFailure =
          `case ${c.case} (text ${JSON.stringify(c.text.slice(0, 80))}):\n` +
          `  ids     ${JSON.stringify(ids.slice(0, 40))}\n  expected ${JSON.stringify(c.ids.slice(0, 40))}\n` +
          `  pieces  ${JSON.stringify(pieces.slice(0, 40))}\n  expected ${JSON.stringify(c.pieces.slice(0, 40))}\n` +
          `  decoded ${JSON.stringify(decoded.slice(0, 80))}\n  expected ${JSON.stringify(c.decoded.slice(0, 80))}`;
      }
    }
    if (firstFailure) assert.fail(`${model}: ${passed}/${cases.length} cases match; first mismatch: ${firstFailure}`);
  });
}
