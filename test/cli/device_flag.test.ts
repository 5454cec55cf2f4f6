// `--device` on generate, chat and serve: parsing and its errors (before any model is loaded),
// the help text, and `--device webgpu` printing what the CPU prints (greedy, stories260K; skipped
// without a WebGPU adapter or the shared model).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { deviceFlag } from "../../src/cli/device_option.js";
import { openWebGPU } from "../../src/backend/webgpu/open.js";
import { repoRoot, sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { TextGenerator } from "../../src/generate/text_generator.js";

function tsgpt(argv: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(repoRoot, "bin", "tsgpt.js"), ...argv], { encoding: "utf8", timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test("deviceFlag: the four devices, the default, and an error naming the choices", () => {
  for (const d of ["cpu", "native", "js", "webgpu"]) assert.equal(deviceFlag(d), d);
  assert.equal(deviceFlag(undefined), "cpu");
  assert.throws(() => deviceFlag("cuda"), /--device: expected one of cpu, native, js, webgpu, got "cuda"/);
});

test("TextGenerator.load: a device other than cpu or webgpu is a TypeError naming the choices", async () => {
  await assert.rejects(TextGenerator.load("no-such-model", { device: "cuda" as "cpu" }), /device: expected "cpu" or "webgpu", got "cuda"/);
});

for (const command of ["generate", "chat", "serve"]) {
  test(`${command}: --help lists --device, and a bad value is a usage error before loading`, () => {
    const help = tsgpt([command, "--help"]);
    assert.equal(help.code, 0, help.err);
    assert.match(help.out, /--device cpu\|native\|js\|webgpu/);
    const own = command === "generate" ? ["--prompt", "x"] : ["--template", "llama2"];
    const bad = tsgpt([command, "--model", "no-such-model", ...own, "--device", "gpu"]);
    assert.equal(bad.code, 2, bad.err);
    assert.match(bad.err, /--device: expected one of cpu, native, js, webgpu, got "gpu"/);
  });
}

const opened = await openWebGPU();
if (opened.ok) opened.context.destroy();
const noGpu = opened.ok ? false : `webgpu unavailable: ${opened.ok ? "" : opened.reason}`;

describe("generate --device webgpu", { skip: skipUnlessShared("models", "stories260K", "stories260K.bin") || noGpu }, () => {
  const args = (device: string) => [
    "generate",
    "--model",
    sharedPath("models", "stories260K", "stories260K.bin"),
    "--tokenizer",
    sharedPath("models", "stories260K", "tok512.model"),
    "--prompt",
    "Once upon a time",
    "--max-new-tokens",
    "40",
    "--device",
    device,
    "--json",
  ];

  test("greedy and sampled output equal the CPU's", () => {
    for (const extra of [
      ["--temperature", "0"],
      ["--seed", "7", "--top-k", "20"],
    ]) {
      const gpu = tsgpt([...args("webgpu"), ...extra]);
      const cpu = tsgpt([...args("cpu"), ...extra]);
      assert.equal(gpu.code, 0, gpu.err);
      assert.equal(cpu.code, 0, cpu.err);
      const [g, c] = [JSON.parse(gpu.out), JSON.parse(cpu.out)];
      assert.deepEqual(g.tokens, c.tokens, extra.join(" "));
      assert.equal(g.text, c.text);
    }
  });
});
