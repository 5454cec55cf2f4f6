// Server-sent events, as the OpenAI API streams: one `data: {json}\n\n` per chunk, then
// `data: [DONE]\n\n`. Writing waits for the socket to drain, so a slow reader slows the
// generation down instead of filling the server's memory, up to a bound: a client that has not
// read for writeTimeoutMs is dropped.
import type { ServerResponse } from "node:http";

export class SseWriter {
  private closed = false;

  /** `writeTimeoutMs`: how long a write may wait for the client to drain before it is dropped. */
  constructor(
    private readonly res: ServerResponse,
    private readonly writeTimeoutMs = 30_000,
  ) {
    res.on("close", () => {
      this.closed = true;
    });
  }

  /** Sends the headers (status 200); call before the first event. */
  open(headers: Record<string, string> = {}): void {
    this.res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no", // proxies: do not buffer the stream
      ...headers,
    });
    this.res.flushHeaders();
  }

  /** True once the client has gone away (or the stream was ended). */
  get isClosed(): boolean {
    return this.closed || this.res.destroyed;
  }

  /** One `data:` event with a JSON payload. */
  send(data: unknown): Promise<void> {
    return this.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** The final `data: [DONE]` marker, then the end of the response. */
  async done(): Promise<void> {
    await this.write("data: [DONE]\n\n");
    this.end();
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end();
  }

  private write(text: string): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    if (this.res.write(text)) return Promise.resolve();
    return new Promise((resolve) => {
      // A client that does not read within the bound is dropped: destroying the response
      // closes it, which aborts the generation and frees its slot in the queue.
      const timer = setTimeout(
        () => this.res.destroy(new Error(`the client did not read for ${this.writeTimeoutMs} ms`)),
        this.writeTimeoutMs,
      );
      const done = () => {
        clearTimeout(timer);
        this.res.off("drain", done);
        this.res.off("close", done);
        resolve();
      };
      this.res.on("drain", done);
      this.res.on("close", done);
    });
  }
}
