// Chat templates against transformers.js: for each shipped tokenizer_config.json, the text and
// the ids of a few conversations, with and without the generation prompt, are identical to
// @huggingface/transformers' apply_chat_template. Bad templates fail naming the file.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChatTemplate } from "../../src/tokenizer/chat_template.js";
import { HFTokenizer } from "../../src/tokenizer/hf/hf_tokenizer.js";
import { readTokenizerConfig } from "../../src/tokenizer/hf/tokenizer_config.js";
import { encodeChat, templateForCheckpoint } from "../../src/generate/templates.js";
import { readShipped, skipUnlessShipped, SHIPPED } from "./hf_reference.js";

interface ReferenceChatTokenizer {
  apply_chat_template(messages: object[], options: Record<string, unknown>): string | number[];
}
type TransformersModule = { PreTrainedTokenizer: new (json: unknown, config: unknown) => ReferenceChatTokenizer };

const transformers: TransformersModule | string = await import("@huggingface/transformers")
  .then((m) => m as unknown as TransformersModule)
  .catch((err: Error) => `dev dependency @huggingface/transformers is not installed (${err.message.split("\n")[0]})`);

const CONVERSATIONS: { role: "system" | "user" | "assistant"; content: string }[][] = [
  [{ role: "user", content: "Hello!" }],
  [
    { role: "system", content: "You answer in one short sentence." },
    { role: "user", content: "What is a tokenizer?" },
  ],
  [
    { role: "system", content: "Be kind." },
    { role: "user", content: "안녕하세요? 🎉" },
    { role: "assistant", content: "  Hi there — how can I help?  " },
    { role: "user", content: "Count: 1, 2, 3\n\nthen stop." },
  ],
  [
    { role: "user", content: "a" },
    { role: "assistant", content: "b" },
    { role: "user", content: "c" },
    { role: "assistant", content: "d" },
  ],
];

for (const name of SHIPPED) {
  const skip = typeof transformers === "string" ? transformers : skipUnlessShipped(name);
  describe(`chat_template of ${name} against transformers.js apply_chat_template`, { skip }, () => {
    // Both tokenizers are built once per file (the files are large).
    let ours: HFTokenizer, ref: ReferenceChatTokenizer, dir: string;
    const setup = (): void => {
      if (ours) return;
      const shipped = readShipped(name);
      dir = shipped.dir;
      ours = new HFTokenizer(shipped.json, shipped.config, join(dir, "tokenizer.json"));
      ref = new (transformers as TransformersModule).PreTrainedTokenizer(shipped.json, shipped.config);
    };

    test("same text and ids for each conversation, with and without the generation prompt", () => {
      setup();
      const template = ours.chatTemplate!;
      assert.ok(template, "the shipped config has a chat_template");
      for (const [i, conversation] of CONVERSATIONS.entries()) {
        for (const addGenerationPrompt of [true, false]) {
          const what = `conversation ${i}, add_generation_prompt ${addGenerationPrompt}`;
          const text = template.render(conversation, { addGenerationPrompt });
          assert.equal(text, ref.apply_chat_template(conversation, { tokenize: false, add_generation_prompt: addGenerationPrompt }), what);
          const refIds = ref.apply_chat_template(conversation, {
            add_generation_prompt: addGenerationPrompt,
            return_tensor: false,
            return_dict: false,
          });
          assert.deepEqual(ours.encodeAsIds(text), refIds, what);
        }
      }
    });

    test("the stop token is what the reference writes right after an assistant's words", () => {
      setup();
      const stop = ours.chatTemplate!.stop;
      assert.ok(stop.length > 0);
      const text = ref.apply_chat_template(
        [
          { role: "user", content: "q" },
          { role: "assistant", content: "the answer" },
        ],
        { tokenize: false },
      ) as string;
      assert.ok(text.includes(`the answer${stop[0]}`), `${JSON.stringify(text)} has "the answer${stop[0]}"`);
      assert.ok(ours.pieceToId(stop[0]!) >= 0 && ours.isSpecial(ours.pieceToId(stop[0]!)), `${stop[0]} is a special token`);
    });

    test("chat through encodeChat gives the same ids as apply_chat_template", () => {
      setup();
      const template = templateForCheckpoint(dir, ours)!;
      assert.equal(template.name, "chat_template");
      const conversation = CONVERSATIONS[2]!;
      const refIds = ref.apply_chat_template(conversation, { add_generation_prompt: true, return_tensor: false, return_dict: false });
      assert.deepEqual(encodeChat(ours, template, conversation), refIds);
    });
  });
}

