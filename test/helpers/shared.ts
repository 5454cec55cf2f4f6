// Locates ../shared (test data and models kept outside the repository).
// Tests that need it call `sharedPath(...)` and skip with a clear message when it is absent.
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(resolve(dir, "package.json"))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

export const repoRoot = findRepoRoot();
export const sharedDir = process.env.TSGPT_SHARED_DIR ?? resolve(repoRoot, "..", "shared");

/** Absolute path of a file under ../shared. */
export function sharedPath(...parts: string[]): string {
  return resolve(sharedDir, ...parts);
}

/** For node:test's `skip` option: false when the file exists, else a message saying why the test is skipped. */
export function skipUnlessShared(...parts: string[]): false | string {
  const p = sharedPath(...parts);
  return existsSync(p) ? false : `shared test data not found: ${p} (set TSGPT_SHARED_DIR)`;
}

/** Absolute path of a file kept with the tests (test/...), valid whether tests run from test/ or dist/test/. */
export function testDataPath(...parts: string[]): string {
  return resolve(repoRoot, "test", ...parts);
}
