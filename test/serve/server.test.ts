// The HTTP API against the generation library itself: the same prompt, seed and settings give
// the same text, tokens and log-probabilities through the server as through TextGenerator.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { encodeChat, getTemplate } from "../../src/generate/index.js";
import { encodeBatch } from "../../src/tokenizer/index.js";
import { sharedPath } from "../helpers/shared.js";
import { parseSse, post, skip, startServer, tokenizer, type Running } from "./fixture.js";

describe("serve: OpenAI-compatible API on stories260K", { skip }, () => {
  let s: Running;
  before(async () => {
    s = await startServer();
  });
  after(async () => {
    await s?.handle.close();
  });

  test("greedy completion continues the prompt as llama2.c's reference output does", async () => {
    const ref = JSON.parse(readFileSync(sharedPath("models", "stories260K", "greedy_once_upon_a_time.json"), "utf8")) as {
      prompt: string;
      text: string;
    };
    const r = await post(`${s.url}/v1/completions`, { model: "stories260K", prompt: ref.prompt, max_tokens: 40, temperature: 0 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, "text_completion");
    assert.equal(r.json.choices[0].finish_reason, "length");
    assert.equal(r.json.usage.completion_tokens, 40);
    assert.ok(ref.text.startsWith(ref.prompt + r.json.choices[0].text), `got ${JSON.stringify(r.json.choices[0].text)}`);
  });

  test("sampled completion with a seed equals TextGenerator.generate with the same settings, logprobs included", async () => {
    const settings = { temperature: 0.9, topK: 20, topP: 0.9, minP: 0.02, maxNewTokens: 30, seed: 1234, topLogprobs: 3 };
    const expected = await s.gen.generate("The little dog", settings);
    const r = await post(`${s.url}/v1/completions`, {
      prompt: "The little dog",
      temperature: 0.9,
      top_k: 20,
      top_p: 0.9,
      min_p: 0.02,
      max_tokens: 30,
      seed: 1234,
      logprobs: 3,
    });
    assert.equal(r.status, 200, r.text);
    const choice = r.json.choices[0];
    assert.equal(choice.text, expected.text);
    assert.equal(r.json.usage.completion_tokens, expected.tokens.length);
    assert.equal(r.json.usage.prompt_tokens, expected.promptTokens);
    const lp = choice.logprobs;
    assert.equal(lp.token_logprobs.length, expected.tokens.length);
    expected.logprobs.forEach((e, i) => {
      assert.ok(Math.abs(lp.token_logprobs[i] - e.logprob) < 1e-9, `token ${i}`);
      const tops = Object.values(lp.top_logprobs[i]) as number[];
      assert.ok(Math.abs(tops[0]! - e.top[0]!.logprob) < 1e-9, `top of token ${i}`);
    });
    assert.equal(lp.tokens.join(""), choice.text, "the tokens spell the text");
    assert.deepEqual(
      lp.text_offset,
      lp.tokens.map((_: string, i: number) => lp.tokens.slice(0, i).join("").length),
    );
  });

  test("streamed chunks add up to the non-streamed text, end with finish_reason, usage and [DONE]", async () => {
    const body = { prompt: "Once upon a time", max_tokens: 25, seed: 7, temperature: 0.8 };
    const whole = await post(`${s.url}/v1/completions`, body);
    const r = await post(`${s.url}/v1/completions`, { ...body, stream: true, stream_options: { include_usage: true } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /^text\/event-stream/);
    const { events, done } = parseSse(r.text);
    assert.ok(done, "ends with data: [DONE]");
    const text = events
      .filter((e) => e.choices.length)
      .map((e) => e.choices[0].text)
      .join("");
    assert.equal(text, whole.json.choices[0].text);
    assert.equal(events.at(-2).choices[0].finish_reason, "length");
    assert.deepEqual(events.at(-1).usage, whole.json.usage);
    assert.ok(events.length > 5, "several chunks");
  });

  test("n > 1 gives n choices with seeds seed, seed + 1, …", async () => {
    const r = await post(`${s.url}/v1/completions`, { prompt: "Lily", max_tokens: 12, seed: 50, n: 2 });
    assert.equal(r.status, 200, r.text);
    for (const i of [0, 1]) {
      const expected = await s.gen.generate("Lily", { maxNewTokens: 12, seed: 50 + i });
      assert.equal(r.json.choices[i].index, i);
      assert.equal(r.json.choices[i].text, expected.text);
    }
  });

  test("stop strings end the text before them", async () => {
    const full = await s.gen.generate("Once upon a time", { temperature: 0, maxNewTokens: 40 });
    const stop = " girl";
    assert.ok(full.text.includes(stop));
    const r = await post(`${s.url}/v1/completions`, { prompt: "Once upon a time", temperature: 0, max_tokens: 40, stop: [stop] });
    assert.equal(r.json.choices[0].text, full.text.slice(0, full.text.indexOf(stop)));
    assert.equal(r.json.choices[0].finish_reason, "stop");
  });

  test("chat renders the messages with the template and answers like generate on the same ids", async () => {
    const messages = [
      { role: "system" as const, content: "Tell a story." },
      { role: "user" as const, content: "A cat and a dog." },
    ];
    const template = getTemplate("llama2");
    const ids = encodeChat(tokenizer(s.gen), template, messages);
    const expected = await s.gen.generate(ids, { temperature: 0, maxNewTokens: 20, stop: template.stop });
    const r = await post(`${s.url}/v1/chat/completions`, { model: "stories260K", messages, temperature: 0, max_tokens: 20 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, "chat.completion");
    assert.equal(r.json.choices[0].message.role, "assistant");
    assert.equal(r.json.choices[0].message.content, expected.text.trimStart());
    assert.equal(r.json.usage.prompt_tokens, ids.length);

    const st = await post(`${s.url}/v1/chat/completions`, {
      messages,
      temperature: 0,
      max_tokens: 20,
      stream: true,
      logprobs: true,
      top_logprobs: 2,
    });
    const { events, done } = parseSse(st.text);
    assert.ok(done);
    assert.equal(events[0].choices[0].delta.role, "assistant");
    assert.equal(events.map((e) => e.choices[0].delta.content ?? "").join(""), expected.text.trimStart());
    const lps = events.flatMap((e) => e.choices[0].logprobs?.content ?? []);
    assert.equal(lps.length, expected.tokens.length);
    lps.forEach((l: { logprob: number; top_logprobs: unknown[] }, i: number) => {
      assert.ok(Math.abs(l.logprob - expected.logprobs[i]!.logprob) < 1e-9);
      assert.equal(l.top_logprobs.length, 2);
    });
  });

  test("frequency and presence penalties follow OpenAI's formula (checked against a hand-written decode loop)", async () => {
    const gen = s.gen;
    const prompt = [tokenizer(gen).bosId, ...gen.tokenizer.encodeAsIds("Once upon a time")];
    const freq = 1.5,
      pres = 0.7,
      steps = 30;
    // Reference: greedy decoding, subtracting freq × count + pres × [count > 0] from each logit.
    const cache = gen.model.createCache(1, prompt.length + steps);
    let logits = gen.model.forward(
      cache,
      Int32Array.from(prompt),
      Int32Array.from(prompt.keys()),
      new Uint8Array(prompt.length).fill(1),
      prompt.length,
    );
    const counts = new Map<number, number>();
    const out: number[] = [];
    for (let i = 0; i < steps; i++) {
      const adjusted = Array.from(logits, (l, t) => l - freq * (counts.get(t) ?? 0) - (counts.has(t) ? pres : 0));
      const next = adjusted.indexOf(Math.max(...adjusted));
      if (next === gen.tokenizer.eosId) break;
      out.push(next);
      counts.set(next, (counts.get(next) ?? 0) + 1);
      logits = gen.model.forward(cache, Int32Array.of(next), Int32Array.of(prompt.length + i), Uint8Array.of(1), 1);
    }
    const r = await post(`${s.url}/v1/completions`, {
      prompt,
      temperature: 0,
      max_tokens: steps,
      frequency_penalty: freq,
      presence_penalty: pres,
    });
    assert.equal(r.status, 200, r.text);
    const plain = await gen.generate(prompt, { temperature: 0, maxNewTokens: steps });
    assert.notEqual(plain.text, r.json.choices[0].text, "the penalties change this text");
    const decoder = gen.tokenizer.createStreamDecoder();
    for (const id of prompt) decoder.push(id);
    const expected = out.map((id) => decoder.push(id)).join("") + decoder.flush();
    assert.equal(r.json.choices[0].text, expected);
  });

  test("/tokenize, batch /tokenize and /detokenize agree with the SentencePiece processor", async () => {
    const sp = tokenizer(s.gen);
    const one = await post(`${s.url}/tokenize`, { prompt: "Hello world, 123" });
    assert.deepEqual(one.json.tokens, [sp.bosId, ...sp.encodeAsIds("Hello world, 123")]);
    assert.deepEqual(
      one.json.pieces,
      one.json.tokens.map((id: number) => sp.idToPiece(id)),
    );
    assert.equal(one.json.count, one.json.tokens.length);
    const texts = ["Once upon a time", "Hi", "The end."];
    const batch = await post(`${s.url}/tokenize`, { prompts: texts, padding_side: "left" });
    const expected = encodeBatch(sp, texts, { padding: "longest", paddingSide: "left", padId: batch.json.pad_id, addBos: true });
    assert.deepEqual(batch.json.input_ids, expected.inputIds);
    assert.deepEqual(batch.json.attention_mask, expected.attentionMask);
    assert.deepEqual(batch.json.lengths, expected.lengths);
    const de = await post(`${s.url}/detokenize`, { tokens: one.json.tokens });
    assert.equal(de.json.prompt, sp.decode(one.json.tokens));
  });

  test("the playground stream explains every step, and its tokens are those generate draws", async () => {
    const expected = await s.gen.generate("Once upon a time", { maxNewTokens: 15, seed: 3, topK: 5, temperature: 1.2 });
    const r = await post(`${s.url}/v1/playground/stream`, {
      prompt: "Once upon a time",
      max_tokens: 15,
      seed: 3,
      top_k: 5,
      temperature: 1.2,
      top_n: 8,
    });
    const { events, done } = parseSse(r.text);
    assert.ok(done);
    assert.equal(events[0].type, "start");
    const tokens = events.filter((e) => e.type === "token" && !e.eos);
    assert.deepEqual(
      tokens.map((t) => t.id),
      expected.tokens,
    );
    assert.equal(
      events
        .filter((e) => e.type === "text")
        .map((e) => e.text)
        .join(""),
      expected.text,
    );
    const vocab = s.gen.model.dims.vocabSize;
    for (const t of tokens) {
      const c = t.step.candidates;
      assert.equal(c.length, 8);
      const chosen = c.find((x: { id: number }) => x.id === t.id);
      assert.ok(chosen && chosen.cut === null && chosen.p_final > 0, "the drawn token survived every cut");
      assert.equal(t.step.kept + t.step.removed.topK, vocab, "top-k is the only cut, and it leaves at least 5");
      assert.ok(t.step.kept >= 5);
      assert.equal(c.filter((x: { cut: string | null }) => x.cut === "topK").length, c.length - Math.min(t.step.kept, c.length));
    }
    assert.equal(events.at(-1).type, "done");
  });

  test("the playground page and its files are served", async () => {
    const page = await fetch(`${s.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    assert.match(await page.text(), /<script src="app.js"><\/script>/);
    for (const [path, type] of [
      ["/app.js", /javascript/],
      ["/style.css", /text\/css/],
    ] as const) {
      const r = await fetch(s.url + path);
      assert.equal(r.status, 200);
      assert.match(r.headers.get("content-type") ?? "", type);
    }
    assert.equal((await fetch(`${s.url}/../package.json`)).status, 404);
    assert.equal((await fetch(`${s.url}/static/index.html`)).status, 404);
  });

  test("/v1/models and /health", async () => {
    const m = await (await fetch(`${s.url}/v1/models`)).json();
    assert.equal(m.object, "list");
    assert.equal(m.data[0].id, "stories260K");
    assert.equal(m.data[0].max_model_len, s.gen.model.dims.context);
    const h = await (await fetch(`${s.url}/health`)).json();
    assert.equal(h.status, "ok");
  });
});
