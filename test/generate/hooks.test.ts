// The generation loop's hooks: user logits processors (run after the penalties, before
// temperature and the cuts) and onToken (every chosen token of every row, in order).
// A tiny random Llama and a tokenizer stand-in whose token j reads "<j>", so a stop string
// can name a token exactly.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { DecoderModel } from "../../src/generate/decoder.js";
import { generate, generateBatch, stream, type GenerationTokenizer, type TokenEvent } from "../../src/generate/generate.js";
import { processLogits, resolveSamplingOptions, type LogitsContext, type LogitsProcessor } from "../../src/generate/sampling.js";
import { TextGenerator } from "../../src/generate/text_generator.js";
import { tinyLlama } from "./tiny_models.js";

const V = 40;
const EOS = 2;

const tokenizer: GenerationTokenizer = {
  encodeAsIds: (text) => Array.from(text, (ch) => 3 + (ch.codePointAt(0)! % (V - 3))),
  decode: (ids) => ids.map((id) => `<${id}>`).join(""),
  bosId: 1,
  eosId: EOS,
  vocabSize: V,
  createStreamDecoder: () => ({ push: (id) => `<${id}>`, flush: () => "" }),
};

const model = DecoderModel.fromCheckpoint(tinyLlama(7, { vocab: V, context: 256 }));

/** Bans `token` everywhere. */
const ban =
  (token: number): LogitsProcessor =>
  (logits) => {
    logits[token] = -Infinity;
  };

/** Leaves only `token` drawable. */
function force(logits: Float32Array, token: number): void {
  logits.fill(-Infinity);
  logits[token] = 0;
}

function mostFrequent(ids: readonly number[]): { token: number; count: number } {
  const counts = new Map<number, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  const [token, count] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
  return { token, count };
}

