// Small helpers over node:http: reading a JSON body with a size limit, sending JSON and errors.
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError } from "./errors.js";

/** Reads the whole body, failing with 413 past `limit` bytes (the rest is not buffered). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      reject(tooLarge(limit));
      req.resume(); // drain, so the connection can carry the error response
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on("error", (err) => {
      if (!failed) {
        failed = true;
        reject(err);
      }
    });
  });
}

function tooLarge(limit: number): ApiError {
  return new ApiError(413, `the request body is larger than the server's limit of ${limit} bytes`, null, "request_too_large");
}

/** Reads and parses a JSON object body; errors are 400s (413 when too large) that say what was wrong. */
export async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  // The caller has checked Content-Type (guard.ts): only application/json is read.
  const body = await readBody(req, limit);
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new ApiError(400, `the request body is not valid JSON: ${(err as Error).message}`, null, "invalid_json");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ApiError(400, "the request body must be a JSON object", null, "invalid_json");
  }
  return value as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError, headers: Record<string, string> = {}): void {
  sendJson(res, err.status, err.toBody(), headers);
}
