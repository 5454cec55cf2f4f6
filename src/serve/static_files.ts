// The playground's files (src/serve/static/), found at run time from the package root, so the
// same code works from src/ (tsx) and from dist/ (tsc copies no .html / .css / .js sources).
// Only the files listed here are served: no path from a URL ever reaches the file system.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../util/package_root.js";

export { packageRoot };

const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
  // The in-browser generator: loads a GGUF the user picks and decodes on the page's GPU.
  "/gpu": { file: "gpu.html", type: "text/html; charset=utf-8" },
  "/gpu.html": { file: "gpu.html", type: "text/html; charset=utf-8" },
  "/gpu.js": { file: "gpu.js", type: "text/javascript; charset=utf-8" },
};

export function staticDir(): string {
  return join(packageRoot(), "src", "serve", "static");
}

export interface StaticFile {
  body: Buffer;
  type: string;
}

/** The file for a URL path, or undefined when it is not one of ours. Read on each request (small files, easy edits). */
export function staticFile(path: string, dir = staticDir()): StaticFile | undefined {
  const entry = FILES[path];
  if (!entry) return undefined;
  return { body: readFileSync(join(dir, entry.file)), type: entry.type };
}
