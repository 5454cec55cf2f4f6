// The in-browser generator page (GET /gpu of `tsgpt serve`) written out as plain files, to host
// on any static web server (GitHub Pages, `python3 -m http.server`, a CDN):
//
//   DIR/index.html        the page (gpu.html, without the link back to the server's playground)
//   DIR/gpu.js            its script
//   DIR/style.css
//   DIR/modules/…         the compiled modules it imports (src/generate/in_browser.ts and every
//                         module that one imports, as the server serves them under /modules/)
//
// Browsers load ES modules only over http(s) (not file://), and WebGPU only in a secure context
// (https, or http://localhost). Each file is written atomically; index.html is written last, so
// an export cut short leaves no page that loads half of its modules.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeBytesAtomic } from "../util/atomic_write.js";
import { browserModuleFiles } from "./browser_modules.js";
import { staticDir } from "./static_files.js";

/** The server-only part of gpu.html (marked `data-served`), which a static copy leaves out. */
const SERVED_ONLY = /\s*<nav data-served>[\s\S]*?<\/nav>/;

/** gpu.html as a static index.html: the link to the server's playground removed. */
export function staticIndexHtml(gpuHtml: string): string {
  if (!SERVED_ONLY.test(gpuHtml)) throw new Error("gpu.html has no <nav data-served> element: the export expects one to remove");
  return gpuHtml.replace(SERVED_ONLY, "");
}

/** Writes the page and its modules into `dir` (created if needed); returns the paths written, relative to it. */
export function exportPage(dir: string): string[] {
  const stat = staticDir();
  const { root, files } = browserModuleFiles();
  const written: string[] = [];
  const write = (rel: string, body: Uint8Array | string): void => {
    writeBytesAtomic(join(dir, ...rel.split("/")), body);
    written.push(rel);
  };
  for (const rel of files) write(`modules/${rel}`, readFileSync(join(root, ...rel.split("/"))));
  write("gpu.js", readFileSync(join(stat, "gpu.js")));
  write("style.css", readFileSync(join(stat, "style.css")));
  write("index.html", staticIndexHtml(readFileSync(join(stat, "gpu.html"), "utf8")));
  return written;
}
