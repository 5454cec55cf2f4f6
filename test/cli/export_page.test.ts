// `tsgpt export-page`: writes the in-browser page (index.html without the server-only link, gpu.js,
// style.css) and exactly the modules the server serves under /modules/ (byte for byte); refuses a
// folder with files unless --force, which replaces the page's files and keeps the others; leaves
// no temporary file behind. (test/serve/browser_page.test.ts loads the exported page in Chromium.)
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { run } from "../../src/cli/export_page.js";
import { browserModule, browserModuleFiles } from "../../src/serve/browser_modules.js";
import { staticIndexHtml } from "../../src/serve/export_page.js";
import { repoRoot } from "../helpers/shared.js";

const dir = mkdtempSync(join(tmpdir(), "tsgpt-export-page-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const built = existsSync(join(repoRoot, "dist", "src", "generate", "in_browser.js"));

async function quiet(argv: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const error = console.error;
  console.error = (...a: unknown[]) => {
    err.push(a.join(" "));
  };
  try {
    return { code: await run(argv), err: err.join("\n") };
  } finally {
    console.error = error;
  }
}

function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split("\\").join("/"))
    .sort();
}

test("writes the page and the server's modules; refuses a folder with files unless --force", {
  skip: built ? false : "not built (npm run build)",
}, async () => {
  const out = join(dir, "site");
  assert.equal((await quiet(["--out", out])).code, 0);
  const modules = browserModuleFiles().files;
  assert.deepEqual(filesUnder(out), [...modules.map((m) => `modules/${m}`), "gpu.js", "index.html", "style.css"].sort());
  for (const m of modules) assert.deepEqual(readFileSync(join(out, "modules", m)), browserModule(`/modules/${m}`)!.body, m);
  const index = readFileSync(join(out, "index.html"), "utf8");
  assert.match(index, /<script type="module" src="gpu.js">/);
  assert.doesNotMatch(index, /data-served|server playground/);
  assert.match(readFileSync(join(out, "gpu.js"), "utf8"), /from "\.\/modules\/generate\/in_browser\.js"/);

  const again = await quiet(["--out", out]);
  assert.equal(again.code, 2);
  assert.match(again.err, /--out .* already exists \(add --force/);

  writeFileSync(join(out, "mine.txt"), "kept");
  writeFileSync(join(out, "gpu.js"), "stale");
  assert.equal((await quiet(["--output", out, "--force"])).code, 0);
  assert.equal(readFileSync(join(out, "mine.txt"), "utf8"), "kept");
  assert.notEqual(readFileSync(join(out, "gpu.js"), "utf8"), "stale");
  assert.deepEqual(
    filesUnder(out).filter((f) => f.includes(".tmp-")),
    [],
  );

  const empty = join(dir, "empty");
  mkdirSync(empty);
  assert.equal((await quiet(["--out", empty])).code, 0, "an empty folder is not refused");
});

test("--out is required; the page's server-only part must be marked", async () => {
  const r = await quiet([]);
  assert.equal(r.code, 2);
  assert.match(r.err, /--out is required/);
  assert.throws(() => staticIndexHtml("<html><nav><a href='/'>x</a></nav></html>"), /no <nav data-served> element/);
});
