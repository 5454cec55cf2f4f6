// Encoding many lines on every core. The batch is written once, as UTF-8 lines joined by "\n",
// into a SharedArrayBuffer and cut into chunks at line ends; worker threads and the calling
// thread claim chunks from one shared counter (Atomics.add) until none is left, so a thread
// that is slower or started late simply takes fewer. Chunks shrink as the batch runs out
// (each about what is left / (2 × threads), never under MIN_CHUNK_BYTES): few claims, and
// little left to wait for at the end. Each chunk's ids come back as an Int32Array whose
// buffer is transferred, not copied.
//
// The workers form one pool for the process, started on first use and kept (unref'd: they do
// not keep the process alive) across calls and encoders; each loads a model once, from its
// bytes, and adopts the caller's piece trie from shared memory instead of building its own.
//
// The API stays synchronous (the corpus builder is): the calling thread encodes chunks itself,
// takes the workers' answers with receiveMessageOnPort, and at the end waits (Atomics.wait)
// for the chunks still being encoded. It never waits on a worker that makes no progress: a
// chunk whose worker stalls for STALL_MS is encoded by the calling thread, and a worker that
// fails says why (an Error naming the worker). The ids are those of encodeAsIds, line for
// line, in order, whatever the number of threads.
//
//   const enc = new ParallelEncoder(sp, 2);
//   const { ids, lengths } = enc.encodeLines(lines);   // lengths[i] ids of lines[i], concatenated
//   enc.close();

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import type { SharedTrie } from "./double_array_trie.js";
import type { SentencePieceProcessor } from "./processor.js";

/** The ids of a batch of lines: lengths[i] ids for line i, one after another. */
export interface EncodedLines {
  ids: Int32Array;
  lengths: Int32Array;
}

/** What each thread did in the last encodeLines call (thread 0 is the caller). */
export interface ParallelStats {
  wallMs: number;
  /** Bytes of UTF-8 text in the batch. */
  bytes: number;
  /** Per thread: chunks and bytes encoded, time spent encoding them, its CPU time where known, and when it started its first chunk (ms after the call began). */
  threads: { chunks: number; bytes: number; busyMs: number; cpuMs: number | null; firstMs: number | null }[];
}

/** Chunks are at least this many bytes of text. */
const MIN_CHUNK_BYTES = 1 << 16;
/** A worker whose chunk makes no progress for this long is done without (its chunk encoded here). */
const STALL_MS = 2000;

// The shared control words of a job.
const NEXT_CHUNK = 0;
const DONE = 1;
/** Then one progress counter per worker (lines encoded), then one state per chunk. */
const HEADER = 2;
const FREE = 0,
  CLAIMED = 1,
  FINISHED = 2,
  TAKEN_OVER = 3;

/** A job as the workers see it. */
interface Job {
  kind: "job";
  id: number;
  model: string;
  control: SharedArrayBuffer;
  text: SharedArrayBuffer;
  length: number;
  /** Chunk c is text[bounds[c], bounds[c + 1]). */
  bounds: Int32Array;
  workers: number;
  stats: boolean;
  fault?: "throw" | "exit";
}

interface ModelMessage {
  kind: "model";
  key: string;
  bytes: Uint8Array;
  trie: SharedTrie;
}

/** One chunk's answer from a worker. */
interface ChunkResult extends EncodedLines {
  job: number;
  chunk: number;
  error?: string;
  busyMs: number;
  cpuMs: number | null;
  /** When the chunk was started (performance.timeOrigin + performance.now(), comparable across threads). */
  startedAt: number;
}

interface Lane {
  worker: Worker;
  port: MessagePort;
  models: Set<string>;
  dead: string | null;
}

/** The process's worker pool (grown on demand, never shrunk but for workers that died). */
const pool: Lane[] = [];

function startLane(): Lane {
  const { port1, port2 } = new MessageChannel();
  const url = new URL("./parallel_encode.js", import.meta.url).href;
  // Plain JS that imports this module, so it runs from src/ under tsx and from dist/ alike.
  const source = `import(${JSON.stringify(url)}).then((m) => m.runEncodeWorker(require("node:worker_threads").workerData.port));`;
  const worker = new Worker(source, { eval: true, workerData: { port: port2 }, transferList: [port2] });
  worker.unref();
  port1.unref();
  const lane: Lane = { worker, port: port1, models: new Set(), dead: null };
  worker.on("error", (err) => {
    lane.dead = String(err?.message ?? err);
  });
  worker.on("exit", (code) => {
    lane.dead ??= `exited with code ${code}`;
  });
  return lane;
}