describe("chat template errors name the file", () => {
  test("a template that cannot be parsed", () => {
    assert.throws(
      () => new ChatTemplate("{% for m in messages %}{{ m.content }", "x/tokenizer_config.json"),
      /x\/tokenizer_config\.json: chat_template cannot be parsed/,
    );
  });

  test("the template's own raise_exception, and unknown filters", () => {
    const t = new ChatTemplate(
      "{% if messages[0].role != 'user' %}{{ raise_exception('first message must be from the user') }}{% endif %}ok",
      "m/tokenizer_config.json",
    );
    assert.throws(
      () => t.render([{ role: "assistant", content: "x" }]),
      /m\/tokenizer_config\.json: chat_template: .*first message must be from the user/,
    );
    const f = new ChatTemplate("{{ messages[0].content | no_such_filter }}", "f/tokenizer_config.json");
    assert.throws(() => f.render([{ role: "user", content: "x" }]), /f\/tokenizer_config\.json: chat_template: .*no_such_filter/);
  });

  test("a list of named templates picks 'default'", () => {
    const config = readTokenizerConfig(
      {
        chat_template: [
          { name: "tool_use", template: "T" },
          { name: "default", template: "D{{ bos_token }}" },
        ],
        bos_token: "<s>",
      },
      "c.json",
    );
    assert.equal(ChatTemplate.fromConfig(config, "c.json")!.render([]), "D<s>");
    assert.throws(() => readTokenizerConfig({ chat_template: [{ name: 1 }] }, "c.json"), /c\.json: chat_template\[0\]: expected \{"name"/);
  });
});

describe("a SentencePiece checkpoint with a Jinja chat_template", () => {
  test("BOS / EOS text in the rendered prompt becomes the tokens; built-in formats are still recognised", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsgpt-chat-"));
    try {
      const chatml =
        "{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";
      writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ chat_template: chatml, bos_token: "<s>", eos_token: "</s>" }));
      const template = templateForCheckpoint(dir)!;
      assert.equal(template.name, "chat_template");
      assert.deepEqual(
        template.render([
          { role: "user", content: "hi" },
          { role: "assistant", content: "yo" },
          { role: "user", content: "ok" },
        ]),
        [
          { text: "<|user|>hi", bos: true, eos: true },
          { text: "<|assistant|>yo", bos: false, eos: true },
          { text: "<|user|>ok", bos: false, eos: true },
          { text: "<|assistant|>", bos: false, eos: false },
        ],
      );
      assert.deepEqual(template.stop, ["</s>"]);
      const fake = { encodeAsIds: (t: string) => Array.from(t, (c) => c.charCodeAt(0)), bosId: 1, eosId: 2 };
      assert.deepEqual(encodeChat(fake, template, [{ role: "user", content: "a" }]), [
        1,
        ..."<|user|>a".split("").map((c) => c.charCodeAt(0)),
        2,
        ..."<|assistant|>".split("").map((c) => c.charCodeAt(0)),
      ]);
      writeFileSync(
        join(dir, "tokenizer_config.json"),
        JSON.stringify({ chat_template: "{{ bos_token + '[INST] ' + messages[0].content + ' [/INST]' }}" }),
      );
      assert.equal(templateForCheckpoint(dir)!.name, "llama2");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
