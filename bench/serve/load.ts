// Load test of `tsgpt serve`: N streaming clients on loopback for a fixed time.
//
//   npx tsx bench/serve/load.ts [--clients 8] [--seconds 10] [--max-tokens 64] [--model PATH]
//
// Run 1: every client streams completions back to back. Reported: requests/s, tokens/s,
// p50 / p99 time to first token and time per token (as the clients see them), errors, and the
// server's memory at the start and end.
// Run 2: the same, but each client hangs up after a few tokens. Afterwards the server must
// have no running or waiting generation left (no stuck slot), still answer, and not have grown.
//
// The server runs in a worker thread, so its event loop is not the clients'.
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

interface ServerMessage {
  url?: string;
  memory?: NodeJS.MemoryUsage;
}

if (!isMainThread) {
  await serveInWorker(workerData as { model: string });
} else {
  await main();
}

async function serveInWorker({ model }: { model: string }): Promise<void> {
  const { TextGenerator } = await import("../../src/generate/index.js");
  const { createServer } = await import("../../src/serve/index.js");
  const gen = await TextGenerator.load(model);
  const handle = createServer({ generator: gen, modelName: "bench", maxQueued: 64 });
  const url = await handle.listen(0, "127.0.0.1");
  parentPort!.on("message", async (m: string) => {
    if (m === "memory") {
      collectGarbage();
      parentPort!.postMessage({ memory: process.memoryUsage() } satisfies ServerMessage);
    } else if (m === "close") {
      await handle.close();
      process.exit(0);
    }
  });
  parentPort!.postMessage({ url } satisfies ServerMessage);
}

/** A full garbage collection before measuring memory, so the figures compare live data. */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

interface Stats {
  requests: number;
  tokens: number;
  errors: string[];
  ttft: number[];
  perToken: number[];
}

/** One streaming completion; hangs up after `hangUpAfter` chunks when given. */
async function oneRequest(url: string, maxTokens: number, seed: number, stats: Stats, hangUpAfter?: number): Promise<void> {
  const ac = new AbortController();
  const t0 = performance.now();
  let res: Response;
  try {
    res = await fetch(`${url}/v1/completions`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      signal: ac.signal,
      body: JSON.stringify({ prompt: "Once upon a time", max_tokens: maxTokens, seed, stream: true }),
    });
  } catch (err) {
    stats.errors.push(`fetch: ${(err as Error).message}`);
    return;
  }
  if (res.status !== 200) {
    stats.errors.push(`HTTP ${res.status}: ${await res.text()}`);
    return;
  }
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "",
    chunks = 0,
    first = t0,
    last = t0,
    sawDone = false;
  // Time per token of this request: from its first token to its last, over the tokens between.
  const perToken = () => {
    if (chunks > 1) stats.perToken.push((last - first) / (chunks - 1));
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const data = buffer.slice(6, end);
        buffer = buffer.slice(end + 2);
        if (data === "[DONE]") {
          sawDone = true;
          continue;
        }
        const event = JSON.parse(data) as { choices: { text: string }[]; error?: unknown };
        if (event.error) stats.errors.push(`stream error: ${JSON.stringify(event.error)}`);
        if (!event.choices[0]?.text) continue;
        const now = performance.now();
        if (chunks === 0) {
          stats.ttft.push(now - t0);
          first = now;
        }
        last = now;
        chunks++;
        stats.tokens++;
      }
      if (hangUpAfter !== undefined && chunks >= hangUpAfter) {
        ac.abort();
        perToken();
        stats.requests++;
        return;
      }
    }
  } catch (err) {
    if (hangUpAfter === undefined) stats.errors.push(`read: ${(err as Error).message}`);
    return;
  }
  if (!sawDone) stats.errors.push("stream ended without [DONE]");
  perToken();
  stats.requests++;
}

