// Queueing and disconnects through HTTP: 429 when the wait list is full, and a client that
// goes away stops its generation (running) or leaves the queue (waiting).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { TextGenerator, type DecoderModel } from "../../src/generate/index.js";
import { generator, post, skip, startServer, type Running } from "./fixture.js";

/** stories260K with a slower forward pass (about 3 ms per call) that counts its calls. */
async function slowGenerator(): Promise<{ gen: TextGenerator; calls: () => number }> {
  const base = await generator();
  let calls = 0;
  const model = {
    dims: base.model.dims,
    createCache: (b: number, c: number) => base.model.createCache(b, c),
    forward: (...args: Parameters<DecoderModel["forward"]>) => {
      calls++;
      const until = performance.now() + 3;
      while (performance.now() < until) {
        /* simulate a bigger model */
      }
      return base.model.forward(...args);
    },
  } as unknown as DecoderModel;
  return { gen: new TextGenerator(model, base.tokenizer, base.defaults), calls: () => calls };
}

/** Starts a streaming completion and resolves once its first chunk arrived. */
async function startStream(
  url: string,
  body: Record<string, unknown>,
): Promise<{ abort: () => void; rest: Promise<string>; headers: Headers }> {
  const ac = new AbortController();
  const res = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ stream: true, ...body }),
    signal: ac.signal,
  });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const first = await reader.read();
  assert.ok(!first.done);
  const rest = (async () => {
    let text = new TextDecoder().decode(first.value);
    for (;;) {
      const r = await reader.read();
      if (r.done) return text;
      text += new TextDecoder().decode(r.value);
    }
  })();
  rest.catch(() => undefined);
  return { abort: () => ac.abort(), rest, headers: res.headers };
}

async function health(url: string): Promise<{ running: number; waiting: number }> {
  return (await (await fetch(`${url}/health`)).json()).queue;
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe("serve: queue and disconnects", { skip }, () => {
  let s: Running;
  let calls: () => number;
  before(async () => {
    const slow = await slowGenerator();
    calls = slow.calls;
    s = await startServer({ generator: slow.gen, concurrency: 1, maxQueued: 1 });
  });
  after(async () => {
    await s?.handle.close();
  });

  test("a client that disconnects mid-stream stops its generation and frees the slot", async () => {
    const before = calls();
    const a = await startStream(s.url, { prompt: "Once upon a time", max_tokens: 400, temperature: 0 });
    a.abort();
    await waitFor(async () => (await health(s.url)).running === 0, "the slot to be freed");
    const used = calls() - before;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(calls() - before, used, "no forward pass after the slot was freed");
    assert.ok(used < 100, `stopped early: ${used} forward passes for max_tokens 400`);
    const r = await post(`${s.url}/v1/completions`, { prompt: "Once", max_tokens: 2 });
    assert.equal(r.status, 200, "the next request is served");
  });

  test("with one running and one waiting, a third request gets 429; the waiter is served next", async () => {
    const a = await startStream(s.url, { prompt: "Once upon a time", max_tokens: 400, temperature: 0 });
    const b = post(`${s.url}/v1/completions`, { prompt: "Lily", max_tokens: 3 });
    await waitFor(async () => (await health(s.url)).waiting === 1, "the second request to wait");
    const c = await post(`${s.url}/v1/completions`, { prompt: "Tom", max_tokens: 3 });
    assert.equal(c.status, 429);
    assert.equal(c.json.error.type, "rate_limit_error");
    a.abort();
    const rb = await b;
    assert.equal(rb.status, 200);
    assert.equal(rb.headers.get("x-queue-position"), "1");
    assert.equal(rb.json.usage.completion_tokens, 3);
  });

  test("a waiting client that disconnects leaves the queue", async () => {
    const a = await startStream(s.url, { prompt: "Once upon a time", max_tokens: 300, temperature: 0 });
    const ac = new AbortController();
    const b = fetch(`${s.url}/v1/completions`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ prompt: "Lily", max_tokens: 3 }),
      signal: ac.signal,
    });
    b.catch(() => undefined);
    await waitFor(async () => (await health(s.url)).waiting === 1, "the second request to wait");
    ac.abort();
    await waitFor(async () => (await health(s.url)).waiting === 0, "the waiter to leave");
    assert.equal((await health(s.url)).running, 1, "the first one still runs");
    const text = await a.rest; // runs to the end
    assert.match(text, /data: \[DONE\]/);
  });

  test("close() ends running streams and the server", async () => {
    const other = await startServer({ generator: (await slowGenerator()).gen });
    const a = await startStream(other.url, { prompt: "Once upon a time", max_tokens: 400 });
    await other.handle.close();
    await a.rest.catch(() => "");
    await assert.rejects(fetch(`${other.url}/health`));
  });
});
