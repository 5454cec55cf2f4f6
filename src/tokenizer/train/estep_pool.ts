// The Unigram E step on several threads: worker threads each compute some lanes of shards
// (train/estep.ts) while the calling thread computes lane 0. The candidate lattices go to the
// workers once, as typed arrays over SharedArrayBuffers (no copy); each step sends only the current vocabulary (a few
// hundred KB) and gets back the lanes' expected counts, whose buffers are transferred.
// Shards are what the library's threads are, so the result is the same on any number of lanes.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { CandidateArrays } from "./candidates.js";
import { laneExpectedCounts, laneViterbiPaths, type LaneCounts, type LanePaths } from "./estep.js";
import type { LatticeModel } from "./lattice.js";

interface Job {
  id: number;
  /** "counts": laneExpectedCounts; "paths": laneViterbiPaths. */
  kind: "counts" | "paths";
  pieceOfSeed: Int32Array;
  scores: Float32Array;
  unkScore: number;
  numShards: number;
  lanes: number;
  lane: number;
}

type Reply = { id: number; result: LaneCounts | LanePaths; error?: undefined } | { id: number; error: string };

/** The worker's program. */
function workerSource(estepUrl: string): string {
  return `
const { parentPort, workerData } = require("node:worker_threads");
import(${JSON.stringify(estepUrl)}).then(({ laneExpectedCounts, laneViterbiPaths }) => {
  const { texts, freq } = workerData;
  parentPort.on("message", (job) => {
    try {
      const model = { pieceOfSeed: job.pieceOfSeed, scores: job.scores, unkScore: job.unkScore };
      if (job.kind === "counts") {
        const result = laneExpectedCounts(texts, freq, model, job.numShards, job.lanes, job.lane);
        parentPort.postMessage({ id: job.id, result }, result.expected.map((e) => e.buffer));
      } else {
        const result = laneViterbiPaths(texts, model, job.numShards, job.lanes, job.lane);
        parentPort.postMessage({ id: job.id, result }, [...result.pieces, ...result.texts].map((e) => e.buffer));
      }
    } catch (err) {
      parentPort.postMessage({ id: job.id, error: String((err && err.message) || err) });
    }
  });
});
`;
}

/** `a` itself if it lives in shared memory (a worker then sees the same memory), else a shared copy. */
function shared<T extends Int32Array | Float64Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const copy = new (a.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
  copy.set(a as never);
  return copy;
}

export class EStepPool {
  private readonly workers: Worker[] = [];
  private jobs = 0;
  private failure: string | null = null;

  /**
   * An E step over `texts` with `numShards` shards on up to `threads` threads (default: every
   * core); never more threads than shards, since a shard is the unit of work.
   */
  constructor(
    private readonly texts: CandidateArrays,
    private readonly freq: Float64Array,
    private readonly numShards: number,
    threads = availableParallelism(),
  ) {
    // Worker threads load the compiled estep.js; from TypeScript sources (tsx) there is none,
    // and the step runs on this thread alone (with the same result).
    const compiled = import.meta.url.endsWith(".js");
    const lanes = compiled ? Math.max(1, Math.min(threads, numShards)) : 1;
    if (lanes === 1) return;
    const workerData = {
      texts: {
        lengths: shared(texts.lengths),
        nodeStart: shared(texts.nodeStart),
        nodeBegin: shared(texts.nodeBegin),
        nodeLength: shared(texts.nodeLength),
        nodeSeed: shared(texts.nodeSeed),
      },
      freq: shared(freq),
    };
    const source = workerSource(new URL("./estep.js", import.meta.url).href);
    for (let i = 1; i < lanes; i++) {
      const worker = new Worker(source, { eval: true, workerData });
      worker.on("error", (e) => (this.failure ??= `an E-step worker failed: ${e.message}`));
      worker.unref();
      this.workers.push(worker);
    }
  }

  get lanes(): number {
    return this.workers.length + 1;
  }

  /** Every lane's expected counts for the vocabulary `model`. */
  run(model: LatticeModel): Promise<LaneCounts[]> {
    return this.onLanes(model, "counts", (lanes) => laneExpectedCounts(this.texts, this.freq, model, this.numShards, lanes, 0)) as Promise<
      LaneCounts[]
    >;
  }

  /** Every lane's Viterbi segmentations for the vocabulary `model`. */
  viterbi(model: LatticeModel): Promise<LanePaths[]> {
    return this.onLanes(model, "paths", (lanes) => laneViterbiPaths(this.texts, model, this.numShards, lanes, 0)) as Promise<LanePaths[]>;
  }

  /** Posts the job to every worker, computes lane 0 here, then waits for the others. */
  private async onLanes(
    model: LatticeModel,
    kind: Job["kind"],
    laneZero: (lanes: number) => LaneCounts | LanePaths,
  ): Promise<Array<LaneCounts | LanePaths>> {
    const id = ++this.jobs;
    const lanes = this.lanes;
    const replies = this.workers.map((w, i) => {
      const job: Job = {
        id,
        kind,
        pieceOfSeed: model.pieceOfSeed,
        scores: model.scores,
        unkScore: model.unkScore,
        numShards: this.numShards,
        lanes,
        lane: i + 1,
      };
      const reply = this.reply(w, id);
      w.postMessage(job);
      return reply;
    });
    const mine = laneZero(lanes);
    return [mine, ...(await Promise.all(replies))];
  }

  private reply(worker: Worker, id: number): Promise<LaneCounts | LanePaths> {
    return new Promise((resolve, reject) => {
      const onMessage = (r: Reply): void => {
        if (r.id !== id) return;
        cleanup();
        if (r.error !== undefined) reject(new Error(r.error));
        else resolve(r.result);
      };
      const onError = (e: Error): void => {
        cleanup();
        reject(new Error(`an E-step worker failed: ${e.message}`));
      };
      const onExit = (code: number): void => {
        cleanup();
        reject(new Error(this.failure ?? `an E-step worker exited (code ${code})`));
      };
      const cleanup = (): void => {
        worker.off("message", onMessage);
        worker.off("error", onError);
        worker.off("exit", onExit);
      };
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("exit", onExit);
    });
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
