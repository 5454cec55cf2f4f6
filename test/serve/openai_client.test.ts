// The official `openai` npm client against the server: completions, chat, streaming, models.
// Skipped when the package is not installed (it is an optional devDependency).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { optionalImport, skip, startServer, type Running } from "./fixture.js";

const mod = await optionalImport("openai");
const OpenAI = mod?.default ?? mod?.OpenAI;
const skipClient = skip || (OpenAI ? false : "the openai package is not installed (npm i -D openai)");

describe("serve: the official openai client", { skip: skipClient }, () => {
  let s: Running;
  let client: any;
  before(async () => {
    s = await startServer();
    client = new OpenAI({ apiKey: "not-needed", baseURL: `${s.url}/v1`, maxRetries: 0 });
  });
  after(async () => {
    await s?.handle.close();
  });

  test("models.list", async () => {
    const ids: string[] = [];
    for await (const m of await client.models.list()) ids.push(m.id);
    assert.deepEqual(ids, ["stories260K"]);
  });

  test("completions.create, plain and streamed, equal TextGenerator.generate", async () => {
    const expected = await s.gen.generate("Once upon a time", { temperature: 0.7, maxNewTokens: 20, seed: 9 });
    const r = await client.completions.create({
      model: "stories260K",
      prompt: "Once upon a time",
      max_tokens: 20,
      temperature: 0.7,
      seed: 9,
    });
    assert.equal(r.choices[0].text, expected.text);
    let streamed = "";
    const stream = await client.completions.create({
      model: "stories260K",
      prompt: "Once upon a time",
      max_tokens: 20,
      temperature: 0.7,
      seed: 9,
      stream: true,
    });
    for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? "";
    assert.equal(streamed, expected.text);
  });

  test("chat.completions.create, plain and streamed", async () => {
    const messages = [{ role: "user", content: "Tell me about a cat." }];
    const r = await client.chat.completions.create({ model: "stories260K", messages, max_tokens: 15, temperature: 0 });
    const content = r.choices[0].message.content;
    assert.equal(typeof content, "string");
    assert.ok(r.usage.completion_tokens > 0);
    let streamed = "";
    const stream = await client.chat.completions.create({ model: "stories260K", messages, max_tokens: 15, temperature: 0, stream: true });
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? "";
    assert.equal(streamed, content);
  });

  test("a bad request surfaces as the client's BadRequestError with our message", async () => {
    await assert.rejects(
      client.completions.create({ model: "stories260K", prompt: "x", top_p: 5 }),
      (e: any) => e.status === 400 && /top_p/.test(e.message),
    );
  });
});
