// Instruction data: JSONL parsing with file:line errors, response-only labels checked against
// the templates' own encoding (encodeChat) and the real SentencePiece tokenizer, padded
// batches, and the dataset position for resume.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  InstructDataset,
  encodeInstructExample,
  encodeInstructExamples,
  instructBatch,
  readInstructJsonl,
  type EncodedExample,
} from "../../src/train/instruct.js";
import { IGNORE_INDEX } from "../../src/train/dataset.js";
import { encodeChat, getTemplate, type ChatMessage } from "../../src/generate/templates.js";
import { SentencePieceProcessor } from "../../src/tokenizer/index.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";

const dir = mkdtempSync(join(tmpdir(), "tsgpt-instruct-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeJsonl(name: string, lines: string[]): string {
  const p = join(dir, name);
  writeFileSync(p, lines.join("\n") + "\n");
  return p;
}

describe("reading JSONL", () => {
  test("Alpaca and chat records become conversations ending with the reply", () => {
    const p = writeJsonl("ok.jsonl", [
      JSON.stringify({ instruction: "Add 2 and 3.", input: "", output: "5" }),
      "",
      JSON.stringify({ instruction: "Translate.", input: "bonjour", output: "hello" }),
      JSON.stringify({
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Hi" },
          { role: "assistant", content: "Hello!" },
        ],
      }),
    ]);
    const ex = readInstructJsonl(p);
    assert.deepEqual(
      ex.map((e) => e.messages),
      [
        [
          { role: "user", content: "Add 2 and 3." },
          { role: "assistant", content: "5" },
        ],
        [
          { role: "user", content: "Translate.", input: "bonjour" },
          { role: "assistant", content: "hello" },
        ],
        [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Hi" },
          { role: "assistant", content: "Hello!" },
        ],
      ],
    );
    assert.deepEqual(
      ex.map((e) => e.source),
      [`${p}:1`, `${p}:3`, `${p}:4`],
    );
  });

  const bad: Array<[string, string, RegExp]> = [
    ["not json", "{ nope", /bad1\.jsonl:2: invalid JSON/],
    ["array", "[1, 2]", /bad2\.jsonl:2: expected a JSON object/],
    ["no output", JSON.stringify({ instruction: "x" }), /bad3\.jsonl:2: "output" must be a non-empty string/],
    ["bad role", JSON.stringify({ messages: [{ role: "bot", content: "x" }] }), /bad4\.jsonl:2: messages\[0\]: role must be/],
    [
      "ends with user",
      JSON.stringify({ messages: [{ role: "user", content: "x" }] }),
      /bad5\.jsonl:2: the last message must be the assistant's reply/,
    ],
    ["other keys", JSON.stringify({ text: "x" }), /bad6\.jsonl:2: expected "instruction" and "output".*"text"/],
  ];
  bad.forEach(([what, line, re], i) => {
    test(`bad record (${what}) names the file and line`, () => {
      const p = writeJsonl(`bad${i + 1}.jsonl`, [JSON.stringify({ instruction: "a", output: "b" }), line]);
      assert.throws(() => readInstructJsonl(p), re);
    });
  });

  test("a missing or empty file is an error naming it", () => {
    assert.throws(() => readInstructJsonl(join(dir, "missing.jsonl")), /missing\.jsonl: cannot read/);
    assert.throws(() => readInstructJsonl(writeJsonl("empty.jsonl", [""])), /empty\.jsonl: no examples/);
  });
});

const TOKENIZER = ["testdata", "tokenizer", "llama2.model"];

