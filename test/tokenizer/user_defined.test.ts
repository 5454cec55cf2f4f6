// User-defined and control symbols, treat_whitespace_as_suffix and a pad piece, on two small
// models trained by spm_train 0.1.97 (fixtures/make_user_defined.sh) with its own encodings.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { testDataPath } from "../helpers/shared.js";
import { SentencePieceProcessor } from "../../src/tokenizer/processor.js";

interface Fixture {
  padId: number;
  cases: { text: string; ids: number[]; pieces: string[]; decoded: string }[];
}

const fixtures = JSON.parse(readFileSync(testDataPath("tokenizer", "fixtures", "user_defined.json"), "utf8")) as Record<string, Fixture>;

for (const [name, fx] of Object.entries(fixtures)) {
  test(`${name}: encodings and decodings equal SentencePiece 0.1.97`, () => {
    const sp = SentencePieceProcessor.load(testDataPath("tokenizer", "fixtures", `${name}.model`));
    assert.equal(sp.padId, fx.padId);
    for (const c of fx.cases) {
      assert.deepEqual(sp.encodeAsPieces(c.text), c.pieces, `pieces of ${JSON.stringify(c.text)}`);
      assert.deepEqual(sp.encodeAsIds(c.text), c.ids, `ids of ${JSON.stringify(c.text)}`);
      assert.equal(sp.decode(c.ids), c.decoded, `decode of ${JSON.stringify(c.text)}`);
    }
  });
}
