// A first-in, first-out queue of generations: at most `concurrency` run at once, at most
// `maxQueued` wait; one more is refused (the server answers HTTP 429).
//
// Why a queue: generation is CPU-bound, so running many at once only makes each one slower.
// A waiting request whose client goes away (its AbortSignal fires) leaves the queue at once,
// and a running one frees its slot when its task settles, however it ends.
import { ApiError } from "./errors.js";
import { nonNegativeInt, positiveInt } from "../util/validate.js";

export interface QueueStats {
  running: number;
  waiting: number;
  concurrency: number;
  maxQueued: number;
}

interface Waiter {
  start: () => void;
  cancel: (reason: unknown) => void;
}

export class GenerationQueue {
  private running = 0;
  private readonly waiting: Waiter[] = [];

  constructor(
    readonly concurrency = 1,
    readonly maxQueued = 16,
  ) {
    positiveInt("concurrency", concurrency);
    nonNegativeInt("maxQueued", maxQueued);
  }

  stats(): QueueStats {
    return { running: this.running, waiting: this.waiting.length, concurrency: this.concurrency, maxQueued: this.maxQueued };
  }

  /**
   * Runs `task` when a slot is free. Throws ApiError 429 at once when the queue is full; rejects
   * with the signal's reason when it aborts while waiting. `onQueued` gets the position
   * (1 = next) when the task has to wait.
   */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal, onQueued?: (position: number) => void): Promise<T> {
    signal?.throwIfAborted();
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.maxQueued) {
        throw new ApiError(
          429,
          `the server is busy: ${this.running} generation(s) running and ${this.waiting.length} waiting; retry later`,
          null,
          "queue_full",
        );
      }
      onQueued?.(this.waiting.length + 1);
      await this.wait(signal); // the slot is handed over by the task that ends, already counted
    } else {
      this.running++;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next)
        next.start(); // hand the slot over directly, so no newcomer can take it in between
      else this.running--;
    }
  }

  private wait(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        start: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        cancel: (reason) => {
          signal?.removeEventListener("abort", onAbort);
          reject(reason);
        },
      };
      this.waiting.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Refuses everything still waiting (server shutdown). */
  cancelAll(reason: unknown): void {
    for (const w of this.waiting.splice(0)) w.cancel(reason);
  }
}
