// Runs every compiled test file (dist/test/**/*.test.js) with node's built-in test runner.
// When the native addon is built (so the suite above ran on it), the tensor, model and
// generation tests run a second time on the js reference backend: the two backends must agree.
// Usage: node scripts/run-tests.mjs [substring filter ...]
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function find(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

function run(files, env) {
  const r = spawnSync(process.execPath, ["--test", "--test-reporter=spec", ...files], { stdio: "inherit", env: { ...process.env, ...env } });
  return r.status ?? 1;
}

const filters = process.argv.slice(2);
const files = find("dist/test")
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error("no test files found under dist/test (run `npm run build` first)");
  process.exit(1);
}
let status = run(files, {});

const nativeBuilt = existsSync(join("build", "Release", "tsgpt_native.node"));
const forced = process.env.TSGPT_BACKEND;
if (nativeBuilt && forced !== "js" && status === 0) {
  const again = files.filter((f) => /dist\/test\/(tensor|models|generate)\//.test(f));
  if (again.length > 0) {
    console.log(`\n# the same ${again.length} tensor, model and generation test files on the js backend (TSGPT_BACKEND=js)\n`);
    status = run(again, { TSGPT_BACKEND: "js" });
  }
}
process.exit(status);
