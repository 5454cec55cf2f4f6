// Encoding many lines on every core: worker threads, each with its own copy of the model, and
// the calling thread all take chunks of the batch from one shared counter (Atomics.add) until
// none is left, so a thread that is slower or started late simply takes fewer. The batch goes
// to the workers once, as UTF-8 in a SharedArrayBuffer with line offsets (no copy per worker);
// each chunk's ids come back as an Int32Array whose buffer is transferred, not copied.
//
// The API stays synchronous (the corpus builder is): the calling thread encodes chunks itself,
// takes the workers' answers with receiveMessageOnPort, and at the end encodes any chunk still
// missing itself too, so it never waits on a worker. The ids are those of encodeAsIds, line for line, in order, whatever
// the number of threads. Workers start in the background: the first batch does not wait for them.
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

/** One chunk's answer from a worker. */
interface ChunkResult extends EncodedLines {
  job: number;
  chunk: number;
  error?: string;
}

interface Lane {
  worker: Worker;
  port: MessagePort;
}

// The shared control word of a job: the next chunk to take.
const NEXT_CHUNK = 0;

/** Chunks are at least this many bytes of text, and each thread gets about CHUNKS_PER_THREAD. */
const MIN_CHUNK_BYTES = 1 << 15;
const CHUNKS_PER_THREAD = 32;

/** The worker's program (plain JS, so it runs from src/ under tsx and from dist/ alike). */
function workerSource(processorUrl: string): string {
  return `
const { workerData } = require("node:worker_threads");
import(${JSON.stringify(processorUrl)}).then(({ SentencePieceProcessor }) => {
  const sp = SentencePieceProcessor.fromBytes(workerData.model, "<worker>");
  sp.useSharedTrie(workerData.trie);
  const port = workerData.port;
  port.on("message", (job) => {
    const control = new Int32Array(job.control);
    const text = new Uint8Array(job.text);
    const offsets = new Int32Array(job.offsets);
    const chunkStarts = new Int32Array(job.chunkStarts);
    const chunks = chunkStarts.length - 1;
    for (;;) {
      const chunk = Atomics.add(control, ${NEXT_CHUNK}, 1);
      if (chunk >= chunks) break;
      let result;
      try {
        const from = chunkStarts[chunk], to = chunkStarts[chunk + 1];
        const lengths = new Int32Array(to - from);
        const parts = [];
        let total = 0;
        for (let i = from; i < to; i++) {
          const ids = sp.encodeUtf8AsIds(text.subarray(offsets[i], offsets[i + 1]), true);
          lengths[i - from] = ids.length;
          total += ids.length;
          parts.push(ids);
        }
        const ids = new Int32Array(total);
        let at = 0;
        for (const p of parts) { ids.set(p, at); at += p.length; }
        port.postMessage({ job: job.id, chunk, ids, lengths }, [ids.buffer, lengths.buffer]);
      } catch (err) {
        port.postMessage({ job: job.id, chunk, error: String((err && err.message) || err) });
      }
    }
  });
});
`;
}

export class ParallelEncoder {
  private readonly lanes: Lane[] = [];
  private jobs = 0;

  /** `threads`: how many threads encode in all (the caller's included); default: every core. */
  constructor(
    private readonly sp: SentencePieceProcessor,
    threads = availableParallelism(),
  ) {
    if (!Number.isInteger(threads) || threads < 1)
      throw new RangeError(`ParallelEncoder: threads must be a positive integer, got ${threads}`);
    if (threads === 1) return;
    const model = sp.serialize();
    const trie = sp.sharedTrie();
    const source = workerSource(new URL("./processor.js", import.meta.url).href);
    for (let index = 0; index < threads - 1; index++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(source, { eval: true, workerData: { model, trie, port: port2 }, transferList: [port2] });
      worker.unref();
      this.lanes.push({ worker, port: port1 });
    }
  }

  get threads(): number {
    return this.lanes.length + 1;
  }

