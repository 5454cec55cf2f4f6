// Runs every compiled test file (dist/test/**/*.test.js) with node's built-in test runner.
// When the native addon is built (so the suite above ran on it), the tensor, model and
// generation tests run a second time on the js reference backend: the two backends must agree.
//
// Before that, the addon is checked against the sources: when binding.gyp or native/** changed
// since it was built (scripts/native-stamp.mjs), it is rebuilt; a failed rebuild fails the run
// when a C++ compiler is present. Each test file's wall time is printed as it finishes, and the
// slowest ten at the end.
// Usage: node scripts/run-tests.mjs [substring filter ...]
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { ADDON, nativeStatus } from "./native-stamp.mjs";

function find(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

const timesDir = mkdtempSync(join(tmpdir(), "tsgpt-test-times-"));
const timesFile = join(timesDir, "times.jsonl");

function run(files, env) {
  const reporters = [
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    "--test-reporter=./scripts/test-timing-reporter.mjs",
    "--test-reporter-destination=stdout",
  ];
  const r = spawnSync(process.execPath, ["--test", ...reporters, ...files], {
    stdio: "inherit",
    env: { ...process.env, TSGPT_TEST_TIMES: timesFile, ...env },
  });
  return r.status ?? 1;
}

/** The first C++ compiler that answers --version ($CXX first), or null. */
function cxxCompiler() {
  const candidates = [process.env.CXX?.trim().split(/\s+/)[0], "c++", "g++", "clang++"].filter(Boolean);
  return candidates.find((c) => spawnSync(c, ["--version"], { stdio: "ignore" }).status === 0) ?? null;
}

/**
 * Makes sure the addon the tests load was built from the sources in the tree. Returns false
 * when the run must stop (a rebuild failed although a compiler is there).
 */
function ensureFreshAddon() {
  if (process.env.TSGPT_SKIP_NATIVE || process.env.TSGPT_BACKEND === "js" || !existsSync("binding.gyp")) return true;
  const status = nativeStatus();
  if (status.state === "fresh") return true;
  const why = {
    missing: "is not built",
    unstamped: "has no record of the sources it was built from",
    stale: "was built from other sources than binding.gyp and native/ hold now",
  }[status.state];
  const compiler = cxxCompiler();
  if (!compiler) {
    if (status.state !== "missing") {
      console.warn(`\n!!! the native addon (${ADDON}) ${why}, and no C++ compiler was found to rebuild it:`);
      console.warn("!!! the tests below run on that addon. Install a compiler, or set TSGPT_SKIP_NATIVE=1 after deleting build/.\n");
    }
    return true;
  }
  console.log(`# the native addon ${why}: rebuilding it (node scripts/build-native.mjs, compiler ${compiler})`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ["scripts/build-native.mjs", "--strict"], { stdio: "inherit" });
  if (r.status !== 0 || nativeStatus().state !== "fresh") {
    console.error(`\n!!! rebuilding the native addon failed (exit ${r.status}) although ${compiler} is present.`);
    console.error("!!! Run `npm run build:native` to see the whole log, or set TSGPT_SKIP_NATIVE=1 to test the js backend only.\n");
    return false;
  }
  console.log(`# native addon rebuilt in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return true;
}

/** The slowest files of both passes, from the timing reporter's lines. */
function printSlowest(n) {
  if (!existsSync(timesFile)) return;
  const rows = readFileSync(timesFile, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  if (rows.length === 0) return;
  rows.sort((a, b) => b.ms - a.ms);
  const total = rows.reduce((s, r) => s + r.ms, 0);
  console.log(
    `\n# slowest ${Math.min(n, rows.length)} of ${rows.length} test file runs (sum of file times ${(total / 1000).toFixed(1)} s):`,
  );
  for (const r of rows.slice(0, n))
    console.log(`# ${r.ok ? "" : "✖ "}${(r.ms / 1000).toFixed(2).padStart(7)} s  ${r.file}${r.pass ? ` (${r.pass})` : ""}`);
}

const filters = process.argv.slice(2);
const files = find("dist/test")
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error("no test files found under dist/test (run `npm run build` first)");
  process.exit(1);
}
if (!ensureFreshAddon()) process.exit(1);

const start = performance.now();
let status = run(files, {});

const nativeBuilt = existsSync(ADDON);
const forced = process.env.TSGPT_BACKEND;
if (nativeBuilt && forced !== "js" && status === 0) {
  const again = files.filter((f) => /dist\/test\/(tensor|models|generate)\//.test(f));
  if (again.length > 0) {
    console.log(`\n# the same ${again.length} tensor, model and generation test files on the js backend (TSGPT_BACKEND=js)\n`);
    status = run(again, { TSGPT_BACKEND: "js", TSGPT_TEST_PASS: "js" });
  }
}
printSlowest(10);
console.log(`# wall time ${((performance.now() - start) / 1000).toFixed(1)} s`);
rmSync(timesDir, { recursive: true, force: true });
process.exit(status);
