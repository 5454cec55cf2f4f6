// Which sources the native addon was built from: a SHA-256 over binding.gyp and every file
// under native/ (relative path and content, in sorted order), written beside the addon by
// scripts/build-native.mjs after a successful build. scripts/run-tests.mjs compares it with
// the sources in the tree to tell a stale addon from a fresh one. A content hash, not mtimes:
// `git clone`, `git checkout` and copies set mtimes that say nothing about what was built.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";

export const ADDON = join("build", "Release", "tsgpt_native.node");
export const STAMP = join("build", "Release", "tsgpt_native.sources.sha256");

function filesUnder(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** SHA-256 (hex) of binding.gyp and native/**, relative to `root`. */
export function nativeSourcesHash(root = ".") {
  const files = [join(root, "binding.gyp"), ...(existsSync(join(root, "native")) ? filesUnder(join(root, "native")) : [])];
  const rel = files.map((f) => relative(root, f).split(sep).join("/")).sort();
  const h = createHash("sha256");
  for (const f of rel) {
    const content = readFileSync(join(root, f));
    h.update(`${f}\0${content.length}\0`);
    h.update(content);
  }
  return h.digest("hex");
}

/** Records that the addon in build/Release was built from `hash` (temporary file, then rename). */
export function writeStamp(hash, root = ".") {
  const path = join(root, STAMP);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${hash}\n`);
  renameSync(tmp, path);
}

/**
 * "fresh": the addon was built from the sources in the tree; "missing": no addon;
 * "unstamped": an addon without a record of its sources; "stale": built from other sources.
 */
export function nativeStatus(root = ".") {
  const hash = nativeSourcesHash(root);
  if (!existsSync(join(root, ADDON))) return { state: "missing", hash };
  if (!existsSync(join(root, STAMP))) return { state: "unstamped", hash };
  const built = readFileSync(join(root, STAMP), "utf8").trim();
  return { state: built === hash ? "fresh" : "stale", hash, built };
}
