// ModelProto codec: byte-exact round trip of real models, edits survive, bad bytes → clear errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseModelProto, serializeModelProto, PieceType, ProtoError, trainerSpecWithDefaults } from "../../src/tokenizer/model_proto.js";
import { SentencePieceProcessor } from "../../src/tokenizer/processor.js";
import { skipUnlessShared } from "../helpers/shared.js";
import { MODELS, modelPath } from "./vector_cases.js";

for (const model of MODELS) {
  test(`${model}.model: parse then serialize gives back the same bytes`, {
    skip: skipUnlessShared("testdata", "tokenizer", `${model}.model`),
  }, () => {
    const bytes = readFileSync(modelPath(model));
    const proto = parseModelProto(bytes, `${model}.model`);
    assert.ok(proto.pieces.length > 0);
    assert.ok(Buffer.from(serializeModelProto(proto)).equals(bytes));
  });
}

test("edited models serialize and parse back to the same values", {
  skip: skipUnlessShared("testdata", "tokenizer", "tok512.model"),
}, () => {
  const proto = parseModelProto(readFileSync(modelPath("tok512")), "tok512.model");
  proto.pieces.push({ piece: "<pad>", score: 0, type: PieceType.CONTROL });
  proto.trainerSpec!.padId = proto.pieces.length - 1;
  proto.trainerSpec!.inputSentenceSize = 2 ** 40;
  proto.normalizerSpec!.addDummyPrefix = false;
  const back = parseModelProto(serializeModelProto(proto), "edited");
  assert.deepEqual(back, proto);
  assert.equal(trainerSpecWithDefaults(back.trainerSpec).padId, proto.pieces.length - 1);
  // Negative int32 fields (pad_id -1) round-trip too.
  back.trainerSpec!.padId = -1;
  assert.equal(parseModelProto(serializeModelProto(back)).trainerSpec!.padId, -1);
});

test("unknown fields are kept and written back", () => {
  // ModelProto.pieces[0]: piece "a" (field 1), score 1.5 (field 2), then field 250 = 7 (unknown)
  const piece = [0x0a, 0x01, 0x61, 0x15, 0x00, 0x00, 0xc0, 0x3f, 0xd0, 0x0f, 0x07];
  const bytes = Uint8Array.from([0x0a, piece.length, ...piece]);
  const proto = parseModelProto(bytes, "x");
  assert.equal(proto.pieces[0]!.piece, "a");
  assert.equal(proto.pieces[0]!.score, 1.5);
  assert.equal(proto.pieces[0]!.unknownFields?.[0]?.num, 250);
  assert.deepEqual(serializeModelProto(proto), bytes);
});

test("a truncated or corrupted model gives an error naming the file and field, never a crash", {
  skip: skipUnlessShared("testdata", "tokenizer", "tok512.model"),
}, () => {
  const bytes = readFileSync(modelPath("tok512"));
  let errors = 0;
  for (let cut = 1; cut < bytes.length; cut += 13) {
    try {
      SentencePieceProcessor.fromBytes(bytes.subarray(0, cut), "cut.model");
    } catch (err) {
      assert.ok(err instanceof Error, `cut at ${cut}: ${String(err)}`);
      assert.match(err.message, /cut\.model/);
      errors++;
    }
  }
  assert.ok(errors > 0);
  const err = (() => {
    try {
      parseModelProto(bytes.subarray(0, 200), "t.model");
    } catch (e) {
      return e as Error;
    }
    return null;
  })();
  assert.ok(err instanceof ProtoError);
  assert.match(err.message, /t\.model: ModelProto\.pieces\[\d+\]/);
  // Flipped bytes: errors are Errors (with the file name), or the model still loads.
  for (let i = 0; i < 200; i++) {
    const bad = Uint8Array.from(bytes);
    const pos = (i * 7919) % bad.length;
    bad[pos] = bad[pos]! ^ 0xa5;
    try {
      SentencePieceProcessor.fromBytes(bad, "flip.model").encode("hello world");
    } catch (e) {
      assert.ok(e instanceof Error && /flip\.model/.test(e.message), String(e));
    }
  }
  assert.throws(() => SentencePieceProcessor.fromBytes(new Uint8Array(0), "empty.model"), /empty\.model.*UNKNOWN/);
});
