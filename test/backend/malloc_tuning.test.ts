// The addon tunes glibc malloc when it loads (native/malloc_tuning.cc), and
// TSGPT_MALLOC_TUNING=0 turns that off. Each case runs in a fresh process: the settings are
// made once, at load.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { loadNativeBackend, nativeUnavailableReason } from "../../src/backend/native.js";

const native = loadNativeBackend();
const glibc = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime;
const skip = !native ? `native addon not built: ${nativeUnavailableReason()}` : !glibc ? "not a glibc system" : false;
const nativeModule = fileURLToPath(new URL("../../src/backend/native.js", import.meta.url));

function tunedInChild(env: Record<string, string>): string {
  const script = `import(${JSON.stringify(nativeModule)}).then((m) => process.stdout.write(String(m.mallocTuned())))`;
  const r = spawnSync(process.execPath, ["-e", script], { env: { ...process.env, ...env }, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test("malloc is tuned at load unless TSGPT_MALLOC_TUNING=0", { skip }, () => {
  assert.equal(tunedInChild({ TSGPT_MALLOC_TUNING: "" }), "true");
  assert.equal(tunedInChild({ TSGPT_MALLOC_TUNING: "0" }), "false");
});