/** The key of a model's bytes (the workers keep models by it). */
function modelKey(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export class ParallelEncoder {
  private readonly workers: number;
  private readonly key: string;
  private readonly bytes: Uint8Array;
  private trie: SharedTrie | null = null;
  private jobs = 0;
  /** For tests: make the workers fail ("throw" in a chunk, or "exit" the thread mid-chunk). */
  faultForTests: "throw" | "exit" | undefined;
  /** What each thread did in the last encodeLines call. */
  lastStats: ParallelStats | null = null;

  /** `threads`: how many threads encode in all (the caller's included); default: every core. */
  constructor(
    private readonly sp: SentencePieceProcessor,
    threads = availableParallelism(),
  ) {
    if (!Number.isInteger(threads) || threads < 1)
      throw new RangeError(`ParallelEncoder: threads must be a positive integer, got ${threads}`);
    this.workers = threads - 1;
    this.bytes = threads > 1 ? sp.modelBytes() : new Uint8Array(0);
    this.key = threads > 1 ? modelKey(this.bytes) : "";
    // Start the workers and give them the model now: the first batch need not wait for them.
    for (const lane of this.lanes()) this.ensureModel(lane);
  }

  get threads(): number {
    return this.workers + 1;
  }

  /** Encodes `lines` (as encodeAsIds does, in order), in chunks over the threads. */
  encodeLines(lines: readonly string[]): EncodedLines {
    const start = performance.now(),
      cpu0 = threadCpuMs();
    if (lines.length === 0) return { ids: new Int32Array(0), lengths: new Int32Array(0) };
    // One thread runs the same code with no worker: the figures compare like with like.
    const lanes = this.workers > 0 ? this.lanes() : [];
    for (const lane of lanes) this.ensureModel(lane);
    const job = this.makeJob(lines, lanes.length);
    const text = new Uint8Array(job.text, 0, job.length);
    const control = new Int32Array(job.control);
    const chunks = job.bounds.length - 1;
    const results: (EncodedLines | undefined)[] = new Array(chunks);
    const stats = newStats(lanes.length + 1, job.length);
    for (const lane of lanes) lane.port.postMessage(job);
    const take = (m: ChunkResult, lane: number): void => {
      if (m.job !== job.id) return; // an earlier batch's
      if (m.error) throw new Error(`ParallelEncoder: worker ${lane + 1} failed: ${m.error}`);
      if (results[m.chunk]) return;
      results[m.chunk] = m;
      const t = stats.threads[lane + 1]!;
      t.chunks++;
      t.bytes += job.bounds[m.chunk + 1]! - job.bounds[m.chunk]!;
      t.busyMs += m.busyMs;
      t.cpuMs = m.cpuMs === null || t.cpuMs === null ? null : t.cpuMs + m.cpuMs;
      const first = m.startedAt - (performance.timeOrigin + start);
      t.firstMs = t.firstMs === null ? first : Math.min(t.firstMs, first);
    };
    const drain = (): void => {
      lanes.forEach((lane, i) => {
        for (let m = receiveMessageOnPort(lane.port); m; m = receiveMessageOnPort(lane.port)) take(m.message as ChunkResult, i);
      });
    };
    const here = stats.threads[0]!;
    // This thread takes chunks too (the workers may still be starting).
    for (;;) {
      const chunk = Atomics.add(control, NEXT_CHUNK, 1);
      if (chunk >= chunks) break;
      Atomics.store(control, HEADER + job.workers + chunk, CLAIMED);
      const t = performance.now();
      here.firstMs ??= t - start;
      results[chunk] = encodeChunk(this.sp, text, job.bounds, chunk);
      here.busyMs += performance.now() - t;
      here.chunks++;
      here.bytes += job.bounds[chunk + 1]! - job.bounds[chunk]!;
      Atomics.store(control, HEADER + job.workers + chunk, FINISHED);
      drain();
    }
    // Then the chunks the workers are still on: wait for them while they progress.
    for (let chunk = 0; chunk < chunks; chunk++) {
      let beats = progress(control, job.workers),
        since = performance.now();
      while (!results[chunk]) {
        drain();
        if (results[chunk]) break;
        const done = Atomics.load(control, DONE);
        if (Atomics.load(control, HEADER + job.workers + chunk) === FINISHED) continue; // its message is on the way
        Atomics.wait(control, DONE, done, 5);
        const now = progress(control, job.workers);
        if (now !== beats) {
          beats = now;
          since = performance.now();
        } else if (performance.now() - since > STALL_MS) {
          const dead = lanes.find((l) => l.dead);
          if (dead) throw new Error(`ParallelEncoder: worker ${lanes.indexOf(dead) + 1} failed: ${dead.dead}`);
          // A stalled worker (or one that died without a word): encode its chunk here.
          const state = Atomics.load(control, HEADER + job.workers + chunk);
          if (state !== FINISHED && Atomics.compareExchange(control, HEADER + job.workers + chunk, state, TAKEN_OVER) === state) {
            results[chunk] = encodeChunk(this.sp, text, job.bounds, chunk);
            here.chunks++;
            here.bytes += job.bounds[chunk + 1]! - job.bounds[chunk]!;
          }
        }
      }
    }
    const out = concat(results as EncodedLines[]);
    const cpu1 = threadCpuMs();
    here.cpuMs = cpu0 === null || cpu1 === null ? null : cpu1 - cpu0;
    // A line with a newline of its own was cut in two in the joined text: encode line by line.
    if (out.lengths.length !== lines.length) return this.encodeHere(lines, start, cpu0);
    stats.wallMs = performance.now() - start;
    this.lastStats = stats;
    return out;
  }

  /** Lets go of the workers (they stay in the pool, idle and unref'd, for the next encoder). */
  close(): void {
    this.trie = null;
  }

  /** Stops every worker of the pool (a later encoder starts new ones). */
  static shutdown(): Promise<void> {
    const lanes = pool.splice(0);
    return Promise.all(lanes.map((l) => l.worker.terminate())).then(() => undefined);
  }

  /** The pool's first `workers` live workers, started as needed. */
  private lanes(): Lane[] {
    for (let i = pool.length - 1; i >= 0; i--) if (pool[i]!.dead) pool.splice(i, 1);
    while (pool.length < this.workers) pool.push(startLane());
    return pool.slice(0, this.workers);
  }

  private ensureModel(lane: Lane): void {
    if (lane.models.has(this.key)) return;
    this.trie ??= this.sp.sharedTrie();
    const msg: ModelMessage = { kind: "model", key: this.key, bytes: this.bytes, trie: this.trie };
    lane.port.postMessage(msg);
    lane.models.add(this.key);
  }

  /** The lines as UTF-8 joined by "\n" in shared memory, and the chunk bounds (at line ends). */
  private makeJob(lines: readonly string[], workers: number): Job {
    // Line by line into a buffer sized for the worst case (3 bytes per UTF-16 unit): quicker
    // than joining the lines into one string first.
    let units = lines.length;
    for (const l of lines) units += l.length;
    const text = Buffer.from(new SharedArrayBuffer(units * 3));
    let length = 0;
    for (let i = 0; i < lines.length; i++) {
      if (i > 0) text[length++] = 0x0a;
      length += text.write(lines[i]!, length);
    }
    const threads = workers + 1;
    const bounds = [0];
    for (let at = 0; at < length; ) {
      const want = Math.max(MIN_CHUNK_BYTES, Math.ceil((length - at) / (2 * threads)));
      let end = at + want >= length ? length : text.indexOf(0x0a, at + want);
      end = end < 0 ? length : end + 1;
      if (length - end < MIN_CHUNK_BYTES / 2) end = length; // no crumb at the end
      bounds.push(end);
      at = end;
    }
    if (length === 0) bounds.push(0); // one chunk: the empty lines
    const chunks = bounds.length - 1;
    const control = new SharedArrayBuffer(4 * (HEADER + workers + chunks));
    return {
      kind: "job",
      id: ++this.jobs,
      model: this.key,
      control,
      text: text.buffer as unknown as SharedArrayBuffer,
      length,
      bounds: Int32Array.from(bounds),
      workers,
      stats: true,
      fault: this.faultForTests,
    };
  }

  /** One thread, line by line, for batches that cannot be joined by newlines. */
  private encodeHere(lines: readonly string[], start: number, cpu0: number | null): EncodedLines {
    const lengths = new Int32Array(lines.length);
    const parts: number[][] = [];
    lines.forEach((l, i) => {
      const ids = this.sp.encodeAsIds(l);
      lengths[i] = ids.length;
      parts.push(ids);
    });
    const ids = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      ids.set(p, at);
      at += p.length;
    }
    const cpu1 = threadCpuMs();
    const wallMs = performance.now() - start;
    this.lastStats = {
      wallMs,
      bytes: 0,
      threads: [{ chunks: 1, bytes: 0, busyMs: wallMs, cpuMs: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0, firstMs: 0 }],
    };
    return { ids, lengths };
  }
}

