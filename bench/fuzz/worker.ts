// A fuzz worker: a child process that runs the cases its parent (pool.ts) sends, one at a time,
// and answers each with its result and the process's resident memory. A crash or a hang shows
// as this process dying or falling silent; the parent then records it and starts another.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BackendName } from "../../src/backend/index.js";
import { runCase, type CaseResult } from "./targets.js";
import type { Mutation } from "./mutate.js";
import type { FuzzFormat } from "./seeds.js";

export interface CaseRequest {
  seedsDir: string;
  seed: number;
  format: FuzzFormat;
  index: number;
  backends: BackendName[];
}

/** Sent first: the mutation of the case about to be loaded. */
export interface CaseStarted {
  mutation: Mutation;
}

export interface CaseReply {
  result: CaseResult;
  /** Resident set size after the case, bytes. */
  rss: number;
}

const workDir = mkdtempSync(join(tmpdir(), "tsgpt-fuzz-worker-"));
process.on("exit", () => rmSync(workDir, { recursive: true, force: true }));
process.on("disconnect", () => process.exit(0));

process.on("message", (msg: CaseRequest) => {
  const made = (mutation: Mutation) => process.send!({ mutation });
  void runCase(msg.seedsDir, workDir, msg.seed, msg.format, msg.index, msg.backends, made).then((result) => {
    const reply: CaseReply = { result, rss: process.memoryUsage().rss };
    process.send!(reply);
  });
});
process.send!({ ready: true });
