// The layer order of src/ (README's Layout): every import points to the same folder or a lower
// layer. A file that imports from a higher layer, or folders that import each other, fail here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative, sep } from "node:path";
import { repoRoot } from "../helpers/shared.js";

/** Lowest first. A folder may import from its own layer's folder and from any folder before it. */
export const LAYERS = [
  "util",
  "backend",
  "tensor",
  "nn",
  "arch",
  "tokenizer",
  "formats",
  "quant",
  "models",
  "generate",
  "train",
  "serve",
  "cli",
];

const SRC = join(repoRoot, "src");

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Relative module specifiers a file imports or re-exports (static and dynamic). */
export function importsOf(text: string): string[] {
  const specs: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g;
  for (const m of text.matchAll(re)) specs.push((m[1] ?? m[2])!);
  return specs;
}

/** The top folder under src/ of a path, or null for src/index.ts (the public entry, above every layer). */
function folderOf(path: string): string | null {
  const rel = relative(SRC, path).split(sep);
  return rel.length > 1 ? rel[0]! : null;
}

function edges(): Array<{ file: string; from: string; to: string }> {
  const out: Array<{ file: string; from: string; to: string }> = [];
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    if (from === null) continue;
    for (const spec of importsOf(readFileSync(file, "utf8"))) {
      const to = folderOf(normalize(join(dirname(file), spec)));
      if (to !== null && to !== from) out.push({ file: relative(repoRoot, file), from, to });
    }
  }
  return out;
}

test("every folder of src/ has a place in the layer order", () => {
  const folders = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory());
  for (const f of folders) assert.ok(LAYERS.includes(f), `src/${f}/ is not in LAYERS (test/layers/imports.test.ts): give it a place`);
});

test("imports point only to the same or a lower layer", () => {
  const bad = edges().filter((e) => LAYERS.indexOf(e.to) > LAYERS.indexOf(e.from));
  const lines = bad.map((e) => `${e.file} (${e.from}) imports from ${e.to}, a higher layer`);
  assert.deepEqual(lines, [], `upward imports:\n${lines.join("\n")}`);
});

test("no two folders import each other", () => {
  const pairs = new Set(edges().map((e) => `${e.from}>${e.to}`));
  const cycles = [...pairs].filter((p) => pairs.has(p.split(">").reverse().join(">"))).sort();
  assert.deepEqual(cycles, [], `folders that import each other: ${cycles.join(", ")}`);
});

test("the import scanner sees static, re-export and dynamic imports", () => {
  const text =
    'import { a } from "../x/a.js";\nexport { b } from "./b.js";\nconst c = await import("../y/c.js");\nimport type { D } from "../z/d.js";';
  assert.deepEqual(
    importsOf(text),
    ["../x/a.js", "./b.js", "../z/d.js", "../y/c.js"].sort((p, q) => text.indexOf(p) - text.indexOf(q)),
  );
});
