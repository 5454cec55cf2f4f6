// What a browser page needs to generate on WebGPU must not import Node: the GPU decoder, the
// generation loop, the page's entry (in_browser.ts) and the readers it uses (GGUF; Hugging Face
// folders: safetensors, config.json, tensor names; SentencePiece and tokenizer.json tokenizers),
// with everything they import at run time, followed file by file, may import
// only other files of src/, never `node:*`, a Node built-in or an npm package. (The optional
// `webgpu` package is loaded by a dynamic import with a computed name, and only when the page
// has no navigator.gpu.) Type-only imports vanish at compile time and are not followed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { builtinModules } from "node:module";
import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { repoRoot } from "../helpers/shared.js";

const ENTRIES = [
  "src/generate/webgpu_decoder.ts",
  "src/generate/generate.ts",
  "src/generate/in_browser.ts",
  "src/formats/gguf_llama_read.ts",
  "src/formats/safetensors_reader.ts",
  "src/formats/hf_json.ts",
  "src/formats/hf_read.ts",
  "src/formats/file_set.ts",
  "src/tokenizer/processor_core.ts",
  "src/tokenizer/hf/hf_tokenizer_core.ts",
];

/** Module specifiers a file imports or re-exports at run time (`import type` / `export type` excluded). */
export function runtimeImports(text: string): string[] {
  const specs: string[] = [];
  const re =
    /(?:^|\n)\s*(import|export)\s+(?!type\s)([^;]*?)\sfrom\s*["']([^"']+)["']|(?:^|\n)\s*import\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
  for (const m of text.matchAll(re)) specs.push((m[3] ?? m[4] ?? m[5])!);
  return specs;
}

/** Every file reachable from the entries through run-time relative imports, and each non-relative import with its importer. */
function closure(entries: string[]): { files: string[]; outside: string[] } {
  const seen = new Set<string>();
  const outside: string[] = [];
  const stack = entries.map((e) => join(repoRoot, e));
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of runtimeImports(readFileSync(file, "utf8"))) {
      if (spec.startsWith(".")) stack.push(join(dirname(file), spec).replace(/\.js$/, ".ts"));
      else outside.push(`${relative(repoRoot, file)} imports "${spec}"`);
    }
  }
  return { files: [...seen], outside };
}

test("the regex sees run-time imports and skips type-only ones", () => {
  const src = `import type { A } from "node:fs";\nimport { b } from "./b.js";\nexport type { C } from "node:path";\nimport "node:os";\nexport { d } from "../d.js";\nconst m = await import("node:url");`;
  assert.deepEqual(runtimeImports(src), ["./b.js", "node:os", "../d.js", "node:url"]);
});

test("the GPU decoder, the generation loop and the page's readers import no Node module (a browser can load them)", () => {
  const { files, outside } = closure(ENTRIES);
  assert.ok(files.length > 10, `followed ${files.length} files`);
  const node = outside.filter((line) => {
    const spec = /"([^"]+)"$/.exec(line)![1]!;
    return spec.startsWith("node:") || builtinModules.includes(spec) || !spec.startsWith(".");
  });
  assert.deepEqual(node, [], `imports a browser cannot resolve:\n${node.join("\n")}`);
});
