// Bad requests get OpenAI-style errors with the right status, and never bring the server down.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { post, skip, startServer, type Running } from "./fixture.js";

/** Checks the OpenAI error shape and returns the error object. */
function apiError(r: { status: number; json: any; text: string }, status: number, param?: string): any {
  assert.equal(r.status, status, r.text);
  const e = r.json?.error;
  assert.ok(e, `an error body: ${r.text}`);
  assert.equal(typeof e.message, "string");
  assert.ok(e.message.length > 0);
  assert.ok("param" in e && "code" in e && "type" in e);
  if (status === 400) assert.equal(e.type, "invalid_request_error");
  if (param !== undefined) assert.equal(e.param, param);
  return e;
}

describe("serve: errors", { skip }, () => {
  let s: Running;
  before(async () => {
    s = await startServer({ limits: { bodyBytes: 4096 } });
  });
  after(async () => {
    await s?.handle.close();
  });
  const completions = () => `${s.url}/v1/completions`;

  test("malformed JSON and non-object bodies are 400", async () => {
    apiError(await post(completions(), '{"prompt": '), 400);
    apiError(await post(completions(), "[1, 2]"), 400);
    apiError(await post(completions(), ""), 400);
  });

  const bad: [string, Record<string, unknown>][] = [
    ["temperature", { temperature: -1 }],
    ["temperature", { temperature: 3 }],
    ["temperature", { temperature: "hot" }],
    ["top_p", { top_p: 0 }],
    ["top_p", { top_p: 1.5 }],
    ["top_k", { top_k: 2.5 }],
    ["top_k", { top_k: -2 }],
    ["min_p", { min_p: 2 }],
    ["repetition_penalty", { repetition_penalty: 0 }],
    ["frequency_penalty", { frequency_penalty: 2.5 }],
    ["presence_penalty", { presence_penalty: -3 }],
    ["max_tokens", { max_tokens: 0 }],
    ["max_tokens", { max_tokens: 100000 }],
    ["max_tokens", { max_tokens: 1.5 }],
    ["n", { n: 0 }],
    ["n", { n: 100 }],
    ["seed", { seed: 0.5 }],
    ["seed", { seed: -1 }],
    ["min_new_tokens", { min_new_tokens: -1 }],
    ["seed", { seed: Number.MAX_SAFE_INTEGER, n: 2 }],
    ["stop", { stop: [""] }],
    ["stop", { stop: ["a", "b", "c", "d", "e"] }],
    ["stop", { stop: 5 }],
    ["logprobs", { logprobs: 100 }],
    ["stream", { stream: "yes" }],
    ["echo", { echo: true }],
    ["prompt", { prompt: [] }],
    ["prompt", { prompt: [1, "a"] }],
    ["prompt", { prompt: [99999] }],
    ["prompt", { prompt: { text: "x" } }],
  ];
  for (const [param, fields] of bad) {
    test(`completions: ${JSON.stringify(fields)} → 400 naming ${param}`, async () => {
      apiError(await post(completions(), { prompt: "Once", ...fields }), 400, param);
    });
  }

  test("a missing prompt is 400", async () => {
    apiError(await post(completions(), { max_tokens: 5 }), 400, "prompt");
  });

  test("a prompt plus max_tokens beyond the context is 400", async () => {
    const context = s.gen.model.dims.context;
    const ids = new Array(context).fill(300);
    apiError(await post(completions(), { prompt: ids, max_tokens: 1 }), 400, "prompt");
    apiError(await post(completions(), { prompt: ids.slice(0, context - 5), max_tokens: 10 }), 400, "max_tokens");
  });

  test("chat: bad messages and roles are 400", async () => {
    const chat = `${s.url}/v1/chat/completions`;
    apiError(await post(chat, { messages: [] }), 400, "messages");
    apiError(await post(chat, { messages: "hi" }), 400, "messages");
    apiError(await post(chat, { messages: [{ role: "wizard", content: "hi" }] }), 400, "messages[0].role");
    apiError(await post(chat, { messages: [{ role: "user", content: 5 }] }), 400, "messages[0].content");
    apiError(await post(chat, { messages: [{ role: "assistant", content: "hi" }] }), 400, "messages");
    apiError(await post(chat, { messages: [{ role: "user", content: "hi" }], top_logprobs: 2 }), 400, "top_logprobs");
    apiError(await post(chat, { messages: [{ role: "user", content: "hi" }], tools: [{ type: "function" }] }), 400, "tools");
  });

  test("chat without a template is refused with a clear message", async () => {
    const bare = await startServer({ template: undefined });
    try {
      const e = apiError(await post(`${bare.url}/v1/chat/completions`, { messages: [{ role: "user", content: "hi" }] }), 400);
      assert.match(e.message, /template/);
    } finally {
      await bare.handle.close();
    }
  });

  test("a body over the limit is 413", async () => {
    apiError(await post(completions(), { prompt: "x".repeat(10_000) }), 413);
    // Without Content-Length (chunked): stopped while reading.
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        completions(),
        { method: "POST", headers: { "Content-Type": "application/json", "Transfer-Encoding": "chunked" } },
        (res) => {
          let body = "";
          res.on("data", (c) => {
            body += c;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      for (let i = 0; i < 10; i++) req.write(`{"prompt": "${"y".repeat(1000)}`);
      req.end();
    });
    assert.equal(r.status, 413);
  });

  test("unknown routes are 404, wrong methods 405, another model 404", async () => {
    assert.equal((await fetch(`${s.url}/v1/nothing`)).status, 404);
    assert.equal((await fetch(completions())).status, 405);
    const e = apiError(await post(completions(), { model: "gpt-4", prompt: "x" }), 404, "model");
    assert.equal(e.code, "model_not_found");
  });

  test("after all this the server still answers", async () => {
    const r = await post(completions(), { prompt: "Once", max_tokens: 3 });
    assert.equal(r.status, 200);
    assert.equal(r.json.usage.completion_tokens, 3);
  });
});
