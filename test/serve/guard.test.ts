// Requests a browser page could forge are refused: a foreign Host (DNS rebinding), a POST that
// is not application/json (a cross-site "simple request"), and CORS unless an origin is allowed.
// And a streaming client that stops reading is dropped after the write timeout.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, request, type IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";
import { hostName } from "../../src/serve/guard.js";
import { SseWriter } from "../../src/serve/sse.js";
import { skip, startServer, type Running } from "./fixture.js";

/** A raw request, so Host and Origin can be set freely. */
function raw(
  url: string,
  method: string,
  headers: Record<string, string>,
  body = "",
): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        text += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const JSON_BODY = JSON.stringify({ prompt: "Once", max_tokens: 2 });

test("hostName strips the port and IPv6 brackets", () => {
  assert.equal(hostName("127.0.0.1:8080"), "127.0.0.1");
  assert.equal(hostName("[::1]:8080"), "::1");
  assert.equal(hostName("Example.COM"), "example.com");
});

describe("serve: request guard", { skip }, () => {
  let s: Running;
  let cors: Running;
  before(async () => {
    s = await startServer({ allowedHosts: ["model.lan"] });
    cors = await startServer({ cors: "http://app.example" });
  });
  after(async () => {
    await s?.handle.close();
    await cors?.handle.close();
  });
  const completions = () => `${s.url}/v1/completions`;

  test("a POST that is not application/json is 415", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const r = await raw(completions(), "POST", { "Content-Type": type }, JSON_BODY);
      assert.equal(r.status, 415, `${type}: ${r.text}`);
      assert.match(JSON.parse(r.text).error.message, /application\/json/);
    }
    const none = await raw(completions(), "POST", {}, JSON_BODY);
    assert.equal(none.status, 415);
    const ok = await raw(completions(), "POST", { "Content-Type": "application/json; charset=utf-8" }, JSON_BODY);
    assert.equal(ok.status, 200, ok.text);
    const tok = await raw(`${s.url}/tokenize`, "POST", { "Content-Type": "text/plain" }, JSON.stringify({ content: "a" }));
    assert.equal(tok.status, 415);
  });

  test("a foreign Host is 403; IP addresses, localhost and the allow-list pass", async () => {
    const port = new URL(s.url).port;
    const bad = await raw(`${s.url}/health`, "GET", { Host: `attacker.example:${port}` });
    assert.equal(bad.status, 403, bad.text);
    assert.match(JSON.parse(bad.text).error.message, /--allowed-hosts attacker\.example/);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `model.lan:${port}`, "[::1]", "10.0.0.5"]) {
      assert.equal((await raw(`${s.url}/health`, "GET", { Host: host })).status, 200, host);
    }
    const post = await raw(completions(), "POST", { Host: "attacker.example", "Content-Type": "application/json" }, JSON_BODY);
    assert.equal(post.status, 403);
  });

  test("without --cors a preflight is refused and no CORS header is sent", async () => {
    const pre = await raw(completions(), "OPTIONS", { Origin: "http://app.example", "Access-Control-Request-Method": "POST" });
    assert.equal(pre.status, 405);
    assert.equal(pre.headers["access-control-allow-origin"], undefined);
    const get = await raw(`${s.url}/health`, "GET", { Origin: "http://app.example" });
    assert.equal(get.headers["access-control-allow-origin"], undefined);
  });

  test("with cors the preflight of that origin is answered, others are not", async () => {
    const url = `${cors.url}/v1/completions`;
    const pre = await raw(url, "OPTIONS", {
      Origin: "http://app.example",
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "content-type",
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers["access-control-allow-origin"], "http://app.example");
    assert.match(String(pre.headers["access-control-allow-headers"]), /Content-Type/);
    const other = await raw(url, "OPTIONS", { Origin: "http://evil.example", "Access-Control-Request-Method": "POST" });
    assert.equal(other.status, 403);
    const post = await raw(url, "POST", { Origin: "http://app.example", "Content-Type": "application/json" }, JSON_BODY);
    assert.equal(post.status, 200);
    assert.equal(post.headers["access-control-allow-origin"], "http://app.example");
  });
});

test("SseWriter drops a client that stops reading after the write timeout", async () => {
  let closedAt = 0;
  let writes = 0;
  const server = createServer((_req, res) => {
    const sse = new SseWriter(res, 300);
    sse.open();
    res.on("close", () => {
      closedAt = performance.now();
    });
    const chunk = "x".repeat(64 * 1024);
    void (async () => {
      while (!sse.isClosed) {
        await sse.send(chunk);
        writes++;
      }
    })();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const socket = connect(port, "127.0.0.1");
  socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  socket.pause(); // never read
  const start = performance.now();
  try {
    while (closedAt === 0 && performance.now() - start < 20_000) await new Promise((r) => setTimeout(r, 50));
    assert.ok(closedAt > 0, `the response was not closed (${writes} writes)`);
    assert.ok(writes > 0);
  } finally {
    socket.destroy();
    server.close();
  }
});