function newStats(threads: number, bytes: number): ParallelStats {
  return {
    wallMs: 0,
    bytes,
    threads: Array.from({ length: threads }, () => ({
      chunks: 0,
      bytes: 0,
      busyMs: 0,
      cpuMs: 0 as number | null,
      firstMs: null as number | null,
    })),
  };
}

/** The sum of the workers' progress counters. */
function progress(control: Int32Array, workers: number): number {
  let n = 0;
  for (let w = 0; w < workers; w++) n += Atomics.load(control, HEADER + w);
  return n;
}

/** This thread's CPU time in ms (Linux: /proc/thread-self/schedstat), or null where unknown. */
function threadCpuMs(): number | null {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]) / 1e6;
  } catch {
    return null;
  }
}

/**
 * The ids of chunk c: the lines of text[bounds[c], bounds[c + 1]). Every chunk but the last
 * ends with a "\n"; the last ends the last line (empty when the text ends with "\n").
 * `beat` counts the lines done (a worker's progress, for the caller's stall check).
 */
function encodeChunk(sp: SentencePieceProcessor, text: Uint8Array, bounds: Int32Array, c: number, beat?: () => void): EncodedLines {
  const from = bounds[c]!,
    to = bounds[c + 1]!,
    last = c === bounds.length - 2;
  const lengths: number[] = [];
  let ids = new Int32Array(Math.max(64, (to - from) >> 1));
  let n = 0;
  for (let p = from; ; ) {
    let e = text.indexOf(0x0a, p);
    const lineEnd = e < 0 || e >= to;
    if (lineEnd) {
      if (!last) break;
      e = to;
    }
    const line = sp.encodeUtf8AsIds(text.subarray(p, e), true);
    if (n + line.length > ids.length) {
      const grown = new Int32Array(Math.max(ids.length * 2, n + line.length));
      grown.set(ids.subarray(0, n));
      ids = grown;
    }
    for (let k = 0; k < line.length; k++) ids[n++] = line[k]!;
    lengths.push(line.length);
    beat?.();
    if (lineEnd) break;
    p = e + 1;
    if (p >= to && !last) break;
  }
  return { ids: ids.slice(0, n), lengths: Int32Array.from(lengths) };
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

/**
 * A pool worker's program: keeps the models it is given (by key, the last few), and for each
 * job claims chunks until none is left, posting each chunk's ids (or the error) back.
 */
export async function runEncodeWorker(port: MessagePort): Promise<void> {
  const { SentencePieceProcessor } = await import("./processor.js");
  const models = new Map<string, SentencePieceProcessor>();
  port.on("message", (msg: ModelMessage | Job) => {
    if (msg.kind === "model") {
      const sp = SentencePieceProcessor.fromBytes(msg.bytes, "<worker model>");
      sp.useSharedTrie(msg.trie);
      models.set(msg.key, sp);
      if (models.size > 4) models.delete(models.keys().next().value!);
      return;
    }
    runJob(msg, models.get(msg.model), port);
  });
}

function runJob(job: Job, sp: SentencePieceProcessor | undefined, port: MessagePort): void {
  const control = new Int32Array(job.control);
  const text = new Uint8Array(job.text, 0, job.length);
  const chunks = job.bounds.length - 1;
  // Which worker this is: the first free progress slot.
  let slot = -1;
  for (let w = 0; w < job.workers && slot < 0; w++) if (Atomics.compareExchange(control, HEADER + w, 0, 1) === 0) slot = w;
  if (slot < 0 || !sp) return; // more workers than slots (an older pool), or no model: the others do it
  const beat = (): void => void Atomics.add(control, HEADER + slot, 1);
  for (;;) {
    const chunk = Atomics.add(control, NEXT_CHUNK, 1);
    if (chunk >= chunks) break;
    const state = HEADER + job.workers + chunk;
    Atomics.store(control, state, CLAIMED);
    const cpu0 = job.stats ? threadCpuMs() : null;
    const t = performance.now();
    try {
      if (job.fault === "throw") throw new Error("fault injected for a test");
      if (job.fault === "exit") process.exit(3);
      const { ids, lengths } = encodeChunk(sp, text, job.bounds, chunk, beat);
      const cpu1 = job.stats ? threadCpuMs() : null;
      const result: ChunkResult = {
        job: job.id,
        chunk,
        ids,
        lengths,
        busyMs: performance.now() - t,
        cpuMs: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0,
        startedAt: performance.timeOrigin + t,
      };
      port.postMessage(result, [ids.buffer as ArrayBuffer, lengths.buffer as ArrayBuffer]);
    } catch (err) {
      port.postMessage({ job: job.id, chunk, error: String((err as Error)?.message ?? err) });
    }
    // Posted first, then marked: a FINISHED chunk's message is already waiting.
    Atomics.compareExchange(control, state, CLAIMED, FINISHED);
    Atomics.add(control, DONE, 1);
    Atomics.notify(control, DONE);
  }
}

// Keeps FREE referenced for readers of the state machine above (claims start from it).
void FREE;
