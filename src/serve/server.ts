// createServer: the OpenAI-compatible HTTP API and the web playground, on node:http.
//
//   GET  /health                 {"status": "ok", queue}
//   GET  /v1/models              the one model served
//   POST /v1/completions         text completion (stream: true for server-sent events)
//   POST /v1/chat/completions    chat through the prompt template
//   POST /tokenize, /detokenize  the tokenizer (batch encoding with padding and attention masks)
//   POST /v1/playground/stream   generation with every sampling step explained (for the page)
//   GET  /                       the playground (index.html, app.js, style.css)
//   GET  /gpu                    generation in the page on its GPU (gpu.html, gpu.js, /modules/…)
//
// Before routing, Host is checked and API POSTs must be application/json (see guard.ts);
// CORS is answered only for the origin given in `cors`.
//
// Every request gets an AbortSignal that fires when its client disconnects: a queued
// request leaves the queue, a running generation stops at the next token.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { GeneratorModel, PromptTemplate, TextGenerator } from "../generate/index.js";
import { handleChat } from "./chat.js";
import { handleCompletions } from "./completions.js";
import type { Limits, ServerContext, ServerTokenizer } from "./context.js";
import { ApiError } from "./errors.js";
import { checkHost, checkJsonContentType, corsHeaders, preflightHeaders, type GuardOptions } from "./guard.js";
import { readJson, sendError, sendJson } from "./http.js";
import { handlePlayground } from "./playground.js";
import { GenerationQueue } from "./queue.js";
import { staticFile } from "./static_files.js";
import { browserModule } from "./browser_modules.js";
import { handleDetokenize, handleTokenize } from "./tokenize.js";

export interface ServeOptions {
  /** The loaded model (TextGenerator.load). */
  generator: TextGenerator<GeneratorModel>;
  /** Name in /v1/models and responses; requests naming another model get 404 (default "tsgpt"). */
  modelName?: string;
  /** Chat template; without one, /v1/chat/completions answers 400. */
  template?: PromptTemplate;
  /** Generations running at once (default 1) and waiting at most (default 16; more get HTTP 429). */
  concurrency?: number;
  maxQueued?: number;
  limits?: Partial<Limits>;
  /** Log lines (default: none). */
  log?: (line: string) => void;
  /** Host names accepted besides IP addresses and localhost ("*": any); see guard.ts. */
  allowedHosts?: readonly string[];
  /** The origin a browser page may call the API from (CORS); default none. */
  cors?: string;
}

export interface ServeHandle {
  server: Server;
  /** Starts listening; resolves with the base URL, e.g. http://127.0.0.1:8080. */
  listen(port?: number, host?: string): Promise<string>;
  /**
   * Shuts down: stops accepting connections, answers queued requests (and new ones on open
   * connections) with 503, ends running streams with an error event "the server is shutting
   * down", then closes every connection. Resolves when the server is closed.
   */
  close(): Promise<void>;
  readonly context: ServerContext;
}

/** The error a generation sees when its client went away. */
class ClientGone extends Error {
  constructor() {
    super("the client closed the connection");
    this.name = "AbortError";
  }
}

/** What requests cut short by close() are told (a 503, or an error event in a stream). */
function shuttingDownError(): ApiError {
  return new ApiError(503, "the server is shutting down", null, "shutting_down");
}

/** How long close() lets the answers to cut-short requests reach their clients. */
const SHUTDOWN_GRACE_MS = 2000;

