// SentencePieceProcessor behaviour beyond the golden vectors: normalization seen through the
// vectors, input checks, save/load, streaming decode, sampling.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SentencePieceProcessor } from "../../src/tokenizer/processor.js";
import { Normalizer } from "../../src/tokenizer/normalizer.js";
import { parseModelProto, serializeModelProto, trainerSpecWithDefaults } from "../../src/tokenizer/model_proto.js";
import { skipUnlessShared } from "../helpers/shared.js";
import { loadVectors, MODELS, modelPath } from "./vector_cases.js";

const skip = skipUnlessShared("testdata", "tokenizer", "llama2.model");

test("normalized text equals the library's pieces joined (models without byte fallback)", { skip }, () => {
  for (const model of ["bpe8k_nfkc", "unigram8k_nfkc"]) {
    const proto = parseModelProto(readFileSync(modelPath(model)), model);
    const normalizer = new Normalizer(proto.normalizerSpec, {
      treatWhitespaceAsSuffix: trainerSpecWithDefaults(proto.trainerSpec).treatWhitespaceAsSuffix,
    });
    for (const c of loadVectors(model)) assert.equal(normalizer.normalize(c.text), c.pieces.join(""), `${model} ${c.case}`);
  }
});

test("surfaces of the detailed encoding point back into the original text", { skip }, () => {
  const sp = SentencePieceProcessor.load(modelPath("bpe8k_nfkc"));
  for (const c of loadVectors("bpe8k_nfkc")) {
    const tokens = sp.encodeDetailed(c.text);
    const original = Buffer.from(c.text, "utf8");
    for (const t of tokens) assert.equal(original.subarray(t.begin, t.end).toString("utf8"), t.surface);
    // Unknown pieces hold their original text; so do the vectors.
    tokens.forEach((t, i) => {
      if (t.id === sp.unkId) assert.equal(t.piece, c.pieces[i]);
    });
  }
});

test("non-string text is a TypeError", { skip }, () => {
  const sp = SentencePieceProcessor.load(modelPath("tok512"));
  for (const bad of [null, undefined, 42, ["a"], Buffer.from("a")]) {
    assert.throws(() => sp.encode(bad as unknown as string), TypeError);
  }
  assert.throws(() => sp.decode("abc" as unknown as number[]), TypeError);
  assert.throws(() => sp.decode([1, 99999]), RangeError);
});

