// Runs small numpy scripts as a reference oracle for tests. Tests skip when numpy is missing.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** The Python that has numpy (the system one by default; override with TSGPT_PYTHON). */
export const python = process.env.TSGPT_PYTHON ?? "/usr/bin/python3";

let numpyChecked: boolean | undefined;

/** For node:test's `skip` option: false when numpy can be imported, else why the test is skipped. */
export function skipUnlessNumpy(): false | string {
  if (numpyChecked === undefined) {
    numpyChecked = existsSync(python) && spawnSync(python, ["-c", "import numpy"], { stdio: "ignore" }).status === 0;
  }
  return numpyChecked ? false : `numpy not available via ${python} (set TSGPT_PYTHON)`;
}

/** Runs a Python script with `input` on stdin; returns stdout bytes, throwing with stderr on failure. */
export function runPython(script: string, input?: Uint8Array, args: string[] = []): Buffer {
  const r = spawnSync(python, ["-c", script, ...args], { input, maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr?.toString() ?? r.error?.message}`);
  return r.stdout;
}
