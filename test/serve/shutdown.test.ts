// `tsgpt serve` shuts down cleanly on SIGTERM and SIGINT: it stops accepting, a running stream
// ends with an error event ("the server is shutting down"), a queued request gets 503, and the
// process exits 0. The real command runs in a child process and gets a real signal.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { repoRoot, sharedPath } from "../helpers/shared.js";
import { MODEL, parseSse, skip } from "./fixture.js";

interface Child {
  proc: ChildProcess;
  url: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

/** Starts `tsgpt serve` on a free port; resolves once it prints its address. */
async function startServe(): Promise<Child> {
  const proc = spawn(
    process.execPath,
    [join(repoRoot, "bin", "tsgpt.js"), "serve", "--model", sharedPath(...MODEL), "--template", "llama2", "--port", "0"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let err = "";
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on("exit", (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    proc.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /playground: (http:\/\/\S+?)\/ /.exec(err);
      if (m) resolve(m[1]!);
    });
    void exit.then(() => reject(new Error(`serve exited before listening:\n${err}`)));
  });
  return { proc, url, exit, stderr: () => err };
}

/** A long streaming chat request (8 choices of 480 tokens with log-probabilities: seconds of work). */
function longStream(url: string): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      messages: [{ role: "user", content: "Tell me a story." }],
      stream: true,
      n: 8,
      max_tokens: 480,
      min_new_tokens: 480,
      logprobs: true,
      top_logprobs: 20,
    }),
  });
}

/** Reads a response body to its end, resolving on the first chunk too. */
function readBody(res: Response): { first: Promise<void>; all: Promise<string> } {
  let gotFirst!: () => void;
  const first = new Promise<void>((r) => {
    gotFirst = r;
  });
  const all = (async () => {
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      gotFirst();
    }
    gotFirst();
    return text;
  })();
  return { first, all };
}

async function waitForWaiting(url: string, n: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const h = (await (await fetch(`${url}/health`)).json()) as { queue: { waiting: number } };
    if (h.queue.waiting >= n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("the second request never queued");
}

test("SIGTERM: the running stream ends with an error event, the queued request gets 503, exit 0", { skip }, async () => {
  const s = await startServe();
  try {
    const a = await longStream(s.url);
    assert.equal(a.status, 200);
    const body = readBody(a);
    await body.first; // it runs
    const b = longStream(s.url); // concurrency 1: this one waits
    await waitForWaiting(s.url, 1);
    s.proc.kill("SIGTERM");

    const queued = await b;
    assert.equal(queued.status, 503);
    const queuedBody = (await queued.json()) as { error: { message: string; code: string } };
    assert.equal(queuedBody.error.message, "the server is shutting down");

    const { events, done } = parseSse(await body.all);
    assert.equal(done, false, "no [DONE]: the stream did not finish");
    const last = events[events.length - 1];
    assert.equal(last.error?.message, "the server is shutting down");
    assert.ok(events.length > 1, "the stream had started before the error event");

    assert.deepEqual(await s.exit, { code: 0, signal: null });
    assert.match(s.stderr(), /SIGTERM: shutting down/);
    await assert.rejects(fetch(`${s.url}/health`), "no longer accepting");
  } finally {
    s.proc.kill("SIGKILL");
  }
});

test("SIGINT: the same clean stop, exit 0", { skip }, async () => {
  const s = await startServe();
  try {
    const a = await longStream(s.url);
    const body = readBody(a);
    await body.first;
    s.proc.kill("SIGINT");
    const { events, done } = parseSse(await body.all);
    assert.equal(done, false);
    assert.equal(events[events.length - 1].error?.message, "the server is shutting down");
    assert.deepEqual(await s.exit, { code: 0, signal: null });
  } finally {
    s.proc.kill("SIGKILL");
  }
});

test("SIGTERM on an idle server exits 0 at once", { skip }, async () => {
  const s = await startServe();
  try {
    assert.equal((await fetch(`${s.url}/health`)).status, 200); // a kept-alive connection stays open
    s.proc.kill("SIGTERM");
    assert.deepEqual(await s.exit, { code: 0, signal: null });
  } finally {
    s.proc.kill("SIGKILL");
  }
});
