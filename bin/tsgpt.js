#!/usr/bin/env node
// Entry point of the `tsgpt` command: runs the compiled CLI.
import { main } from "../dist/src/cli/main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code ?? 0;
  },
  (err) => {
    console.error(`tsgpt: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.TSGPT_DEBUG) console.error(err);
    process.exitCode = 1;
  },
);