async function runClients(
  url: string,
  clients: number,
  seconds: number,
  maxTokens: number,
  hangUp: boolean,
): Promise<Stats & { elapsed: number }> {
  const stats: Stats = { requests: 0, tokens: 0, errors: [], ttft: [], perToken: [] };
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  let seed = 1;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const s = seed++;
        await oneRequest(url, maxTokens, s, stats, hangUp ? 1 + (s % 8) : undefined);
      }
    }),
  );
  return { ...stats, elapsed: (performance.now() - start) / 1000 };
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function report(name: string, r: Stats & { elapsed: number }): void {
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  console.log(
    `${name}: ${r.requests} requests in ${r.elapsed.toFixed(1)} s = ${(r.requests / r.elapsed).toFixed(1)} req/s, ${(r.tokens / r.elapsed).toFixed(0)} tokens/s streamed`,
  );
  console.log(
    `  time to first token  p50 ${ms(percentile(r.ttft, 50))}  p99 ${ms(percentile(r.ttft, 99))}  (includes the wait in the queue)`,
  );
  console.log(`  time per token (mean of each request)  p50 ${ms(percentile(r.perToken, 50))}  p99 ${ms(percentile(r.perToken, 99))}`);
  console.log(`  errors: ${r.errors.length}${r.errors.length ? ` (first: ${r.errors[0]})` : ""}`);
}

async function main(): Promise<void> {
  const model = resolve(option("model", "../shared/models/stories260K/stories260K.bin"));
  if (!existsSync(model)) {
    console.log(`skipped: model not found: ${model} (pass --model PATH)`);
    return;
  }
  const clients = Number(option("clients", "8"));
  const seconds = Number(option("seconds", "10"));
  const maxTokens = Number(option("max-tokens", "64"));
  // Run from source, the worker must first register tsx's loader itself; compiled, it needs nothing.
  const self = JSON.stringify(import.meta.url);
  const worker = import.meta.url.endsWith(".ts")
    ? new Worker(`import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${self}); })`, { eval: true, workerData: { model } })
    : new Worker(new URL(import.meta.url), { workerData: { model } });
  const next = () => new Promise<ServerMessage>((res) => worker.once("message", res));
  const { url } = await next();
  const memory = async () => {
    worker.postMessage("memory");
    return (await next()).memory!;
  };
  const mb = (m: NodeJS.MemoryUsage) => `heap ${(m.heapUsed / 2 ** 20).toFixed(1)} MiB, rss ${(m.rss / 2 ** 20).toFixed(1)} MiB`;
  console.log(`tsgpt serve load test: ${clients} streaming clients, ${seconds} s per run, max_tokens ${maxTokens}, model ${model}`);
  console.log("server: concurrency 1 (FIFO queue), in a worker thread; clients: fetch on loopback");

  // Warm-up, then a memory baseline.
  await runClients(url!, 2, 1, maxTokens, false);
  const m0 = await memory();
  console.log(`memory at start: ${mb(m0)}`);

  const r1 = await runClients(url!, clients, seconds, maxTokens, false);
  report("run 1 (streaming to the end)", r1);
  const m1 = await memory();
  console.log(`memory after run 1: ${mb(m1)}`);

  const r2 = await runClients(url!, clients, seconds, maxTokens, true);
  report("run 2 (clients hang up after 1-8 tokens)", r2);
  await new Promise((r) => setTimeout(r, 200)); // let the server notice the last hang-ups
  const health = (await (await fetch(`${url}/health`)).json()) as { queue: { running: number; waiting: number } };
  const m2 = await memory();
  console.log(`memory after run 2: ${mb(m2)}`);
  const after: Stats = { requests: 0, tokens: 0, errors: [], ttft: [], perToken: [] };
  await oneRequest(url!, 8, 1, after);
  const stuck = health.queue.running + health.queue.waiting;
  console.log(
    `after run 2: ${health.queue.running} running, ${health.queue.waiting} waiting (${stuck === 0 ? "no stuck slot" : "STUCK"}); a new request ${after.errors.length === 0 && after.requests === 1 ? "is served" : `FAILED: ${after.errors[0]}`}`,
  );
  const growth = (m2.heapUsed - m0.heapUsed) / 2 ** 20;
  console.log(`heap growth over both runs: ${growth.toFixed(1)} MiB`);

  worker.postMessage("close");
  await new Promise((r) => worker.once("exit", r));
  const failed = r1.errors.length > 0 || stuck > 0 || after.errors.length > 0 || after.requests !== 1;
  process.exitCode = failed ? 1 : 0;
}
