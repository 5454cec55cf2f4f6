// Public API of the HTTP server: `createServer({ generator })` gives a node http.Server
// serving the OpenAI-compatible API and the web playground, with `listen()` and `close()`.
export { createServer, type ServeOptions, type ServeHandle } from "./server.js";
export { GenerationQueue, type QueueStats } from "./queue.js";
export { ApiError } from "./errors.js";
/** @deprecated for one release: use the generation options frequencyPenalty / presencePenalty. */
export { applyPenalties, TokenCounts, type Penalties } from "./penalties.js";
export type { Limits } from "./context.js";
