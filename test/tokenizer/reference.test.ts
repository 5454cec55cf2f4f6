// Outputs of the SentencePiece library 0.1.97 beyond the shared vectors (see
// fixtures/make_reference.py): vocabulary queries, decoding of odd id and piece sequences
// (byte pieces forming broken UTF-8, unknown pieces, control pieces), BOS/EOS, n-best.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { SentencePieceProcessor } from "../../src/tokenizer/processor.js";
import { sharedPath, skipUnlessShared, testDataPath } from "../helpers/shared.js";

interface ModelReference {
  vocabSize: number;
  special: { unk: number; bos: number; eos: number; pad: number };
  pieces: { id: number; piece: string; score: number; control: boolean; unknown: boolean; unused: boolean; byte: boolean; back: number }[];
  pieceToIdMissing: number;
  decodeIds: { ids: number[]; text: string }[];
  decodePieces: { pieces: string[]; text: string }[];
  encodeBosEos: { text: string; ids: number[]; pieces: string[] }[];
  nbest?: { text: string; n: number; ids: number[][]; pieces: string[][] }[];
}

const reference = JSON.parse(readFileSync(testDataPath("tokenizer", "fixtures", "reference.json"), "utf8")) as {
  models: Record<string, ModelReference>;
};

for (const [name, ref] of Object.entries(reference.models)) {
  const skip = skipUnlessShared("testdata", "tokenizer", `${name}.model`);
  describe(`${name} (reference outputs of SentencePiece 0.1.97)`, { skip }, () => {
    const sp = () => SentencePieceProcessor.load(sharedPath("testdata", "tokenizer", `${name}.model`));

    test("vocabulary queries", () => {
      const p = sp();
      assert.equal(p.vocabSize, ref.vocabSize);
      assert.deepEqual({ unk: p.unkId, bos: p.bosId, eos: p.eosId, pad: p.padId }, ref.special);
      for (const r of ref.pieces) {
        assert.equal(p.idToPiece(r.id), r.piece, `idToPiece(${r.id})`);
        assert.equal(p.getScore(r.id), r.score, `getScore(${r.id})`);
        assert.deepEqual(
          [p.isControl(r.id), p.isUnknown(r.id), p.isUnused(r.id), p.isByte(r.id)],
          [r.control, r.unknown, r.unused, r.byte],
          `types of ${r.id}`,
        );
        assert.equal(p.pieceToId(r.piece), r.back);
      }
      assert.equal(p.pieceToId("this-is-no-piece"), ref.pieceToIdMissing);
      assert.throws(() => p.idToPiece(ref.vocabSize), RangeError);
    });

    test("decode ids and pieces", () => {
      const p = sp();
      for (const c of ref.decodeIds) assert.equal(p.decode(c.ids), c.text, `decode(${JSON.stringify(c.ids)})`);
      for (const c of ref.decodePieces) assert.equal(p.decodePieces(c.pieces), c.text, `decodePieces(${JSON.stringify(c.pieces)})`);
    });

    test("stream decoder gives the same text as decode, never half a character", () => {
      const p = sp();
      for (const c of ref.decodeIds) {
        const dec = p.createStreamDecoder();
        let text = "";
        for (const id of c.ids) {
          const chunk = dec.push(id);
          // An emitted chunk never ends in a lone high surrogate (half an astral character).
          assert.ok(!/[\uD800-\uDBFF]$/.test(chunk));
          text += chunk;
        }
        text += dec.flush();
        assert.equal(text, c.text, `stream of ${JSON.stringify(c.ids)}`);
      }
    });

    test("encode with BOS and EOS", () => {
      const p = sp();
      for (const c of ref.encodeBosEos) {
        assert.deepEqual(p.encode(c.text, { addBos: true, addEos: true }), c.ids);
        assert.deepEqual(p.encode(c.text, { addBos: true, addEos: true, outType: "pieces" }), c.pieces);
      }
    });

    if (ref.nbest) {
      test("n-best encoding", () => {
        const p = sp();
        for (const c of ref.nbest!) {
          assert.deepEqual(p.nbestEncodeAsIds(c.text, c.n), c.ids, `nbest ids of ${JSON.stringify(c.text)}`);
          assert.deepEqual(p.nbestEncodeAsPieces(c.text, c.n), c.pieces);
        }
      });
    }
  });
}