  /** Encodes `lines` (as encodeAsIds does, in order), in chunks over the threads. */
  encodeLines(lines: readonly string[]): EncodedLines {
    if (lines.length === 0) return { ids: new Int32Array(0), lengths: new Int32Array(0) };
    const job = this.share(lines);
    const chunks = job.chunkStarts.length - 1;
    const control = new Int32Array(job.control);
    const results: (EncodedLines | undefined)[] = new Array(chunks);
    for (const lane of this.lanes) lane.port.postMessage(job);
    let received = 0;
    // This thread takes chunks too (the workers may still be starting).
    for (;;) {
      const chunk = Atomics.add(control, NEXT_CHUNK, 1);
      if (chunk >= chunks) break;
      results[chunk] = this.encodeChunk(lines, job.chunkStarts[chunk]!, job.chunkStarts[chunk + 1]!);
      received += 1 + this.drain(job.id, results);
    }
    // Then the chunks the workers took: rather than wait for a slow one (still cold, or short
    // of CPU), this thread encodes the first missing chunk itself; whichever copy comes first
    // is kept (both are the same ids).
    received += this.drain(job.id, results);
    for (let chunk = 0; received < chunks && chunk < chunks; chunk++) {
      if (results[chunk]) continue;
      results[chunk] = this.encodeChunk(lines, job.chunkStarts[chunk]!, job.chunkStarts[chunk + 1]!);
      received += 1 + this.drain(job.id, results);
    }
    return concat(results as EncodedLines[]);
  }

  /** Stops the workers. */
  close(): void {
    for (const lane of this.lanes) {
      lane.port.close();
      void lane.worker.terminate();
    }
    this.lanes.length = 0;
  }

  /** The lines as UTF-8 in shared memory, line offsets, and chunk boundaries (line indices). */
  private share(lines: readonly string[]) {
    const encoder = new TextEncoder();
    let capacity = 0;
    for (const l of lines) capacity += l.length * 3;
    const text = new Uint8Array(new SharedArrayBuffer(Math.max(1, capacity)));
    const offsets = new Int32Array(new SharedArrayBuffer(4 * (lines.length + 1)));
    let at = 0;
    for (let i = 0; i < lines.length; i++) {
      offsets[i] = at;
      at += encoder.encodeInto(lines[i]!, text.subarray(at)).written;
    }
    offsets[lines.length] = at;
    const chunkBytes = Math.max(MIN_CHUNK_BYTES, Math.ceil(at / (this.threads * CHUNKS_PER_THREAD)));
    const starts = [0];
    for (let i = 0, last = 0; i < lines.length; i++) {
      if (offsets[i + 1]! - offsets[last]! >= chunkBytes) {
        starts.push(i + 1);
        last = i + 1;
      }
    }
    if (starts[starts.length - 1] !== lines.length) starts.push(lines.length);
    const chunkStarts = new Int32Array(new SharedArrayBuffer(4 * starts.length));
    chunkStarts.set(starts);
    const control = new SharedArrayBuffer(4);
    return {
      id: ++this.jobs,
      control,
      text: text.buffer as SharedArrayBuffer,
      offsets: offsets.buffer as SharedArrayBuffer,
      chunkStarts,
    };
  }

  private encodeChunk(lines: readonly string[], from: number, to: number): EncodedLines {
    const lengths = new Int32Array(to - from);
    const parts: number[][] = [];
    let total = 0;
    for (let i = from; i < to; i++) {
      const ids = this.sp.encodeAsIds(lines[i]!);
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

  /** Takes every answer waiting on the workers' ports; returns how many chunks arrived. */
  private drain(job: number, results: (EncodedLines | undefined)[]): number {
    let n = 0;
    for (let i = 0; i < this.lanes.length; i++) {
      for (let m = receiveMessageOnPort(this.lanes[i]!.port); m; m = receiveMessageOnPort(this.lanes[i]!.port)) {
        const r = m.message as ChunkResult;
        if (r.job !== job || results[r.chunk]) continue; // an earlier batch's, or encoded here meanwhile
        if (r.error) throw new Error(`ParallelEncoder: worker ${i + 1} failed: ${r.error}`);
        results[r.chunk] = { ids: r.ids, lengths: r.lengths };
        n++;
      }
    }
    return n;
  }
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