describe("response-only labels", { skip: skipUnlessShared(...TOKENIZER) }, () => {
  const tok = () => SentencePieceProcessor.load(sharedPath(...TOKENIZER));

  /** The ids whose labels are kept, decoded. */
  const learned = (sp: SentencePieceProcessor, e: EncodedExample) => sp.decode(e.labels.filter((l) => l !== IGNORE_INDEX));

  for (const name of ["alpaca", "llama2", "vicuna"] as const) {
    test(`${name}: the prompt is exactly what generation would feed (encodeChat), the labels are the reply + EOS`, () => {
      const sp = tok();
      const t = getTemplate(name);
      const prompt: ChatMessage[] = [{ role: "user", content: "Name a color." }];
      const e = encodeInstructExample(sp, t, [...prompt, { role: "assistant", content: "Blue is a color." }]);
      const promptIds = encodeChat(sp, t, prompt);
      assert.deepEqual(e.ids.slice(0, promptIds.length), promptIds);
      assert.ok(
        e.labels.slice(0, promptIds.length).every((l) => l === IGNORE_INDEX),
        "no loss on the prompt",
      );
      assert.ok(
        e.labels.slice(promptIds.length).every((l, i) => l === e.ids[promptIds.length + i]),
        "loss on every reply token",
      );
      assert.equal(e.ids[e.ids.length - 1], sp.eosId);
      assert.equal(learned(sp, e).trim(), "Blue is a color.");
    });
  }

  test("multi-turn chat: every assistant reply is learned, user turns are not", () => {
    const sp = tok();
    const e = encodeInstructExample(sp, getTemplate("vicuna"), [
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello there" },
      { role: "user", content: "Name a color." },
      { role: "assistant", content: "Blue" },
    ]);
    const text = learned(sp, e);
    assert.match(text, /Hello there/);
    assert.match(text, /Blue/);
    assert.doesNotMatch(text, /Hi|color|USER/);
  });

  test("long examples are cut to the context; prompt-only ones are dropped", () => {
    const sp = tok();
    const t = getTemplate("alpaca");
    const ex = (instruction: string, output: string, source: string) => ({
      messages: [
        { role: "user" as const, content: instruction },
        { role: "assistant" as const, content: output },
      ],
      source,
    });
    const set = encodeInstructExamples(sp, t, [ex("Hi", "a b c d e f g h i j k l m n o p", "a:1"), ex("x ".repeat(100), "y", "a:2")], {
      maxLength: 48,
    });
    assert.deepEqual(set.dropped, ["a:2"]);
    assert.equal(set.truncated, 2);
    assert.equal(set.examples[0]!.ids.length, 49);
  });
});

describe("batches", () => {
  const examples: EncodedExample[] = [
    { ids: [1, 10, 11, 12, 2], labels: [-100, -100, 11, 12, 2] },
    { ids: [1, 20, 21], labels: [-100, -100, 21] },
  ];

  test("right padding, attention mask, targets shifted with −100 on prompts and pads", () => {
    const b = instructBatch(examples, 0);
    assert.deepEqual(b.inputIds.shape, [2, 4]);
    assert.deepEqual([...b.inputIds.data()], [1, 10, 11, 12, 1, 20, 0, 0]);
    assert.deepEqual([...b.targets.data()], [-100, 11, 12, 2, -100, 21, -100, -100]);
    assert.deepEqual([...b.attentionMask!.data()], [1, 1, 1, 1, 1, 1, 0, 0]);
    assert.equal(b.tokens, 4);
  });

  test("the dataset position restores the exact batch sequence", () => {
    const many = Array.from({ length: 7 }, (_, i) => ({ ids: [1, i + 3, i + 4], labels: [-100, i + 3, i + 4] }));
    const a = new InstructDataset(many, { batchSize: 3, seed: 5 });
    for (let i = 0; i < 4; i++) a.nextBatch();
    const state = a.getState();
    const next = [a.nextBatch(), a.nextBatch()].map((b) => [...b.inputIds.data()]);
    const b = new InstructDataset(many, { batchSize: 3, seed: 5 });
    b.setState(JSON.parse(JSON.stringify(state)));
    assert.deepEqual(
      [b.nextBatch(), b.nextBatch()].map((x) => [...x.inputIds.data()]),
      next,
    );
    // Every example is seen once per epoch.
    const c = new InstructDataset(many, { batchSize: 7, seed: 9 });
    assert.deepEqual(
      [...c.nextBatch().inputIds.data()].filter((_, i) => i % 2 === 1).sort((x, y) => x - y),
      [3, 4, 5, 6, 7, 8, 9],
    );
  });
});
