// Runs fuzz cases in child processes (worker.ts), W at a time, so that a crash or a hang of one
// case is seen and recorded instead of taking the run down: a case that gets no answer within
// the time limit is a hang (its worker is killed), a worker that dies mid-case is a crash; either
// way a fresh worker takes the next case. Each worker's peak resident memory is kept.
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { BackendName } from "../../src/backend/index.js";
import type { CaseResult } from "./targets.js";
import type { CaseReply, CaseRequest, CaseStarted } from "./worker.js";
import type { Mutation } from "./mutate.js";
import type { FuzzFormat } from "./seeds.js";

export interface PoolOptions {
  seedsDir: string;
  seed: number;
  backends: BackendName[];
  workers: number;
  /** A case that takes longer is a hang (default 10 s). */
  timeoutMs?: number;
  /** V8 heap limit of each worker, MiB (default 2048): a loader that runs away dies, as a crash. */
  heapMiB?: number;
  onResult?: (r: CaseResult) => void;
}

export interface PoolReport {
  results: CaseResult[];
  /** Peak resident memory of each worker slot, bytes. */
  peakRss: number[];
  /** Workers started (more than `workers` when some crashed or hung). */
  started: number;
}

interface Slot {
  child: ChildProcess | null;
  ready: Promise<void>;
  peak: number;
  stderr: string;
}

const WORKER = fileURLToPath(new URL("./worker.js", import.meta.url));

export async function runPool(cases: Array<{ format: FuzzFormat; index: number }>, options: PoolOptions): Promise<PoolReport> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const results: CaseResult[] = [];
  let started = 0;
  let next = 0;

  const spawnInto = (slot: Slot) => {
    started++;
    const child = fork(WORKER, [], {
      execArgv: [`--max-old-space-size=${options.heapMiB ?? 2048}`],
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    slot.child = child;
    slot.stderr = "";
    child.stderr!.on("data", (d: Buffer) => {
      slot.stderr = (slot.stderr + d.toString()).slice(-2000);
    });
    slot.ready = new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve());
      child.once("exit", (code, signal) => reject(new Error(`fuzz worker exited at start (${code ?? signal}): ${slot.stderr}`)));
    });
  };

  /** Runs one case on the slot's worker; resolves with its result (crash / hang included). */
  const runOne = (slot: Slot, c: { format: FuzzFormat; index: number }): Promise<CaseResult> => {
    const child = slot.child!;
    const request: CaseRequest = {
      seedsDir: options.seedsDir,
      seed: options.seed,
      format: c.format,
      index: c.index,
      backends: options.backends,
    };
    return new Promise<CaseResult>((resolve) => {
      const finish = (r: CaseResult) => {
        clearTimeout(timer);
        child.off("message", onMessage);
        child.off("exit", onExit);
        resolve(r);
      };
      let mutation: Mutation = { kind: "?", detail: "" };
      const failed = (outcome: "crash" | "hang", message: string) =>
        finish({ format: c.format, index: c.index, mutation, results: [{ backend: "-", outcome, message }] });
      const onMessage = (m: CaseReply | CaseStarted) => {
        if (!("result" in m)) {
          mutation = m.mutation;
          return;
        }
        slot.peak = Math.max(slot.peak, m.rss);
        finish(m.result);
      };
      const onExit = (code: number | null, signal: string | null) =>
        failed("crash", `worker died (${signal ?? `exit ${code}`}): ${slot.stderr.trim().split("\n").slice(-3).join(" | ")}`);
      const timer = setTimeout(() => {
        child.off("exit", onExit);
        child.kill("SIGKILL");
        failed("hang", `no answer within ${timeoutMs} ms`);
      }, timeoutMs);
      child.on("message", onMessage);
      child.once("exit", onExit);
      child.send(request);
    });
  };

  const slots: Slot[] = Array.from({ length: Math.max(1, options.workers) }, () => ({
    child: null,
    ready: Promise.resolve(),
    peak: 0,
    stderr: "",
  }));
  await Promise.all(
    slots.map(async (slot) => {
      spawnInto(slot);
      await slot.ready;
      while (next < cases.length) {
        const c = cases[next++]!;
        const r = await runOne(slot, c);
        results.push(r);
        options.onResult?.(r);
        if (r.results.some((x) => x.outcome === "crash" || x.outcome === "hang")) {
          spawnInto(slot);
          await slot.ready;
        }
      }
      slot.child?.disconnect();
    }),
  );
  return { results, peakRss: slots.map((s) => s.peak), started };
}
