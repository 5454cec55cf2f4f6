// Streaming: Korean and emoji that arrive as byte-fallback tokens are never shown broken,
// and stop strings are held back until they can be ruled out.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { SentencePieceProcessor } from "../../src/tokenizer/processor.js";
import { stream } from "../../src/generate/generate.js";
import { StopStringFilter } from "../../src/generate/stream.js";
import { KVCache } from "../../src/generate/kv_cache.js";
import type { DecoderDims, InferenceModel } from "../../src/generate/decoder.js";

const MODEL = ["testdata", "tokenizer", "bpe4k_identity_bytefallback.model"];

/** A stand-in model whose logits spell out a fixed token sequence, then EOS. */
function scriptedModel(script: number[], vocabSize: number, eos: number): InferenceModel {
  const dims: DecoderDims = {
    arch: "llama",
    vocabSize,
    hidden: 1,
    layers: 1,
    heads: 1,
    kvHeads: 1,
    headDim: 1,
    intermediate: 1,
    context: 4096,
    eps: 1e-5,
  };
  let calls = 0;
  return {
    dims,
    createCache: (batch, capacity) => new KVCache({ layers: 1, batch, capacity, kvDim: 1 }),
    forward(cache, _tokens, _positions, _valid, steps) {
      cache.length += steps;
      const logits = new Float32Array(cache.batch * vocabSize);
      const next = calls < script.length ? script[calls]! : eos;
      calls++;
      for (let b = 0; b < cache.batch; b++) logits[b * vocabSize + next] = 10;
      return logits;
    },
  };
}

describe("streaming text", { skip: skipUnlessShared(...MODEL) }, () => {
  test("byte-fallback Korean and emoji are never split (no U+FFFD, no lone surrogates)", async () => {
    const sp = SentencePieceProcessor.load(sharedPath(...MODEL));
    const text = "안녕하세요 뷁 😀👍🏽 세계 🇰🇷 똠방각하";
    const ids = sp.encodeAsIds(text);
    const bytePieces = ids.filter((id) => /^<0x[0-9A-F]{2}>$/.test(sp.idToPiece(id))).length;
    assert.ok(bytePieces >= 20, `the text should need byte fallback (got ${bytePieces} byte pieces)`);

    const model = scriptedModel(ids, sp.vocabSize, sp.eosId);
    const s = stream(model, sp, [sp.bosId], { temperature: 0, maxNewTokens: ids.length + 5 });
    const pieces: string[] = [];
    for await (const p of s) pieces.push(p);
    const r = await s.result;
    assert.deepEqual(r.tokens, ids);
    assert.equal(r.finishReason, "eos");
    assert.equal(pieces.join(""), sp.decode(ids));
    assert.equal(pieces.join(""), text);
    for (const p of pieces) {
      assert.ok(!p.includes("\uFFFD"), `piece ${JSON.stringify(p)} holds U+FFFD`);
      assert.ok(!/[\uD800-\uDBFF]$/.test(p) && !/^[\uDC00-\uDFFF]/.test(p), `piece ${JSON.stringify(p)} splits a surrogate pair`);
    }
    // Fewer pieces than tokens: the bytes of one character came out together.
    assert.ok(pieces.length < ids.length);
  });

  test("a stop string made of byte-fallback tokens stops the stream and is not shown", async () => {
    const sp = SentencePieceProcessor.load(sharedPath(...MODEL));
    const ids = sp.encodeAsIds("안녕 😀 뷁 끝");
    const s = stream(scriptedModel(ids, sp.vocabSize, sp.eosId), sp, [sp.bosId], { temperature: 0, maxNewTokens: 100, stop: "😀" });
    let shown = "";
    for await (const p of s) shown += p;
    assert.equal(shown, "안녕 ");
    assert.equal((await s.result).finishReason, "stop");
  });
});

describe("StopStringFilter", () => {
  test("holds back a possible beginning of a stop string, releases it when ruled out", () => {
    const f = new StopStringFilter(["\nUSER:", "###"]);
    assert.deepEqual(f.push("Hello"), { text: "Hello", stopped: false });
    assert.deepEqual(f.push(" there\nUS"), { text: " there", stopped: false });
    assert.deepEqual(f.push("A"), { text: "\nUSA", stopped: false });
    assert.deepEqual(f.push("#"), { text: "", stopped: false });
    assert.deepEqual(f.push("#x"), { text: "##x", stopped: false });
    assert.deepEqual(f.push("ok\nUSER: more"), { text: "ok", stopped: true });
  });

  test("the earliest stop string wins; flush releases what was held", () => {
    const f = new StopStringFilter(["bc", "abcd"]);
    assert.deepEqual(f.push("xxab"), { text: "xx", stopped: false });
    assert.deepEqual(f.push("c"), { text: "a", stopped: true });
    const g = new StopStringFilter(["END"]);
    assert.deepEqual(g.push("the EN"), { text: "the ", stopped: false });
    assert.equal(g.flush(), "EN");
    const none = new StopStringFilter([]);
    assert.deepEqual(none.push("abc"), { text: "abc", stopped: false });
  });
});