test("save writes the same bytes atomically and the copy loads", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-spm-"));
  try {
    const sp = SentencePieceProcessor.load(modelPath("unigram8k_nfkc"));
    const out = join(dir, "copy.model");
    sp.save(out);
    assert.ok(readFileSync(out).equals(readFileSync(modelPath("unigram8k_nfkc"))));
    assert.deepEqual(readdirSync(dir), ["copy.model"]); // no temporary file left behind
    assert.deepEqual(SentencePieceProcessor.load(out).encode("hello world"), sp.encode("hello world"));
    sp.save(join(dir, "new", "x.model")); // a missing folder is created
    assert.ok(readFileSync(join(dir, "new", "x.model")).equals(readFileSync(out)));
    assert.throws(() => sp.save(join(dir, "copy.model", "x.model")), /x\.model/); // a file where a folder should be
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("load errors name the file", () => {
  assert.throws(() => SentencePieceProcessor.load("no/such/file.model"), /no\/such\/file\.model/);
});

test("a model file with a piece twice or a piece that is not UTF-8 is refused before any text is encoded", { skip }, () => {
  const file = readFileSync(modelPath("tok512"));
  const proto = parseModelProto(file);
  const pieces = proto.pieces.map((p) => ({ ...p }));
  const copyOf = pieces.findIndex((p, i) => i > 10 && (p.type ?? 1) === 1);
  pieces[copyOf + 1] = { ...pieces[copyOf + 1]!, piece: pieces[copyOf]!.piece };
  const twice = SentencePieceProcessor.fromBytes(serializeModelProto({ ...proto, pieces }), "twice.model");
  assert.throws(() => twice.encodeAsIds("hello world"), /twice\.model: ModelProto\.pieces\[\d+\]\.piece: '.*' is already defined/);
  assert.throws(() => twice.idToPiece(5), /already defined/);
  // A piece whose text bytes are not UTF-8: checked with the duplicates, before the texts are
  // first used (loading does not read them); the error names the piece and the byte.
  const bytes = Uint8Array.from(file);
  const at = Buffer.from(bytes).indexOf(Buffer.from("\u2581t", "utf8"));
  bytes[at] = 0xff;
  const notUtf8 = /bad\.model: ModelProto\.pieces\[\d+\]\.piece: string is not valid UTF-8 at byte \d+/;
  assert.throws(() => SentencePieceProcessor.fromBytes(bytes, "bad.model").encodeAsIds("hello world"), notUtf8);
  assert.throws(() => SentencePieceProcessor.fromBytes(bytes, "bad.model").idToPiece(5), notUtf8);
  assert.throws(() => SentencePieceProcessor.fromBytes(bytes, "bad.model").proto.pieces, notUtf8);
  assert.throws(() => SentencePieceProcessor.fromBytes(bytes, "bad.model").pieceToId("hello"), notUtf8);
});

for (const model of MODELS) {
  test(`${model}: streaming decode of every vector equals decode, chunk by chunk valid`, {
    skip: skipUnlessShared("testdata", "tokenizer", `${model}.model`),
  }, () => {
    const sp = SentencePieceProcessor.load(modelPath(model));
    for (const c of loadVectors(model)) {
      const dec = sp.createStreamDecoder();
      let text = "";
      for (const id of c.ids) {
        const chunk = dec.push(id);
        assert.ok(!chunk.includes("\uFFFD") || c.decoded.includes("\uFFFD"), `${c.case}: broken character emitted`);
        text += chunk;
      }
      text += dec.flush();
      assert.equal(text, c.decoded, c.case);
    }
  });
}

test("unigram sampling: valid segmentations, seeded, n-best sampling picks an n-best", { skip }, () => {
  const sp = SentencePieceProcessor.load(modelPath("unigram8k_nfkc"));
  const text = "The unbelievable results surprised everyone.";
  const best = sp.encodeAsPieces(text);
  const seen = new Set<string>();
  for (let seed = 0; seed < 30; seed++) {
    const pieces = sp.sampleEncode(text, { outType: "pieces", nbestSize: -1, alpha: 0.1, seed }) as string[];
    assert.equal(pieces.join(""), best.join(""));
    assert.deepEqual(sp.sampleEncode(text, { outType: "pieces", nbestSize: -1, alpha: 0.1, seed }), pieces);
    seen.add(pieces.join(" "));
  }
  assert.ok(seen.size > 1, "sampling with alpha 0.1 should vary");
  // A very large alpha concentrates all mass on the best segmentation.
  assert.deepEqual(sp.sampleEncode(text, { outType: "pieces", nbestSize: -1, alpha: 1000, seed: 1 }), best);
  const nbest = sp.nbestEncodeAsPieces(text, 4).map((p) => p.join(" "));
  assert.deepEqual(nbest[0]!.split(" "), best);
  for (let seed = 0; seed < 10; seed++) {
    const p = sp.sampleEncode(text, { outType: "pieces", nbestSize: 4, alpha: 0.5, seed }) as string[];
    assert.ok(nbest.includes(p.join(" ")));
  }
  assert.deepEqual(sp.sampleEncode(text, { nbestSize: 1, seed: 3 }), sp.encode(text));
});

test("BPE-dropout: alpha 0 is the plain encoding, alpha 1 skips every merge", { skip }, () => {
  const sp = SentencePieceProcessor.load(modelPath("bpe8k_nfkc"));
  const text = "Hello world";
  assert.deepEqual(sp.sampleEncode(text, { alpha: 0, seed: 1 }), sp.encode(text));
  assert.deepEqual(sp.sampleEncode(text, { alpha: 1, seed: 1, outType: "pieces" }), [..."▁Hello▁world"]);
  const dropped = sp.sampleEncode(text, { alpha: 0.5, seed: 7, outType: "pieces" }) as string[];
  assert.equal(dropped.join(""), "▁Hello▁world");
});