describe("logitsProcessors", () => {
  const sampled = { maxNewTokens: 200, temperature: 1.5, seed: 3, eosTokenId: [] as number[] };

  test("a processor that bans a token: sampled, it is never drawn", async () => {
    const plain = await generate(model, tokenizer, "hello", sampled);
    const top = mostFrequent(plain.tokens);
    assert.ok(top.count >= 10, `the unbanned run draws token ${top.token} ${top.count} times`);
    const banned = await generate(model, tokenizer, "hello", { ...sampled, logitsProcessors: [ban(top.token)] });
    assert.equal(banned.tokens.length, 200);
    assert.ok(!banned.tokens.includes(top.token), `token ${top.token} was banned but drawn`);
  });

  test("a processor that bans a token: greedy decoding takes the next best", async () => {
    const greedy = { maxNewTokens: 30, temperature: 0, eosTokenId: [] as number[] };
    const plain = await generate(model, tokenizer, "hello", greedy);
    const first = plain.tokens[0]!;
    const banned = await generate(model, tokenizer, "hello", { ...greedy, logitsProcessors: [ban(first)] });
    assert.ok(!banned.tokens.includes(first));
    // The runner-up of the first step, from the model's own logits (onToken hands them over).
    let firstLogits: Float32Array | undefined;
    await generate(model, tokenizer, "hello", {
      ...greedy,
      maxNewTokens: 1,
      onToken: (e) => {
        firstLogits ??= Float32Array.from(e.logits);
      },
    });
    const order = [...firstLogits!.keys()].sort((a, b) => firstLogits![b]! - firstLogits![a]!);
    assert.equal(order[0], first);
    assert.equal(banned.tokens[0], order[1]);
  });

  test("processors see the logits after repetition, frequency and presence penalties, before temperature and top-k", async () => {
    const penalties = { repetitionPenalty: 1.3, frequencyPenalty: 0.8, presencePenalty: 0.5 };
    const raw: Float32Array[] = [];
    const seen: { logits: Float32Array; context: LogitsContext }[] = [];
    const spy: LogitsProcessor = (logits, context) => {
      seen.push({ logits: Float32Array.from(logits), context: { ...context, generatedIds: [...context.generatedIds] } });
    };
    const r = await generate(model, tokenizer, "abcab", {
      ...penalties,
      temperature: 0.7,
      topK: 3,
      seed: 11,
      maxNewTokens: 12,
      eosTokenId: [],
      logitsProcessors: [spy],
      onToken: (e) => raw.push(Float32Array.from(e.logits)),
    });
    assert.equal(seen.length, 12);
    const prompt = [tokenizer.bosId, ...tokenizer.encodeAsIds("abcab")];
    seen.forEach(({ logits, context }, step) => {
      assert.equal(context.row, 0);
      assert.equal(context.step, step);
      assert.deepEqual(context.promptIds, prompt);
      assert.deepEqual(context.generatedIds, r.tokens.slice(0, step));
      // Reference, written from the definitions: HF's repetition penalty over prompt + generated,
      // then OpenAI's count-based penalties over the generated tokens only.
      const expected = Array.from(raw[step]!);
      for (const t of new Set([...prompt, ...context.generatedIds]))
        expected[t] = expected[t]! > 0 ? expected[t]! / 1.3 : expected[t]! * 1.3;
      for (const t of context.generatedIds) expected[t] = expected[t]! - 0.8;
      for (const t of new Set(context.generatedIds)) expected[t] = expected[t]! - 0.5;
      expected.forEach((e, i) => assert.ok(Math.abs(logits[i]! - e) < 1e-5, `step ${step}, token ${i}: ${logits[i]} vs ${e}`));
      // Not cut by top-k, not divided by temperature (the penalties left some logits untouched).
      assert.ok(
        logits.every((l) => Number.isFinite(l)),
        "no token cut yet",
      );
      const untouched = expected.findIndex((_, i) => !prompt.includes(i) && !context.generatedIds.includes(i));
      assert.equal(logits[untouched], raw[step]![untouched]);
    });
  });

  test("what a processor does is then divided by temperature and cut by top-k", () => {
    const L = Float32Array.from([1, 2, 3, 4]);
    const o = resolveSamplingOptions({ temperature: 2, topK: 1 });
    const boost: LogitsProcessor = (logits) => {
      logits[0] = 10;
    };
    assert.deepEqual(Array.from(processLogits(L, o, [], [boost])), [5, -Infinity, -Infinity, -Infinity]);
    // Greedy decoding runs them too.
    assert.deepEqual(Array.from(processLogits(L, resolveSamplingOptions({ temperature: 0 }), [], [boost])), [10, 2, 3, 4]);
  });

  test("processors run in the order given, each seeing the previous one's edits", () => {
    const calls: string[] = [];
    const first: LogitsProcessor = (l) => {
      calls.push("first");
      l[1] = 7;
    };
    const second: LogitsProcessor = (l) => {
      calls.push(`second saw ${l[1]}`);
      l[1] = l[1]! * 2;
    };
    const out = processLogits(Float32Array.from([0, 1, 2]), resolveSamplingOptions({}), [], [first, second]);
    assert.deepEqual(calls, ["first", "second saw 7"]);
    assert.equal(out[1], 14);
  });

  test("a processor that boosts a token makes it the only one top-k 1 keeps, at every step", async () => {
    const r = await generate(model, tokenizer, "hello", {
      topK: 1,
      temperature: 1,
      seed: 1,
      maxNewTokens: 10,
      eosTokenId: [],
      logitsProcessors: [
        (l) => {
          l[17] = l[17]! + 1000;
        },
      ],
    });
    assert.deepEqual(r.tokens, new Array(10).fill(17));
  });

  test("bad processors are refused with a clear error", async () => {
    const returns = ((l: Float32Array) => l.map((x) => x)) as unknown as LogitsProcessor;
    await assert.rejects(
      generate(model, tokenizer, "hi", { logitsProcessors: [returns] }),
      /logitsProcessors\[0\] returned a value.*in place/,
    );
    await assert.rejects(
      generate(model, tokenizer, "hi", { logitsProcessors: [ban(3), 5 as unknown as LogitsProcessor] }),
      /logitsProcessors\[1\]: expected a function/,
    );
    await assert.rejects(generate(model, tokenizer, "hi", { onToken: "x" as unknown as () => void }), /onToken: expected a function/);
  });
});

