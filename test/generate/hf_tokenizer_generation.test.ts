// Generation with a tokenizer.json: stories260K's SentencePiece model written as a
// tokenizer.json (as transformers' converter does) drives greedy generation to the same ids and
// text llama2.c's run.c printed — loaded from a file, and from a Hugging Face checkpoint folder
// that has tokenizer.json but no tokenizer.model.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TextGenerator } from "../../src/generate/text_generator.js";
import { loadCheckpoint } from "../../src/formats/load.js";
import { saveHFCheckpoint } from "../../src/formats/hf.js";
import { HFTokenizer } from "../../src/tokenizer/hf/hf_tokenizer.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { bpeTokenizerJson, readModel } from "../tokenizer/sp_to_hf.js";

const skip = skipUnlessShared("models", "stories260K", "stories260K.bin");
interface Reference {
  prompt: string;
  steps: number;
  text: string;
  ids_after_bos: number[];
}

describe("stories260K with its tokenizer as tokenizer.json", { skip }, () => {
  test("greedy generation equals llama2.c run.c; the checkpoint folder's tokenizer.json is found", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsgpt-hfgen-"));
    try {
      const tokFile = join(dir, "tokenizer.json");
      writeFileSync(tokFile, JSON.stringify(bpeTokenizerJson(readModel(sharedPath("models", "stories260K", "tok512.model")), "legacy")));
      const bin = sharedPath("models", "stories260K", "stories260K.bin");
      const ref = JSON.parse(readFileSync(sharedPath("models", "stories260K", "greedy_once_upon_a_time.json"), "utf8")) as Reference;

      const check = async (gen: TextGenerator): Promise<void> => {
        assert.ok(gen.tokenizer instanceof HFTokenizer);
        const promptIds = gen.tokenizer.encodeAsIds(ref.prompt);
        const maxNewTokens = ref.steps - (promptIds.length + 1) + 1;
        const r = await gen.generate(ref.prompt, { temperature: 0, maxNewTokens, eosTokenId: 1 });
        assert.deepEqual([...promptIds, ...r.tokens], ref.ids_after_bos);
        assert.equal(ref.prompt + r.text + "\n", ref.text);
        let streamed = "";
        for await (const piece of gen.stream(ref.prompt, { temperature: 0, maxNewTokens: 40, eosTokenId: 1 })) streamed += piece;
        assert.equal(streamed, (await gen.generate(ref.prompt, { temperature: 0, maxNewTokens: 40, eosTokenId: 1 })).text);
      };
      await check(await TextGenerator.load(bin, { tokenizerPath: tokFile }));

      const ckpt = await loadCheckpoint(bin);
      ckpt.tokenizerPath = tokFile;
      const hfDir = join(dir, "hf");
      saveHFCheckpoint(hfDir, ckpt);
      assert.ok(existsSync(join(hfDir, "tokenizer.json")) && !existsSync(join(hfDir, "tokenizer.model")));
      await check(await TextGenerator.load(hfDir));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
