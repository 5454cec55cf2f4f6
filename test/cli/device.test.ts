// --device on train, finetune and eval: the values it takes, and a tiny training run and
// evaluation on webgpu whose scores equal native's (skipped, with the reason, where no WebGPU
// adapter comes up; Mesa's lavapipe gives one on a CPU).
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { getBackend, loadWebGPUSyncBackend, setBackend } from "../../src/backend/index.js";
import { loadNativeBackend } from "../../src/backend/native.js";
import { DEVICES, applyDevice, deviceFlag } from "../../src/cli/device_option.js";
import { run as evalCli } from "../../src/cli/eval.js";
import { run as finetuneCli } from "../../src/cli/finetune.js";
import { run as trainCli } from "../../src/cli/train.js";
import { TEXT, capture, tempDir, tinyGPT2Config } from "../train/helpers.js";

let skip: string | false = loadNativeBackend() ? false : "native addon not built (native is the reference)";
try {
  if (!skip) loadWebGPUSyncBackend("the --device test");
} catch (e) {
  skip = `webgpu unavailable: ${(e as Error).message}`;
}
const initial = getBackend().name;
after(() => setBackend(initial));

describe("--device", () => {
  test("takes cpu, native, js or webgpu; anything else is a usage error naming the choices", () => {
    assert.deepEqual([...DEVICES], ["cpu", "native", "js", "webgpu"]);
    assert.equal(deviceFlag(undefined), "cpu");
    assert.equal(deviceFlag("webgpu"), "webgpu");
    assert.throws(() => deviceFlag("cuda"), /--device: expected one of cpu, native, js, webgpu, got "cuda"/);
  });

  test("train, finetune and eval list it in --help", async () => {
    for (const cli of [trainCli, finetuneCli, evalCli]) {
      const r = await capture(() => cli(["--help"]));
      assert.equal(r.code, 0);
      assert.match(r.out + r.err, /--device cpu\|native\|js\|webgpu/);
    }
  });

  test("train --device webgpu runs on the GPU; eval --device webgpu scores like eval --device native", { skip }, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const data = join(dir, "data.txt");
      writeFileSync(data, TEXT.repeat(6));
      const config = join(dir, "config.json");
      writeFileSync(config, JSON.stringify({ ...tinyGPT2Config(1), vocab_size: 64 }));
      const out = join(dir, "run");
      const args = ["--data", data, "--char", "--arch", config, "--context", "16", "--batch-size", "2", "--steps", "3"];
      const r = await capture(() =>
        trainCli([...args, "--eval-every", "3", "--eval-iters", "1", "--sample-tokens", "0", "--out", out, "--device", "webgpu"]),
      );
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, /tensor ops run on webgpu \(.+\)/);
      assert.equal(getBackend().name, "webgpu");
      const scores: Record<string, { loss: number }> = {};
      for (const device of ["webgpu", "native"]) {
        const ev = await capture(() => evalCli(["--model", join(out, "last"), "--data", data, "--json", "--device", device]));
        assert.equal(ev.code, 0, ev.err);
        scores[device] = JSON.parse(ev.out);
      }
      assert.ok(Math.abs(scores.webgpu!.loss - scores.native!.loss) < 1e-4, `webgpu ${scores.webgpu!.loss}, native ${scores.native!.loss}`);
    } finally {
      cleanup();
      await applyDevice("cpu");
    }
  });
});
