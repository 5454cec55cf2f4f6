// tokenizer.json beyond the shipped files: SentencePiece-style BPE (byte fallback, Metaspace or
// the older Prepend + Replace normalizer), Unigram, GPT-2's vocab.json + merges.txt — against the
// reference (@huggingface/tokenizers) and, for the Llama 2 model, against SentencePieceProcessor;
// loadTokenizer's choice of kind; batch encoding; and the errors bad files give.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HFTokenizer } from "../../src/tokenizer/hf/hf_tokenizer.js";
import { SentencePieceProcessor } from "../../src/tokenizer/processor.js";
import { loadTokenizer } from "../../src/tokenizer/tokenizer.js";
import { encodeBatch } from "../../src/tokenizer/batch.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { loadReference, readShipped, skipUnlessShipped, type ReferenceTokenizer } from "./hf_reference.js";
import { randomTexts } from "./random_text.js";
import { bpeTokenizerJson, readModel, unigramTokenizerJson } from "./sp_to_hf.js";

const reference = await loadReference();
const refSkip = typeof reference === "string" ? reference : false;
const corpusSkip = skipUnlessShared("testdata", "corpus", "heldout.txt");
const corpus = corpusSkip
  ? []
  : readFileSync(sharedPath("testdata", "corpus", "heldout.txt"), "utf8")
      .split("\n")
      .slice(0, 500);
const newReference = (json: unknown, config: unknown = {}): ReferenceTokenizer =>
  new (reference as Exclude<typeof reference, string>).Tokenizer(json, config);

function assertSameIds(texts: readonly string[], ours: (t: string) => number[], ref: (t: string) => number[]): void {
  for (const [i, t] of texts.entries()) assert.deepEqual(ours(t), ref(t), `text ${i} ${JSON.stringify(t)}`);
}

const llama2Skip = refSkip || skipUnlessShared("testdata", "tokenizer", "llama2.model") || corpusSkip;
for (const style of ["legacy", "metaspace"] as const) {
  describe(`Llama 2's SentencePiece BPE as a tokenizer.json (${style})`, { skip: llama2Skip }, () => {
    test("ids identical to the reference and to SentencePieceProcessor; decode gives the text back", () => {
      const proto = readModel(sharedPath("testdata", "tokenizer", "llama2.model"));
      const json = bpeTokenizerJson(proto, style);
      const ours = new HFTokenizer(json, {}, `llama2-${style}/tokenizer.json`);
      const ref = newReference(json);
      const sp = SentencePieceProcessor.load(sharedPath("testdata", "tokenizer", "llama2.model"));
      const texts = [...corpus, ...randomTexts(5, 2000, ["<s>", "</s>", "<unk>"])];
      assertSameIds(
        texts,
        (t) => ours.encodeAsIds(t),
        (t) => ref.encode(t, { add_special_tokens: false }).ids,
      );
      assertSameIds(
        corpus.slice(0, 100),
        (t) => ours.encodeAsIds(t, { addSpecialTokens: true }),
        (t) => ref.encode(t).ids,
      );
      // Plain text (no special-token text) encodes as the SentencePiece library does.
      assertSameIds(
        corpus,
        (t) => ours.encodeAsIds(t),
        (t) => sp.encodeAsIds(t),
      );
      for (const line of corpus)
        assert.equal(ours.decode(ours.encodeAsIds(line)), line.startsWith(" ") && style === "legacy" ? line.slice(1) : line);
      assert.equal(ours.bosId, sp.bosId);
    });
  });
}

describe("a Unigram tokenizer.json (from unigram8k_nfkc.model)", {
  skip: refSkip || skipUnlessShared("testdata", "tokenizer", "unigram8k_nfkc.model") || corpusSkip,
}, () => {
  test("ids identical to the reference, decoding too", () => {
    const json = unigramTokenizerJson(readModel(sharedPath("testdata", "tokenizer", "unigram8k_nfkc.model")));
    const ours = new HFTokenizer(json, {}, "unigram/tokenizer.json");
    const ref = newReference(json);
    const texts = [...corpus, ...randomTexts(6, 2000, ["<s>", "</s>"])];
    assertSameIds(
      texts,
      (t) => ours.encodeAsIds(t),
      (t) => ref.encode(t, { add_special_tokens: false }).ids,
    );
    for (const t of texts.slice(0, 300)) {
      const ids = ours.encodeAsIds(t);
      if (ids.length > 0) assert.equal(ours.decode(ids), ref.decode(ids, { clean_up_tokenization_spaces: false }), JSON.stringify(t));
    }
  });
});

