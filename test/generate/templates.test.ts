// Prompt templates: the published formats of Llama-2-chat (Meta's llama repository,
// `chat_completion`), Alpaca (tatsu-lab/stanford_alpaca PROMPT_DICT) and Vicuna v1.1 (FastChat).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getTemplate, encodeChat, detectTemplate, templateForCheckpoint, type ChatMessage } from "../../src/generate/templates.js";

const conversation: ChatMessage[] = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "Hi" },
  { role: "assistant", content: "Hello!" },
  { role: "user", content: "Name a color." },
];

describe("templates", () => {
  test("llama2: [INST] with <<SYS>> in the first turn, BOS/EOS tokens around each exchange", () => {
    const segs = getTemplate("llama2").render(conversation);
    assert.deepEqual(segs, [
      { text: "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! ", bos: true, eos: true },
      { text: "[INST] Name a color. [/INST]", bos: true, eos: false },
    ]);
  });

  test("alpaca: instruction, optional input, response", () => {
    const t = getTemplate("alpaca");
    const [plain] = t.render([{ role: "user", content: "Add 2 and 3." }]);
    assert.equal(
      plain!.text,
      "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n" +
        "### Instruction:\nAdd 2 and 3.\n\n### Response:\n",
    );
    const [withInput] = t.render([{ role: "user", content: "Summarize.", input: "A long text." }]);
    assert.equal(
      withInput!.text,
      "Below is an instruction that describes a task, paired with an input that provides further context. " +
        "Write a response that appropriately completes the request.\n\n" +
        "### Instruction:\nSummarize.\n\n### Input:\nA long text.\n\n### Response:\n",
    );
  });

  test("vicuna: USER: / ASSISTANT: with EOS after each answer", () => {
    const segs = getTemplate("vicuna").render(conversation);
    assert.deepEqual(segs, [
      { text: "Be brief. USER: Hi ASSISTANT: Hello!", bos: true, eos: true },
      { text: "USER: Name a color. ASSISTANT:", bos: false, eos: false },
    ]);
    const [only] = getTemplate("vicuna").render([{ role: "user", content: "Hi" }]);
    assert.match(only!.text, /^A chat between a curious user and an artificial intelligence assistant\. .* USER: Hi ASSISTANT:$/);
  });

  test("encodeChat puts BOS / EOS ids where segments ask", () => {
    const tok = { encodeAsIds: (s: string) => Array.from(s.slice(0, 2), (c) => c.charCodeAt(0)), bosId: 1, eosId: 2 };
    const ids = encodeChat(tok, getTemplate("llama2"), conversation);
    assert.deepEqual(ids, [1, 91, 73, 2, 1, 91, 73]); // "[I" twice
  });

  test("bad conversations and names give clear errors", () => {
    assert.throws(() => getTemplate("chatml"), /unknown prompt template 'chatml' \(known: llama2, alpaca, vicuna\)/);
    assert.throws(() => getTemplate("llama2").render([{ role: "assistant", content: "x" }]), /message 0 should be from the user/);
    assert.throws(
      () =>
        getTemplate("vicuna").render([
          { role: "user", content: "a" },
          { role: "assistant", content: "b" },
        ]),
      /must end with a user message/,
    );
  });

  test("detected from a checkpoint's tokenizer_config.json chat_template", () => {
    assert.equal(detectTemplate("{{ bos_token + '[INST] ' + m['content'] + ' [/INST]' }}")?.name, "llama2");
    assert.equal(detectTemplate("{% for m in messages %}{{ m.content }}{% endfor %}"), undefined);
    const dir = mkdtempSync(join(tmpdir(), "tsgpt-tpl-"));
    try {
      assert.equal(templateForCheckpoint(dir), undefined);
      writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ chat_template: "{{ 'USER: ' + x + ' ASSISTANT:' }}" }));
      assert.equal(templateForCheckpoint(dir)?.name, "vicuna");
      writeFileSync(join(dir, "tokenizer_config.json"), "{oops");
      assert.throws(() => templateForCheckpoint(dir), /tokenizer_config\.json: not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
