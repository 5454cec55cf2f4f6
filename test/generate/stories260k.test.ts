// End-to-end generation with a real pretrained model: llama2.c's stories260K.
//
// The key check: greedy generation from "Once upon a time" reproduces, token for token and
// character for character, what llama2.c's run.c printed (greedy_once_upon_a_time.json).
// run.c feeds BOS + the prompt, counts 256 positions in all (so 256 - 5 + 1 = 252 new tokens),
// stops early only if it produces BOS (id 1), and prints the prompt, the continuation and "\n".
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { TextGenerator } from "../../src/generate/text_generator.js";
import type { GenerationResult } from "../../src/generate/generate.js";
import { availableBackends, getBackend, setBackend } from "../../src/backend/index.js";

const skip = skipUnlessShared("models", "stories260K", "stories260K.bin");
const REF = "greedy_once_upon_a_time.json";

interface Reference {
  prompt: string;
  steps: number;
  text: string;
  ids_after_bos: number[];
}

describe("stories260K generation", { skip }, () => {
  const load = () =>
    TextGenerator.load(sharedPath("models", "stories260K", "stories260K.bin"), {
      tokenizerPath: sharedPath("models", "stories260K", "tok512.model"),
    });
  let gen: Promise<TextGenerator> | undefined;
  const get = () => (gen ??= load());

  for (const backend of availableBackends()) {
    test(`greedy 256 steps equals llama2.c run.c exactly (ids and text), ${backend} backend`, async () => {
      const ref = JSON.parse(readFileSync(sharedPath("models", "stories260K", REF), "utf8")) as Reference;
      const g = await get();
      const promptIds = g.tokenizer.encodeAsIds(ref.prompt);
      const maxNewTokens = ref.steps - (promptIds.length + 1) + 1;
      const before = getBackend().name;
      setBackend(backend);
      try {
        const r = await g.generate(ref.prompt, { temperature: 0, maxNewTokens, eosTokenId: 1 });
        assert.deepEqual([...promptIds, ...r.tokens], ref.ids_after_bos);
        assert.equal(ref.prompt + r.text + "\n", ref.text);
        assert.equal(r.finishReason, "length");
      } finally {
        setBackend(before);
      }
    });
  }

  test("streaming yields the same text, piece by piece", async () => {
    const g = await get();
    const whole = await g.generate("Once upon a time", { temperature: 0, maxNewTokens: 60 });
    const s = g.stream("Once upon a time", { temperature: 0, maxNewTokens: 60 });
    const pieces: string[] = [];
    for await (const p of s) pieces.push(p);
    assert.ok(pieces.length > 10);
    assert.equal(pieces.join(""), whole.text);
    assert.deepEqual((await s.result).tokens, whole.tokens);
  });

  test("a batch of prompts of different lengths gives each prompt's own output (greedy and sampled)", async () => {
    const g = await get();
    const prompts = ["Once upon a time", "Lily", "The big dog saw a little cat in the garden and"];
    for (const opts of [{ temperature: 0 }, { temperature: 0.9, topK: 40, topP: 0.95, seed: 11 }]) {
      const batched = await g.generateBatch(prompts, { ...opts, maxNewTokens: 40 });
      for (let i = 0; i < prompts.length; i++) {
        const alone = await g.generate(prompts[i]!, { ...opts, maxNewTokens: 40 });
        assert.deepEqual(batched[i]!.tokens, alone.tokens, `prompt ${i} (${JSON.stringify(opts)})`);
        assert.equal(batched[i]!.text, alone.text);
        for (let t = 0; t < alone.logprobs.length; t++) {
          assert.ok(Math.abs(batched[i]!.logprobs[t]!.logprob - alone.logprobs[t]!.logprob) < 1e-4);
        }
      }
    }
  });

  test("each row of a batch stops on its own (EOS, stop string, maxNewTokens)", async () => {
    const g = await get();
    const alone = await g.generate("Once upon a time", { temperature: 0, maxNewTokens: 30 });
    const eosToken = alone.tokens[5]!; // pretend this token is EOS: generation ends before it
    const stop = "girl";
    const results = await g.generateBatch(["Once upon a time", "Lily", "Once upon a time"], {
      temperature: 0,
      maxNewTokens: 30,
      eosTokenId: eosToken,
    });
    assert.equal(results[0]!.finishReason, "eos");
    assert.deepEqual(results[0]!.tokens, alone.tokens.slice(0, 5));
    assert.equal(results[2]!.finishReason, "eos");
    const lily = await g.generate("Lily", { temperature: 0, maxNewTokens: 30, eosTokenId: eosToken });
    assert.deepEqual(results[1]!.tokens, lily.tokens);
    assert.equal(results[1]!.finishReason, lily.finishReason);
    const withStop = await g.generateBatch(["Once upon a time", "Lily"], { temperature: 0, maxNewTokens: 30, stop });
    assert.equal(withStop[0]!.finishReason, "stop");
    assert.equal(withStop[0]!.text, alone.text.slice(0, alone.text.indexOf(stop)));
    const lilyAlone = await g.generate("Lily", { temperature: 0, maxNewTokens: 30, stop });
    assert.equal(withStop[1]!.text, lilyAlone.text);
    assert.equal(withStop[1]!.finishReason, lilyAlone.finishReason);
    const short = await g.generate("Once upon a time", { temperature: 0, maxNewTokens: 7 });
    assert.equal(short.tokens.length, 7);
    assert.equal(short.finishReason, "length");
  });

  test("a stop string is never shown, not even its beginning", async () => {
    const g = await get();
    const alone = await g.generate("Once upon a time", { temperature: 0, maxNewTokens: 30 });
    const stop = "named Li";
    const s = g.stream("Once upon a time", { temperature: 0, maxNewTokens: 30, stop: [stop, "zzz"] });
    let shown = "";
    for await (const p of s) shown += p;
    const r = await s.result;
    assert.equal(shown, alone.text.slice(0, alone.text.indexOf(stop)));
    assert.equal(r.text, shown);
    assert.equal(r.finishReason, "stop");
    assert.ok(!shown.includes("named"));
  });

  test("abort during prompt processing and between tokens", async () => {
    const g = await get();
    const longPrompt = "Once upon a time, there was a little girl named Lily. ".repeat(8);
    const ac = new AbortController();
    let chunks = 0;
    await assert.rejects(
      g.generate(longPrompt, {
        temperature: 0,
        maxNewTokens: 5,
        prefillChunkSize: 8,
        signal: ac.signal,
        onPrefill: () => {
          chunks++;
          ac.abort();
        },
      }),
      (err: Error) => err.name === "AbortError",
    );
    assert.equal(chunks, 1, "prefill stops at the next chunk");

    // Aborted by a timer while prompt processing is under way: the loop yields to let it fire.
    const timed = new AbortController();
    let seen = 0;
    let total = 0;
    const started = g.generate(longPrompt, {
      temperature: 0,
      maxNewTokens: 5,
      prefillChunkSize: 1,
      signal: timed.signal,
      onPrefill: (done, all) => {
        seen = done;
        total = all;
        if (done === 3) setTimeout(() => timed.abort(), 0);
      },
    });
    await assert.rejects(started, (err: Error) => err.name === "AbortError");
    assert.ok(total > 50 && seen < total, `prefill went on to ${seen} of ${total} tokens after the abort`);

    const between = new AbortController();
    const s = g.stream("Once upon a time", { temperature: 0, maxNewTokens: 100, signal: between.signal });
    let pieces = 0;
    await assert.rejects(
      (async () => {
        for await (const _ of s) if (++pieces === 3) between.abort();
      })(),
      (err: Error) => err.name === "AbortError",
    );
    assert.equal(pieces, 3);
    await assert.rejects(s.result, (err: Error) => err.name === "AbortError");

    await assert.rejects(g.generate("x", { signal: AbortSignal.abort() }), (err: Error) => err.name === "AbortError");
  });

  test("leaving a stream early stops generation", async () => {
    const g = await get();
    const s = g.stream("Once upon a time", { temperature: 0, maxNewTokens: 100 });
    for await (const _ of s) break;
    await assert.rejects(s.result, /closed before the end/);
  });

  test("same seed, same text; reports the KV cache size before allocating", async () => {
    const g = await get();
    const info: string[] = [];
    const opts = { temperature: 1, topP: 0.9, maxNewTokens: 40, seed: 42 };
    const a = await g.generate("Once upon a time", { ...opts, onInfo: (m) => info.push(m) });
    const b = await g.generate("Once upon a time", opts);
    const c = await g.generate("Once upon a time", { ...opts, seed: 43 });
    assert.equal(a.text, b.text);
    assert.notEqual(a.text, c.text);
    assert.equal(a.seed, 42);
    // 5 prompt tokens + 40 new - 1 (the last token is never fed back) = 44 positions, kv dim 4 × 8.
    assert.deepEqual(info, ["KV cache: 2 × 5 layers × 44 positions × 32 × 4 bytes = 56.3 kB"]);
  });

  test("log-probabilities of chosen tokens and top alternatives", async () => {
    const g = await get();
    const r: GenerationResult = await g.generate("Once upon a time", { temperature: 0, maxNewTokens: 10, topLogprobs: 5 });
    assert.equal(r.logprobs.length, 10);
    for (const lp of r.logprobs) {
      assert.equal(lp.top.length, 5);
      assert.equal(lp.top[0]!.token, lp.token, "greedy picks the most likely token");
      assert.equal(lp.top[0]!.logprob, lp.logprob);
      for (let i = 1; i < 5; i++) assert.ok(lp.top[i]!.logprob <= lp.top[i - 1]!.logprob);
      const mass = lp.top.reduce((s, t) => s + Math.exp(t.logprob), 0);
      assert.ok(lp.logprob <= 0 && mass <= 1 + 1e-9);
    }
  });

  test("a prompt longer than the context is refused; the cache is capped by the context", async () => {
    const g = await get();
    const tooLong = Array.from({ length: 600 }, () => 300);
    await assert.rejects(g.generate(tooLong, { maxNewTokens: 1 }), /600 tokens, more than the model's context of 512/);
    const info: string[] = [];
    const r = await g.generate(
      Array.from({ length: 505 }, (_, i) => (i === 0 ? 1 : 300 + (i % 50))),
      { temperature: 0, maxNewTokens: 100, onInfo: (m) => info.push(m), eosTokenId: [] },
    );
    assert.match(info[0]!, /512 positions/);
    assert.equal(r.finishReason, "length");
    assert.equal(r.tokens.length, 8); // 505 + 8 - 1 = 512 positions
  });
});
