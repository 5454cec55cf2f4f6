// The generation queue: first in, first out; a bounded wait list; aborted waiters leave it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GenerationQueue } from "../../src/serve/queue.js";
import { ApiError } from "../../src/serve/errors.js";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

test("tasks run one at a time, in arrival order", async () => {
  const q = new GenerationQueue(1, 10);
  const order: string[] = [];
  const gate = deferred();
  const a = q.run(async () => {
    order.push("a start");
    await gate.promise;
    order.push("a end");
  });
  const b = q.run(async () => {
    order.push("b");
  });
  const c = q.run(async () => {
    order.push("c");
  });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(q.stats(), { running: 1, waiting: 2, concurrency: 1, maxQueued: 10 });
  gate.resolve();
  await Promise.all([a, b, c]);
  assert.deepEqual(order, ["a start", "a end", "b", "c"]);
  assert.equal(q.stats().running, 0);
});

test("a full wait list refuses with 429, and reports positions", async () => {
  const q = new GenerationQueue(1, 1);
  const gate = deferred();
  const positions: number[] = [];
  const a = q.run(() => gate.promise);
  const b = q.run(
    async () => undefined,
    undefined,
    (p) => positions.push(p),
  );
  await assert.rejects(
    q.run(async () => undefined),
    (e: unknown) => e instanceof ApiError && e.status === 429,
  );
  gate.resolve();
  await Promise.all([a, b]);
  assert.deepEqual(positions, [1]);
});

test("a failing task frees its slot", async () => {
  const q = new GenerationQueue(1, 4);
  await assert.rejects(
    q.run(async () => {
      throw new Error("boom");
    }),
    /boom/,
  );
  assert.equal(await q.run(async () => 42), 42);
  assert.equal(q.stats().running, 0);
});

test("an aborted waiter leaves the queue at once, the others keep their order", async () => {
  const q = new GenerationQueue(1, 4);
  const gate = deferred();
  const order: string[] = [];
  const a = q.run(() => gate.promise);
  const ac = new AbortController();
  const b = q.run(async () => {
    order.push("b");
  }, ac.signal);
  const c = q.run(async () => {
    order.push("c");
  });
  ac.abort(new Error("client gone"));
  await assert.rejects(b, /client gone/);
  assert.equal(q.stats().waiting, 1);
  gate.resolve();
  await Promise.all([a, c]);
  assert.deepEqual(order, ["c"]);
});

test("concurrency 2 runs two at once", async () => {
  const q = new GenerationQueue(2, 4);
  const gate = deferred();
  let running = 0,
    peak = 0;
  const task = async () => {
    running++;
    peak = Math.max(peak, running);
    await gate.promise;
    running--;
  };
  const all = [q.run(task), q.run(task), q.run(task)];
  await new Promise((r) => setImmediate(r));
  assert.equal(peak, 2);
  gate.resolve();
  await Promise.all(all);
});
