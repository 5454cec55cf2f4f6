// The folder of the installed package (the one holding package.json), found by walking up from
// this file: the same code runs from src/ (tsx) and from dist/src/ (compiled), and data files
// that the compiler does not copy (the playground page, normalization maps, the native addon)
// are found from there.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

/** The package root: the nearest folder above this file that holds package.json. */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  const from = dirname(fileURLToPath(import.meta.url));
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return (cached = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`tsgpt: no package.json found above ${from}`);
    dir = up;
  }
}
