// The CLI tables of README.md and README.ko.md against each command's --help: every command has a
// row, every flag its --help prints is in that row, and the row names no flag that does not exist.
// The flags are read from --help itself, so a new flag only needs its row.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { COMMANDS } from "../../src/cli/main.js";
import { repoRoot } from "../helpers/shared.js";
import { join } from "node:path";

/** The flags a command's --help lists (without --help itself). */
async function helpFlags(command: string): Promise<Set<string>> {
  const mod = (await import(new URL(COMMANDS[command]!.module, new URL("../../src/cli/main.js", import.meta.url)).href)) as {
    run: (argv: string[]) => Promise<number | void>;
  };
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => {
    lines.push(a.join(" "));
  };
  try {
    assert.equal((await mod.run(["--help"])) ?? 0, 0, `${command} --help`);
  } finally {
    console.log = log;
  }
  const text = lines.join("\n");
  const options = text.slice(text.indexOf("\noptions:"));
  const flags = [...options.matchAll(/^ {2}--([a-z0-9][a-z0-9-]*)/gm)].map((m) => m[1]!);
  return new Set(flags.filter((f) => f !== "help"));
}

/** command → the flags its row names, from the first table after the "## CLI …" heading. */
function readmeRows(file: string): Map<string, Set<string>> {
  const lines = readFileSync(join(repoRoot, file), "utf8").split("\n");
  const heading = lines.findIndex((l) => /^## CLI /.test(l));
  assert.ok(heading >= 0, `${file}: no "## CLI …" section`);
  let i = heading + 1;
  while (i < lines.length && !lines[i]!.startsWith("|")) i++;
  const rows = new Map<string, Set<string>>();
  for (i += 2; i < lines.length && lines[i]!.startsWith("|"); i++) {
    // Cells are split on pipes that are not escaped (`--dtype f32\|f16` is one cell).
    const cells = lines[i]!.split(/(?<!\\)\|/).slice(1, -1);
    const command = /`([a-z0-9-]+)/.exec(cells[0] ?? "")?.[1];
    assert.ok(command, `${file}: a CLI table row without a command: ${lines[i]}`);
    const flags = [...(cells[2] ?? "").matchAll(/--([a-z0-9][a-z0-9-]*)/g)].map((m) => m[1]!);
    rows.set(command, new Set(flags));
  }
  return rows;
}

for (const file of ["README.md", "README.ko.md"]) {
  test(`${file}: the CLI table lists every command and exactly the flags of its --help`, async () => {
    const rows = readmeRows(file);
    assert.deepEqual([...rows.keys()].sort(), Object.keys(COMMANDS).sort(), `${file}: one row per command`);
    for (const command of Object.keys(COMMANDS)) {
      const real = await helpFlags(command);
      const listed = rows.get(command)!;
      const missing = [...real].filter((f) => !listed.has(f));
      const unknown = [...listed].filter((f) => !real.has(f));
      assert.deepEqual(missing, [], `${file}: ${command}'s row lacks ${missing.map((f) => `--${f}`).join(", ")}`);
      assert.deepEqual(unknown, [], `${file}: ${command}'s row names ${unknown.map((f) => `--${f}`).join(", ")}, which it does not take`);
    }
  });
}