describe("GPT-2's vocab.json + merges.txt", { skip: refSkip || skipUnlessShipped("llama3") }, () => {
  test("load as byte-level BPE with GPT-2's split, identical to the same model as tokenizer.json", () => {
    const { json } = readShipped("llama3");
    const model = (json as { model: { vocab: Record<string, number>; merges: string[] } }).model;
    const dir = mkdtempSync(join(tmpdir(), "tsgpt-gpt2-"));
    try {
      const vocab = { ...model.vocab, "<|endoftext|>": Object.keys(model.vocab).length };
      writeFileSync(join(dir, "vocab.json"), JSON.stringify(vocab));
      writeFileSync(join(dir, "merges.txt"), "#version: 0.2\n" + model.merges.slice(0, 50_000).join("\n") + "\n");
      const ours = loadTokenizer(dir);
      assert.equal(ours.kind, "huggingface");
      const ref = newReference({
        model: { type: "BPE", vocab, merges: model.merges.slice(0, 50_000) },
        normalizer: null,
        pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, use_regex: true },
        post_processor: null,
        decoder: { type: "ByteLevel" },
        added_tokens: [{ id: vocab["<|endoftext|>"], content: "<|endoftext|>", special: true, normalized: false }],
      });
      // The reference splits GPT-2's pattern with JavaScript's \s, which differs from the Rust
      // library's for U+0085 and U+FEFF; those two stay out of this comparison.
      const texts = [...corpus, ...randomTexts(7, 2000, ["<|endoftext|>"])].map((t) => t.replace(/[\u0085\ufeff]/g, ""));
      assertSameIds(
        texts,
        (t) => ours.encodeAsIds(t),
        (t) => ref.encode(t, { add_special_tokens: false }).ids,
      );
      assert.equal(ours.eosId, vocab["<|endoftext|>"]);
      assert.equal(ours.decode(ours.encodeAsIds("Hello  world<|endoftext|>")), "Hello  world<|endoftext|>");
      assert.equal(loadTokenizer(join(dir, "merges.txt")).vocabSize, ours.vocabSize);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a SmolLM-style pre-tokenizer: Digits then GPT-2's ByteLevel split", { skip: refSkip || skipUnlessShipped("llama3") }, () => {
  for (const individual of [true, false]) {
    test(`individual_digits ${individual}: ids identical to the reference`, () => {
      const { json } = readShipped("llama3");
      const smol = {
        ...(json as object),
        pre_tokenizer: {
          type: "Sequence",
          pretokenizers: [
            { type: "Digits", individual_digits: individual },
            { type: "ByteLevel", add_prefix_space: false, use_regex: true },
          ],
        },
      };
      const ours = new HFTokenizer(smol, {}, "smol/tokenizer.json");
      const ref = newReference(smol);
      // The reference splits digits with JavaScript's \d (ASCII only), the Rust library any
      // numeric character; and GPT-2's pattern with JavaScript's \s. Those characters stay out.
      const texts = [...corpus, ...randomTexts(8, 2000)].map((t) => t.replace(/[\u0085\ufeff]|(?![0-9])\p{N}/gu, ""));
      assertSameIds(
        texts,
        (t) => ours.encodeAsIds(t),
        (t) => ref.encode(t, { add_special_tokens: false }).ids,
      );
      // Any numeric character splits off, as Rust's char::is_numeric: "x٣4" is "x" + "٣" + "4".
      if (individual)
        assert.deepEqual(
          ours.encodeAsIds("x٣4"),
          ["x", "٣", "4"].flatMap((t) => ours.encodeAsIds(t)),
        );
    });
  }
});

describe("loadTokenizer picks the kind from the file", () => {
  test(".model is SentencePiece; tokenizer.json or its folder is Hugging Face", {
    skip: skipUnlessShared("testdata", "tokenizer", "tok512.model") || skipUnlessShipped("qwen3"),
  }, () => {
    assert.equal(loadTokenizer(sharedPath("testdata", "tokenizer", "tok512.model")).kind, "sentencepiece");
    const { dir } = readShipped("qwen3");
    const byFile = loadTokenizer(join(dir, "tokenizer.json"));
    const byDir = loadTokenizer(dir);
    assert.equal(byFile.kind, "huggingface");
    assert.deepEqual(byDir.encodeAsIds("Hello world"), byFile.encodeAsIds("Hello world"));
    // tokenizer_config.json beside it gives the special tokens.
    assert.equal(byFile.idToPiece(byFile.eosId), "<|im_end|>");
    assert.equal(byFile.idToPiece(byFile.padId), "<|endoftext|>");
    assert.equal(byFile.bosId, -1);
  });

  test("errors name what was expected", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsgpt-tok-"));
    try {
      assert.throws(() => loadTokenizer(join(dir, "missing.json")), /missing\.json' does not exist/);
      assert.throws(
        () => loadTokenizer(dir),
        /no tokenizer found \(looked for tokenizer\.json, vocab\.json \+ merges\.txt, tokenizer\.model\)/,
      );
      writeFileSync(join(dir, "x.txt"), "hi");
      assert.throws(() => loadTokenizer(join(dir, "x.txt")), /unknown tokenizer file/);
      writeFileSync(join(dir, "tokenizer.json"), "{not json");
      assert.throws(() => loadTokenizer(dir), /tokenizer\.json: not valid JSON/);
      writeFileSync(join(dir, "tokenizer_config.json"), "{}");
      assert.throws(() => loadTokenizer(join(dir, "tokenizer_config.json")), /give tokenizer\.json/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("batch encoding with a tokenizer.json", { skip: skipUnlessShipped("qwen3") }, () => {
  test("padding with the config's pad token, masks, truncation", () => {
    const { json, config } = readShipped("qwen3");
    const tok = new HFTokenizer(json, config);
    const texts = ["Hello", "Hello world, how are you?"];
    const b = encodeBatch(tok, texts, { padding: "longest", paddingSide: "left" });
    const lens = texts.map((t) => tok.encodeAsIds(t).length);
    assert.deepEqual(b.lengths, lens);
    assert.deepEqual(b.inputIds[0]!.slice(0, lens[1]! - lens[0]!), new Array(lens[1]! - lens[0]!).fill(tok.padId));
    assert.deepEqual(b.attentionMask[0], [...new Array(lens[1]! - lens[0]!).fill(0), ...new Array(lens[0]!).fill(1)]);
    assert.deepEqual(encodeBatch(tok, texts, { truncation: true, maxLength: 2 }).inputIds[1], tok.encodeAsIds(texts[1]!).slice(0, 2));
  });
});

/** A minimal byte-level tokenizer.json with one part replaced. */
function tiny(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const vocab: Record<string, number> = { a: 0, b: 1, ab: 2, Ġ: 3 };
  return {
    model: { type: "BPE", vocab, merges: ["a b"] },
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, use_regex: true },
    post_processor: null,
    decoder: { type: "ByteLevel" },
    added_tokens: [],
    ...overrides,
  };
}

describe("bad tokenizer.json files name the file, the field and what is unsupported", () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    [
      "WordPiece model",
      { model: { type: "WordPiece", vocab: {} } },
      /t\.json: model: model type 'WordPiece' is not supported \(supported: BPE, Unigram\)/,
    ],
    [
      "unknown pre-tokenizer",
      { pre_tokenizer: { type: "BertPreTokenizer" } },
      /t\.json: pre_tokenizer: pre-tokenizer type 'BertPreTokenizer' is not supported/,
    ],
    [
      "pre-tokenizer inside a sequence",
      { pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Punctuation" }] } },
      /pre_tokenizer\.pretokenizers\[0\]: pre-tokenizer type 'Punctuation'/,
    ],
    [
      "ByteLevel not last",
      { pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "ByteLevel" }, { type: "Metaspace" }] } },
      /ByteLevel pre-tokenizer followed by others is not supported/,
    ],
    [
      "unknown normalizer",
      { normalizer: { type: "Precompiled", precompiled_charsmap: "" } },
      /t\.json: normalizer: normalizer type 'Precompiled' is not supported/,
    ],
    ["unknown decoder", { decoder: { type: "CTC" } }, /t\.json: decoder: decoder type 'CTC' is not supported/],
    ["unknown post-processor", { post_processor: { type: "Bogus" } }, /t\.json: post_processor: post-processor type 'Bogus'/],
    [
      "bad split behavior",
      { pre_tokenizer: { type: "Split", pattern: { String: " " }, behavior: "Sideways" } },
      /pre_tokenizer\.behavior: 'Sideways' is not one of/,
    ],
    [
      "\\G in a regex",
      { pre_tokenizer: { type: "Split", pattern: { Regex: "\\Ga" }, behavior: "Isolated" } },
      /pre_tokenizer\.pattern: regex "\\\\Ga" uses \\G, which is not supported/,
    ],
    [
      "possessive quantifier",
      { pre_tokenizer: { type: "Split", pattern: { Regex: "a++" }, behavior: "Isolated" } },
      /uses a possessive quantifier/,
    ],
    ["atomic group", { pre_tokenizer: { type: "Split", pattern: { Regex: "(?>ab)" }, behavior: "Isolated" } }, /uses an atomic group/],
    [
      "merge of an unknown token",
      { model: { type: "BPE", vocab: { a: 0 }, merges: ["a z"] } },
      /model\.merges\[0\]: "z" is not in the vocabulary/,
    ],
    [
      "BPE dropout",
      { model: { type: "BPE", vocab: { a: 0 }, merges: [], dropout: 0.1 } },
      /model\.dropout: BPE dropout \(0\.1\) is not supported/,
    ],
    [
      "bad vocab id",
      { model: { type: "BPE", vocab: { a: -1 }, merges: [] } },
      /model\.vocab\["a"\]: expected an integer id in \[0, 16777215\]/,
    ],
    ["bad added token", { added_tokens: [{ id: "x", content: "<s>" }] }, /added_tokens\[0\]: expected \{"id": integer/],
  ];
  for (const [what, overrides, expected] of cases) {
    test(what, () => assert.throws(() => new HFTokenizer(tiny(overrides), {}, "t.json"), expected));
  }

  test("the tiny file itself loads and encodes", () => {
    const tok = new HFTokenizer(tiny(), {}, "t.json");
    assert.deepEqual(tok.encodeAsPieces("ab a"), ["ab", "Ġ", "a"]);
    assert.equal(tok.decode(tok.encodeAsIds("ab a")), "ab a");
  });
});
