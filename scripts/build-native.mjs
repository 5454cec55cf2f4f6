// Builds the native addon with node-gyp at `npm install`.
// A failed build never fails the install: tsgpt then runs on the pure-TypeScript `js` backend.
// With --strict (scripts/run-tests.mjs uses it) a failed build exits 1 instead.
// After a successful build, build/Release/tsgpt_native.sources.sha256 records the sources it
// was built from (scripts/native-stamp.mjs), so a stale addon can be recognised.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { nativeSourcesHash, writeStamp } from "./native-stamp.mjs";

const verbose = process.argv.includes("--verbose");
const strict = process.argv.includes("--strict");
if (process.env.TSGPT_SKIP_NATIVE) {
  console.log("tsgpt: TSGPT_SKIP_NATIVE is set; skipping the native build (js backend only).");
  process.exit(0);
}
if (!existsSync("binding.gyp")) process.exit(0);

// node-gyp ships with npm; find its entry script beside the running npm.
function nodeGypBin() {
  const fromEnv = process.env.npm_config_node_gyp;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  try {
    const require = createRequire(import.meta.url);
    return require.resolve("node-gyp/bin/node-gyp.js");
  } catch {}
  const npmDir = process.env.npm_execpath ? dirname(process.env.npm_execpath) : null;
  const candidates = [
    npmDir && join(npmDir, "..", "node_modules", "node-gyp", "bin", "node-gyp.js"),
    // npm installed beside this node binary (run outside npm, e.g. `node scripts/build-native.mjs`)
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ];
  return candidates.find((p) => p && existsSync(p)) ?? null;
}

const gyp = nodeGypBin();
if (!gyp) {
  console.warn("tsgpt: node-gyp not found; the native backend is not built (js backend only).");
  process.exit(strict ? 1 : 0);
}
// Build against the headers installed with this node when present, so nothing is downloaded.
const args = [gyp, "rebuild"];
const prefix = join(dirname(process.execPath), "..");
if (!process.env.npm_config_nodedir && existsSync(join(prefix, "include", "node", "node_api.h"))) args.push(`--nodedir=${prefix}`);
const sources = nativeSourcesHash(); // before building: an edit during the build makes it stale
const r = spawnSync(process.execPath, args, { stdio: verbose ? "inherit" : "pipe", encoding: "utf8" });
if (r.status !== 0) {
  console.warn(
    strict ? "tsgpt: the native addon did not build." : "tsgpt: the native addon did not build; tsgpt will run on the js backend.",
  );
  if (!verbose && r.stderr) console.warn(r.stderr.split("\n").slice(-15).join("\n"));
  process.exit(strict ? 1 : 0);
}
writeStamp(sources);
console.log("tsgpt: native addon built.");
process.exit(0);
