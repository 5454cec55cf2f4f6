// The playground's files (src/serve/static/), found at run time from the package root, so the
// same code works from src/ (tsx) and from dist/ (tsc copies no .html / .css / .js sources).
// Only the files listed here are served: no path from a URL ever reaches the file system.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
};

/** The folder holding package.json above this file (src/serve or dist/src/serve). */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json found above ${from}`);
    dir = up;
  }
}

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
