// Encoding many lines on every core: worker threads, each with its own copy of the model,
// encode slices of a batch while the calling thread encodes the first slice. The API stays
// synchronous (the corpus builder is): the caller blocks on a shared flag (Atomics.wait) and
// takes each worker's answer with receiveMessageOnPort. The ids are those of encodeAsIds,
// line for line, in order, whatever the number of threads.
//
//   const enc = new ParallelEncoder(sp, 2);
//   const { ids, lengths } = enc.encodeLines(lines);   // lengths[i] ids of lines[i], concatenated
//   enc.close();

import { availableParallelism } from "node:os";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import type { SentencePieceProcessor } from "./processor.js";

/** The ids of a batch of lines: lengths[i] ids for line i, one after another. */
export interface EncodedLines {
  ids: Int32Array;
  lengths: Int32Array;
}

interface Lane {
  worker: Worker;
  port: MessagePort;
}

/** The worker's program (plain JS, so it runs from src/ under tsx and from dist/ alike). */
function workerSource(processorUrl: string): string {
  return `
const { workerData } = require("node:worker_threads");
import(${JSON.stringify(processorUrl)}).then(({ SentencePieceProcessor }) => {
  const sp = SentencePieceProcessor.fromBytes(workerData.model, "<worker>");
  const flags = new Int32Array(workerData.flags);
  const port = workerData.port;
  port.on("message", (lines) => {
    let result;
    try {
      const lengths = new Int32Array(lines.length);
      const parts = [];
      let total = 0;
      for (let i = 0; i < lines.length; i++) {
        const ids = sp.encodeAsIds(lines[i]);
        lengths[i] = ids.length;
        total += ids.length;
        parts.push(ids);
      }
      const ids = new Int32Array(total);
      let at = 0;
      for (const p of parts) { ids.set(p, at); at += p.length; }
      result = { ids, lengths };
    } catch (err) {
      result = { error: String(err && err.message || err) };
    }
    port.postMessage(result);
    Atomics.store(flags, workerData.index, 1);
    Atomics.notify(flags, workerData.index);
  });
  Atomics.store(flags, workerData.index, 1);
  Atomics.notify(flags, workerData.index);
});
`;
}

export class ParallelEncoder {
  private readonly lanes: Lane[] = [];
  private readonly flags: Int32Array;

  /** `threads`: how many threads encode in all (the caller's included); default: every core. */
  constructor(
    private readonly sp: SentencePieceProcessor,
    threads = availableParallelism(),
  ) {
    if (!Number.isInteger(threads) || threads < 1)
      throw new RangeError(`ParallelEncoder: threads must be a positive integer, got ${threads}`);
    this.flags = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, threads - 1)));
    const model = sp.serialize();
    const source = workerSource(new URL("./processor.js", import.meta.url).href);
    for (let index = 0; index < threads - 1; index++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(source, {
        eval: true,
        workerData: { model, flags: this.flags.buffer, index, port: port2 },
        transferList: [port2],
      });
      worker.unref();
      this.lanes.push({ worker, port: port1 });
    }
    for (let i = 0; i < this.lanes.length; i++) this.wait(i, 60_000, "start");
  }

  get threads(): number {
    return this.lanes.length + 1;
  }

  /** Encodes `lines` (as encodeAsIds does, in order), splitting them over the threads. */
  encodeLines(lines: readonly string[]): EncodedLines {
    const n = this.threads;
    // Slices of about equal text length, so that no thread waits long for another.
    const bounds = splitByLength(lines, n);
    for (let i = 0; i < this.lanes.length; i++) {
      Atomics.store(this.flags, i, 0);
      this.lanes[i]!.port.postMessage(lines.slice(bounds[i + 1]!, bounds[i + 2]!));
    }
    const parts: EncodedLines[] = [encodeHere(this.sp, lines, bounds[0]!, bounds[1]!)];
    for (let i = 0; i < this.lanes.length; i++) parts.push(this.receive(i));
    return concat(parts);
  }

  /** Stops the workers. */
  close(): void {
    for (const lane of this.lanes) {
      lane.port.close();
      void lane.worker.terminate();
    }
    this.lanes.length = 0;
  }

  private receive(i: number): EncodedLines {
    this.wait(i, 600_000, "answer");
    for (;;) {
      const m = receiveMessageOnPort(this.lanes[i]!.port);
      if (m) {
        const r = m.message as EncodedLines & { error?: string };
        if (r.error) throw new Error(`ParallelEncoder: worker ${i + 1} failed: ${r.error}`);
        return r;
      }
      Atomics.wait(this.flags, i, 1, 1); // the message trails the flag by a moment
    }
  }

  private wait(i: number, ms: number, what: string): void {
    if (Atomics.wait(this.flags, i, 0, ms) === "timed-out" && Atomics.load(this.flags, i) === 0) {
      throw new Error(`ParallelEncoder: worker ${i + 1} did not ${what} within ${ms / 1000} s`);
    }
  }
}

function encodeHere(sp: SentencePieceProcessor, lines: readonly string[], from: number, to: number): EncodedLines {
  const lengths = new Int32Array(to - from);
  const parts: number[][] = [];
  let total = 0;
  for (let i = from; i < to; i++) {
    const ids = sp.encodeAsIds(lines[i]!);
    lengths[i - from] = ids.length;
    total += ids.length;
    parts.push(ids);
  }
  const ids = new Int32Array(total);
  let at = 0;
  for (const p of parts) {
    ids.set(p, at);
    at += p.length;
  }
  return { ids, lengths };
}

/** n + 1 line indices cutting `lines` into n runs of about equal character count. */
function splitByLength(lines: readonly string[], n: number): number[] {
  let total = 0;
  for (const l of lines) total += l.length + 1;
  const bounds = [0];
  let acc = 0,
    next = total / n;
  for (let i = 0; i < lines.length && bounds.length < n; i++) {
    acc += lines[i]!.length + 1;
    if (acc >= next) {
      bounds.push(i + 1);
      next = (total * bounds.length) / n;
    }
  }
  while (bounds.length <= n) bounds.push(lines.length);
  bounds[n] = lines.length;
  return bounds;
}

function concat(parts: EncodedLines[]): EncodedLines {
  let ni = 0,
    nl = 0;
  for (const p of parts) {
    ni += p.ids.length;
    nl += p.lengths.length;
  }
  const ids = new Int32Array(ni),
    lengths = new Int32Array(nl);
  let ai = 0,
    al = 0;
  for (const p of parts) {
    ids.set(p.ids, ai);
    ai += p.ids.length;
    lengths.set(p.lengths, al);
    al += p.lengths.length;
  }
  return { ids, lengths };
}
