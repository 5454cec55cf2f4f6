// A node:test reporter that prints each test file's wall time as the file finishes, next to the
// spec reporter (scripts/run-tests.mjs runs both). Node's runner reports every file as a
// top-level test named by its path; its duration is the file's whole run, process start
// included. Where a node version does not report that, the time from the file's first event to
// its last is used instead. (Events also name the file where test() was called, which may be
// a helper module: once the runner has named the test files, only those count.)
//
// When TSGPT_TEST_TIMES names a file, one JSON line per test file is appended to it
// ({ file, ms, ok, pass }), for run-tests.mjs's summary of the slowest files; `pass` is
// TSGPT_TEST_PASS (run-tests.mjs sets "js" for the second pass on the js backend).
import { appendFileSync } from "node:fs";
import { relative, resolve } from "node:path";

export default async function* timingReporter(source) {
  const firstSeen = new Map();
  const lastSeen = new Map();
  const failed = new Set();
  const reported = new Set();
  const testFiles = new Set(); // files the runner announced as such
  const pass = process.env.TSGPT_TEST_PASS || undefined;
  const line = (file, ms, ok) => {
    reported.add(file);
    const name = relative(process.cwd(), file);
    if (process.env.TSGPT_TEST_TIMES) appendFileSync(process.env.TSGPT_TEST_TIMES, `${JSON.stringify({ file: name, ms, ok, pass })}\n`);
    return `# ${ok ? "" : "✖ "}${(ms / 1000).toFixed(2).padStart(7)} s  ${name}${pass ? ` (${pass})` : ""}\n`;
  };
  for await (const event of source) {
    const data = event.data ?? {};
    const file = data.file;
    if (!file) continue;
    const now = performance.now();
    if (!firstSeen.has(file)) firstSeen.set(file, now);
    lastSeen.set(file, now);
    if (event.type === "test:fail") failed.add(file);
    const isFile = data.nesting === 0 && typeof data.name === "string" && resolve(data.name) === resolve(file);
    if (isFile) testFiles.add(file);
    if (isFile && event.type === "test:complete")
      yield line(file, data.details?.duration_ms ?? now - firstSeen.get(file), data.details?.passed ?? !failed.has(file));
  }
  for (const [file, start] of firstSeen) {
    if (reported.has(file) || (testFiles.size > 0 && !testFiles.has(file))) continue;
    yield line(file, lastSeen.get(file) - start, !failed.has(file));
  }
}
