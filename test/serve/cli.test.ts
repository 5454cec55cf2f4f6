// `tsgpt serve` command line: help, usage errors, and a clear error for a bad adapter.
import { test } from "node:test";
import assert from "node:assert/strict";
import { run } from "../../src/cli/serve.js";
import { sharedPath } from "../helpers/shared.js";
import { MODEL, skip } from "./fixture.js";

/** Runs the command with console output captured. */
async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const log = console.log,
    error = console.error;
  let out = "",
    err = "";
  console.log = (...a: unknown[]) => {
    out += `${a.join(" ")}\n`;
  };
  console.error = (...a: unknown[]) => {
    err += `${a.join(" ")}\n`;
  };
  try {
    return { code: await run(argv), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

test("serve --help lists the options", async () => {
  const r = await capture(["--help"]);
  assert.equal(r.code, 0);
  for (const flag of ["--model", "--adapter", "--template", "--host", "--port", "--max-queue"]) assert.ok(r.out.includes(flag), flag);
});

test("usage errors exit 2 and name the option", async () => {
  assert.match((await capture([])).err, /--model is required/);
  const r = await capture(["--model", "x.bin", "--template", "chatml"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /--template: unknown prompt template 'chatml'/);
  const p = await capture(["--model", "x.bin", "--port", "99999"]);
  assert.equal(p.code, 2);
  assert.match(p.err, /--port/);
});

test("a missing adapter directory is a clear error, not a crash", { skip }, async () => {
  const r = await capture(["--model", sharedPath(...MODEL), "--adapter", "no/such/adapter", "--port", "0"]);
  assert.equal(r.code, 1);
  assert.match(r.err, /adapter_config\.json/);
});
