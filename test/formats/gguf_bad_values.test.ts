// GGUF metadata values that would make the model compute NaN are refused at load, by name, on
// both backends (rope.freq_base = 0 once generated text on native and failed on js).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCheckpointSync, saveCheckpointSync } from "../../src/formats/load.js";
import { repoRoot, sharedPath, skipUnlessShared } from "../helpers/shared.js";

const dir = mkdtempSync(join(tmpdir(), "tsgpt-gguf-bad-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The file with the f32 value of `key` replaced. */
function withF32(file: string, key: string, value: number): Buffer {
  const bytes = readFileSync(file);
  const at = bytes.indexOf(Buffer.from(key)) + key.length;
  assert.equal(bytes.readUInt32LE(at), 6, `${key} is an f32`);
  bytes.writeFloatLE(value, at + 4);
  return bytes;
}

test("rope.freq_base 0, NaN or negative is refused at load on both backends", {
  skip: skipUnlessShared("models", "stories260K", "stories260K.bin"),
}, () => {
  const good = join(dir, "good.gguf");
  saveCheckpointSync(good, loadCheckpointSync(sharedPath("models", "stories260K", "stories260K.bin")), "gguf");
  const backends = ["js", ...(process.env.TSGPT_BACKEND === "js" ? [] : ["native"])];
  for (const value of [0, Number.NaN, -1]) {
    const bad = join(dir, `bad-${value}.gguf`);
    writeFileSync(bad, withF32(good, "llama.rope.freq_base", value));
    for (const backend of backends) {
      const r = spawnSync(
        process.execPath,
        [join(repoRoot, "bin", "tsgpt.js"), "generate", "--model", bad, "--prompt", "Once", "--max-new-tokens", "3"],
        { encoding: "utf8", env: { ...process.env, TSGPT_BACKEND: backend } },
      );
      assert.equal(r.status, 1, `${backend} ${value}: ${r.stdout}${r.stderr}`);
      assert.match(
        r.stderr,
        /bad-.*\.gguf: (rope_theta: expected a positive number|llama\.rope\.freq_base: expected a float)/,
        `${backend} ${value}`,
      );
    }
  }
});
