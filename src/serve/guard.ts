// What a request must look like before any handler reads it, against attacks from a browser:
//
//   Host          a web page can reach a loopback server through DNS rebinding (its own name
//                 resolving to 127.0.0.1), but its requests then carry that name in Host. So
//                 Host must be an IP address, localhost, or a name in the allow-list.
//   Content-Type  a page may POST cross-site without asking (a "simple request") only with
//                 form or text bodies; requiring application/json forces a CORS preflight,
//                 which this server answers only for the origin given with --cors.
import { isIP } from "node:net";
import type { IncomingMessage } from "node:http";
import { ApiError } from "./errors.js";

export interface GuardOptions {
  /** Host names accepted besides IP addresses and localhost; "*" accepts any. */
  allowedHosts: readonly string[];
  /** The one origin allowed to call the API from a browser page (CORS); none by default. */
  cors?: string;
}

/** The host name of a Host header, without port or IPv6 brackets, lower-case. */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]") < 0 ? undefined : h.indexOf("]"));
  const colon = h.lastIndexOf(":");
  return colon < 0 ? h : h.slice(0, colon);
}

/** Throws 403 unless the request's Host is an IP address, localhost, or allowed. */
export function checkHost(req: IncomingMessage, options: GuardOptions): void {
  const header = req.headers.host;
  if (header === undefined) return; // HTTP/1.0 clients; browsers always send Host
  const name = hostName(header);
  if (isIP(name) !== 0 || name === "localhost" || name.endsWith(".localhost")) return;
  if (options.allowedHosts.includes("*") || options.allowedHosts.includes(name)) return;
  throw new ApiError(
    403,
    `Host '${name}' is not allowed; start the server with --allowed-hosts ${name} to accept it`,
    null,
    "host_not_allowed",
  );
}

/** Throws 415 unless the body is declared as JSON. */
export function checkJsonContentType(req: IncomingMessage): void {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "application/json") return;
  throw new ApiError(
    415,
    `the request body must be sent with Content-Type: application/json, not '${type || "none"}'`,
    null,
    "unsupported_media_type",
  );
}

/** CORS response headers for this request: only when its Origin is the one allowed. */
export function corsHeaders(req: IncomingMessage, options: GuardOptions): Record<string, string> {
  const origin = req.headers.origin;
  if (options.cors === undefined || origin === undefined) return {};
  if (options.cors !== "*" && origin !== options.cors) return {};
  return { "Access-Control-Allow-Origin": options.cors === "*" ? "*" : origin, Vary: "Origin" };
}

/** The answer to a preflight (OPTIONS) request, or a 405/403 when CORS is off or the origin is not allowed. */
export function preflightHeaders(req: IncomingMessage, options: GuardOptions): Record<string, string> {
  if (options.cors === undefined) {
    const err = new ApiError(
      405,
      "cross-origin requests are not enabled on this server (start it with --cors ORIGIN)",
      null,
      "method_not_allowed",
    );
    err.headers = { Allow: "GET, HEAD, POST" };
    throw err;
  }
  const headers = corsHeaders(req, options);
  if (!headers["Access-Control-Allow-Origin"]) {
    throw new ApiError(
      403,
      `origin '${req.headers.origin ?? "none"}' is not allowed (allowed: ${options.cors})`,
      null,
      "origin_not_allowed",
    );
  }
  return {
    ...headers,
    "Access-Control-Allow-Methods": "GET, POST",
    "Access-Control-Allow-Headers": "Content-Type, Authorization",
    "Access-Control-Max-Age": "600",
  };
}
