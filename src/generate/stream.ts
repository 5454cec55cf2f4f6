// Streaming text out of the generation loop.
//
// Two pieces live here:
// - StopStringFilter: releases text as it arrives but holds back any tail that could still
//   turn into a stop string, so a stop string is never shown even partly.
// - TextStream: the async iterator of text pieces that `stream()` returns. It pulls the
//   generation loop one token at a time (no work happens while nobody reads), so leaving a
//   `for await` loop early stops generating; `result` resolves with the full result.
//
// Characters split over several byte-fallback tokens (Korean, emoji) are assembled by the
// tokenizer's incremental decoder (createStreamDecoder) before text reaches these classes,
// so no piece ever holds half a character.

/** Finds stop strings in streamed text; what could still become one is held back. */
export class StopStringFilter {
  private held = "";
  private readonly stops: string[];
  private readonly longest: number;

  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0);
    this.longest = Math.max(0, ...this.stops.map((s) => s.length));
  }

  /**
   * Adds text. Returns the part that is safe to show, and whether a stop string was completed
   * (then `text` is everything before it and the rest is dropped).
   */
  push(piece: string): { text: string; stopped: boolean } {
    this.held += piece;
    if (this.stops.length === 0) return this.release(this.held.length);
    let first = -1;
    for (const s of this.stops) {
      const at = this.held.indexOf(s);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    }
    if (first >= 0) {
      const text = this.held.slice(0, first);
      this.held = "";
      return { text, stopped: true };
    }
    return this.release(this.held.length - this.partialStopLength());
  }

  /** End of text: whatever was held back is not a stop string after all. */
  flush(): string {
    const text = this.held;
    this.held = "";
    return text;
  }

  /** Length of the longest suffix of `held` that is a proper prefix of some stop string. */
  private partialStopLength(): number {
    for (let n = Math.min(this.longest - 1, this.held.length); n > 0; n--) {
      const tail = this.held.slice(this.held.length - n);
      if (this.stops.some((s) => s.startsWith(tail))) return n;
    }
    return 0;
  }

  private release(n: number): { text: string; stopped: boolean } {
    const text = this.held.slice(0, n);
    this.held = this.held.slice(n);
    return { text, stopped: false };
  }
}

/**
 * An async iterable of text pieces with the final result on the side:
 *
 *   const s = generator.stream("Once upon a time", { maxNewTokens: 50 });
 *   for await (const piece of s) process.stdout.write(piece);
 *   const { tokens, logprobs } = await s.result;
 */
export class TextStream<R> implements AsyncIterable<string> {
  /** Resolves when the stream has been read to the end; rejects on error or abort. */
  readonly result: Promise<R>;
  private resolve!: (r: R) => void;
  private reject!: (e: unknown) => void;
  private started = false;

  constructor(private readonly source: AsyncGenerator<string, R, void>) {
    this.result = new Promise<R>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    // Nobody may await `result`; avoid an unhandled-rejection crash when only the loop sees the error.
    this.result.catch(() => undefined);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<string, void, void> {
    if (this.started) throw new Error("a TextStream can be iterated only once");
    this.started = true;
    try {
      for (;;) {
        const step = await this.source.next();
        if (step.done) {
          this.resolve(step.value);
          return;
        }
        if (step.value.length > 0) yield step.value;
      }
    } catch (err) {
      this.reject(err);
      throw err;
    } finally {
      // Leaving early (break / return): stop the generation loop and say so in `result`.
      await this.source.return(undefined as unknown as R).catch(() => undefined);
      this.reject(new Error("the stream was closed before the end"));
    }
  }

  /** Reads the stream to the end and returns the result (the text pieces are discarded). */
  async collect(): Promise<R> {
    for await (const _ of this) {
      /* drain */
    }
    return this.result;
  }
}