describe("onToken", () => {
  // Row 0 ends on EOS at step 3, row 2 completes the stop string "<9>" at step 4, row 3 ends on
  // EOS at step 6, row 1 runs to maxNewTokens; elsewhere EOS and the stop token are banned.
  const plan: LogitsProcessor = (logits, { row, step }) => {
    if ((row === 0 && step === 3) || (row === 3 && step === 6)) return force(logits, EOS);
    if (row === 2 && step === 4) return force(logits, 9);
    logits[EOS] = -Infinity;
    logits[9] = -Infinity;
  };
  const options = { maxNewTokens: 9, temperature: 1.2, seed: 5, topLogprobs: 2, stop: "<9>", logitsProcessors: [plan] };
  const prompts = ["hello", "a", "the cat", "xyz"];

  test("a batch whose rows stop at different times: every row's ids, in order, with EOS marked", async () => {
    const events: TokenEvent[] = [];
    const results = await generateBatch(model, tokenizer, prompts, {
      ...options,
      onToken: (e) => events.push({ ...e, logits: Float32Array.from(e.logits) }),
    });
    assert.deepEqual(
      results.map((r) => r.finishReason),
      ["eos", "length", "stop", "eos"],
    );
    assert.deepEqual(
      results.map((r) => r.tokens.length),
      [3, 9, 5, 6],
    );
    for (let i = 1; i < events.length; i++) assert.ok(events[i]!.step >= events[i - 1]!.step, "events come step by step");
    results.forEach((r, row) => {
      const mine = events.filter((e) => e.row === row);
      const generated = mine.filter((e) => !e.eos);
      assert.deepEqual(
        generated.map((e) => e.token),
        r.tokens,
        `row ${row}: the generated ids`,
      );
      assert.deepEqual(
        mine.map((e) => e.step),
        mine.map((_, i) => i),
        `row ${row}: steps 0, 1, …`,
      );
      generated.forEach((e, i) => {
        assert.equal(e.logprob, r.logprobs[i]!.logprob);
        assert.deepEqual(e.top, r.logprobs[i]!.top);
        assert.equal(e.top.length, 2);
      });
      const ending = r.finishReason === "eos";
      assert.equal(mine.length, r.tokens.length + (ending ? 1 : 0));
      assert.deepEqual(
        mine.map((e) => e.eos),
        mine.map((_, i) => ending && i === mine.length - 1),
      );
      if (ending) assert.equal(mine.at(-1)!.token, EOS);
      assert.deepEqual(
        mine.map((e) => e.finishReason),
        mine.map((_, i) => (i === mine.length - 1 ? r.finishReason : null)),
      );
    });
    // The logits handed over are the model's (masked), not the processed ones: no -Infinity from the plan.
    assert.ok(events.every((e) => e.logits.every(Number.isFinite)));
  });

  test("streaming: each token is reported before its text is released; TextGenerator passes the hooks on", async () => {
    const seen: number[] = [];
    const s = stream(model, tokenizer, "hello", { ...options, onToken: (e) => seen.push(e.token) });
    let text = "";
    for await (const piece of s) {
      text += piece;
      assert.equal(
        text,
        seen
          .filter((t) => t !== EOS)
          .map((t) => `<${t}>`)
          .join(""),
        "the text of every reported token, no more",
      );
    }
    assert.deepEqual(seen.slice(0, -1), (await s.result).tokens);
    assert.equal(seen.at(-1), EOS);

    const gen = new TextGenerator(model, tokenizer);
    const viaGenerator: number[] = [];
    const r = await gen.generate("hello", { ...options, onToken: (e) => viaGenerator.push(e.token) });
    assert.deepEqual(viaGenerator, seen);
    assert.deepEqual(r.tokens, seen.slice(0, -1));
  });

  test("an error thrown by onToken ends the generation with that error", async () => {
    const boom = new Error("stop here");
    await assert.rejects(
      generate(model, tokenizer, "hi", {
        maxNewTokens: 5,
        // No end-of-sequence stop and a fixed seed: step 2 is always reached (a random seed
        // could sample the end of the sequence first, and then nothing would throw).
        eosTokenId: [],
        seed: 1,
        onToken: (e) => {
          if (e.step === 2) throw boom;
        },
      }),
      (err) => err === boom,
    );
  });
});
