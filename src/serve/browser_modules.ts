// The compiled modules the in-browser generator page (static/gpu.html) imports, served under
// /modules/ from dist/src/ (what `npm run build` writes): src/generate/in_browser.ts and every
// module it imports at run time, followed file by file. Only those files are served, looked up by
// exact name in that list: no path from a URL reaches the file system otherwise.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative, sep } from "node:path";
import { packageRoot } from "../util/package_root.js";
import type { StaticFile } from "./static_files.js";

const ENTRY = "generate/in_browser.js";

/** Relative module specifiers a compiled file imports or re-exports (type imports are gone after tsc). */
function importsOf(js: string): string[] {
  const re = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*["'](\.[^"']+)["']|(?:^|\n)\s*import\s*["'](\.[^"']+)["']/g;
  return [...js.matchAll(re)].map((m) => (m[1] ?? m[2])!);
}

let cache: { root: string; files: Set<string> } | null = null;

/** The files reachable from the entry, relative to dist/src ("generate/in_browser.js", …), or null when not built. */
function moduleList(): { root: string; files: Set<string> } | null {
  if (cache) return cache;
  const root = join(packageRoot(), "dist", "src");
  if (!existsSync(join(root, ENTRY))) return null;
  const files = new Set<string>();
  const stack = [ENTRY];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    if (files.has(rel)) continue;
    files.add(rel);
    for (const spec of importsOf(readFileSync(join(root, rel), "utf8"))) {
      const next = relative(root, normalize(join(root, dirname(rel), spec)))
        .split(sep)
        .join("/");
      if (!next.startsWith("..")) stack.push(next);
    }
  }
  cache = { root, files };
  return cache;
}

/**
 * The page's modules: the folder they are in (dist/src) and their paths relative to it
 * ("generate/in_browser.js", …); an Error when tsgpt runs unbuilt (no dist/), saying what to do.
 */
export function browserModuleFiles(): { root: string; files: string[] } {
  const list = moduleList();
  if (!list) throw new Error("the in-browser page needs the compiled modules in dist/: run `npm run build`");
  return { root: list.root, files: [...list.files].sort() };
}

/**
 * The module for a URL path under /modules/, or undefined when it is not one of the page's;
 * an Error when tsgpt runs unbuilt (no dist/), saying what to do.
 */
export function browserModule(path: string): StaticFile | undefined {
  if (!path.startsWith("/modules/")) return undefined;
  const list = browserModuleFiles();
  const rel = path.slice("/modules/".length);
  if (!list.files.includes(rel)) return undefined;
  return { body: readFileSync(join(list.root, rel)), type: "text/javascript; charset=utf-8" };
}