export function createServer(options: ServeOptions): ServeHandle {
  const generator = options.generator;
  const tokenizer = generator.tokenizer as unknown as ServerTokenizer;
  if (typeof (tokenizer as { padId?: unknown }).padId !== "number") {
    throw new TypeError("createServer: the generator's tokenizer must be a SentencePieceProcessor (needs padId, idToPiece)");
  }
  const context = generator.model.dims.context;
  const limits: Limits = {
    bodyBytes: 1 << 20,
    writeTimeoutMs: 30_000,
    maxTokens: context,
    maxChoices: 8,
    maxStop: 4,
    maxLogprobs: 20,
    maxExplain: 50,
    maxBatch: 256,
    ...options.limits,
  };
  const ctx: ServerContext = {
    generator,
    tokenizer,
    modelName: options.modelName ?? "tsgpt",
    template: options.template,
    limits,
    queue: new GenerationQueue(options.concurrency ?? 1, options.maxQueued ?? 16),
    created: Math.floor(Date.now() / 1000),
    log: options.log ?? (() => undefined),
  };
  const guard: GuardOptions = { allowedHosts: options.allowedHosts ?? [], cors: options.cors };
  const active = new Set<AbortController>();
  const sockets = new Set<Socket>();

  let closing = false;

  const server = createHttpServer((req, res) => {
    if (closing) {
      // A request on a connection that was open when the shutdown began.
      res.shouldKeepAlive = false;
      sendError(res, shuttingDownError(), { Connection: "close" });
      return;
    }
    const ac = new AbortController();
    active.add(ac);
    res.on("close", () => {
      active.delete(ac);
      if (!res.writableFinished) ac.abort(new ClientGone());
    });
    handle(ctx, guard, req, res, ac.signal).catch((err) => fail(ctx, res, err, ac.signal));
  });
  server.requestTimeout = 60_000; // the whole request (headers and body) must arrive within a minute
  server.headersTimeout = 30_000;
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("clientError", (_err, socket: Socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });

  return {
    server,
    context: ctx,
    listen(port = 8080, host = "127.0.0.1") {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          const a = server.address() as AddressInfo;
          resolve(`http://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        closing = true;
        server.close(() => resolve()); // stops accepting; calls back once every connection has closed
        server.closeIdleConnections();
        const reason = shuttingDownError();
        ctx.queue.cancelAll(reason); // waiting requests: 503
        for (const ac of active) ac.abort(reason); // running ones: 503, or an error event in their stream
        // Each cut-short request ends its response (fail below); then its connection can close.
        const started = Date.now();
        const sweep = setInterval(() => {
          server.closeIdleConnections();
          if (active.size > 0 && Date.now() - started < SHUTDOWN_GRACE_MS) return;
          clearInterval(sweep);
          for (const s of sockets) s.destroy();
        }, 10);
      });
    },
  };
}

type JsonHandler = (ctx: ServerContext, body: Record<string, unknown>, res: ServerResponse, signal: AbortSignal) => Promise<void>;

const GENERATION_ROUTES: Record<string, JsonHandler> = {
  "/v1/completions": handleCompletions,
  "/v1/chat/completions": handleChat,
  "/v1/playground/stream": handlePlayground,
};

async function handle(
  ctx: ServerContext,
  guard: GuardOptions,
  req: IncomingMessage,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  const path = url.pathname.replace(/\/+$/, "") || "/";
  const method = req.method ?? "GET";
  checkHost(req, guard);
  if (method === "OPTIONS") {
    res.writeHead(204, preflightHeaders(req, guard));
    res.end();
    return;
  }
  for (const [name, value] of Object.entries(corsHeaders(req, guard))) res.setHeader(name, value);

  const generation = GENERATION_ROUTES[path];
  if (generation) {
    allow(method, "POST", path);
    checkJsonContentType(req);
    const body = await readJson(req, ctx.limits.bodyBytes);
    checkModel(ctx, body);
    return generation(ctx, body, res, signal);
  }
  if (path === "/tokenize" || path === "/detokenize") {
    allow(method, "POST", path);
    checkJsonContentType(req);
    const body = await readJson(req, ctx.limits.bodyBytes);
    checkModel(ctx, body);
    return sendJson(res, 200, path === "/tokenize" ? handleTokenize(ctx, body) : handleDetokenize(ctx, body));
  }
  if (path === "/health") {
    allow(method, "GET", path);
    return sendJson(res, 200, { status: "ok", model: ctx.modelName, queue: ctx.queue.stats() });
  }
  if (path === "/v1/models" || path === `/v1/models/${ctx.modelName}`) {
    allow(method, "GET", path);
    const model = {
      id: ctx.modelName,
      object: "model",
      created: ctx.created,
      owned_by: "tsgpt",
      max_model_len: ctx.generator.model.dims.context,
    };
    return sendJson(res, 200, path === "/v1/models" ? { object: "list", data: [model] } : model);
  }
  if (method === "GET" || method === "HEAD") {
    const file = staticFile(path) ?? browserModule(path);
    if (file) {
      res.writeHead(200, { "Content-Type": file.type, "Content-Length": file.body.length, "Cache-Control": "no-cache" });
      res.end(method === "HEAD" ? undefined : file.body);
      return;
    }
  }
  throw new ApiError(404, `no route for ${method} ${path}`, null, "not_found");
}

function allow(method: string, expected: string, path: string): void {
  if (method === expected) return;
  const err = new ApiError(405, `${path} accepts ${expected}, not ${method}`, null, "method_not_allowed");
  err.headers = { Allow: expected };
  throw err;
}

/** `model`, when given, must name the model served (as OpenAI answers for an unknown model). */
function checkModel(ctx: ServerContext, body: Record<string, unknown>): void {
  const m = body.model;
  if (m === undefined || m === null || m === ctx.modelName) return;
  if (typeof m !== "string") throw new ApiError(400, "model: expected a string", "model", "invalid_value");
  throw new ApiError(404, `The model '${m}' does not exist; this server serves '${ctx.modelName}'`, "model", "model_not_found");
}

/**
 * Answers an error: an ApiError as itself, anything else as a 500; nothing when the client is
 * gone. A request aborted by the shutdown is answered with the shutdown's error.
 */
function fail(ctx: ServerContext, res: ServerResponse, err: unknown, signal: AbortSignal): void {
  if (res.destroyed) return;
  if (signal.aborted && !(signal.reason instanceof ApiError)) return; // the client left: nobody to answer
  if (signal.aborted) err = signal.reason;
  const apiError =
    err instanceof ApiError ? err : new ApiError(500, `internal error: ${(err as Error)?.message ?? String(err)}`, null, "internal_error");
  if (!(err instanceof ApiError)) ctx.log(`error: ${(err as Error)?.stack ?? String(err)}`);
  if (res.headersSent) {
    // A stream already started: say so in the stream, as OpenAI-compatible servers do, and end it.
    if (!res.writableEnded) res.end(`data: ${JSON.stringify(apiError.toBody())}\n\n`);
    return;
  }
  sendError(res, apiError, apiError.headers);
}
