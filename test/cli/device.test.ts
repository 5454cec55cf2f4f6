// --device on train, finetune and eval (device_flag.test.ts covers parsing and generate, chat,
// serve): the help text, and a tiny training run and evaluation on webgpu whose scores equal
// native's (skipped, with the reason, where no WebGPU adapter comes up; Mesa's lavapipe gives
// one on a CPU).
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { getBackend, loadWebGPUSyncBackend, setBackend } from "../../src/backend/index.js";
import { loadNativeBackend } from "../../src/backend/native.js";
import { applyDevice } from "../../src/cli/device_option.js";
import { run as evalCli } from "../../src/cli/eval.js";
import { run as finetuneCli } from "../../src/cli/finetune.js";
import { run as trainCli } from "../../src/cli/train.js";
import { saveHFCheckpoint } from "../../src/formats/hf.js";
import { readAdapter } from "../../src/formats/peft.js";
import { LlamaForCausalLM, modelToCheckpoint } from "../../src/models/index.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { TEXT, capture, tempDir, tinyGPT2Config } from "../train/helpers.js";

const TOKENIZER = ["testdata", "tokenizer", "tok512.model"] as const;

let skip: string | false = loadNativeBackend() ? false : "native addon not built (native is the reference)";
try {
  if (!skip) loadWebGPUSyncBackend("the --device test");
} catch (e) {
  skip = `webgpu unavailable: ${(e as Error).message}`;
}
const initial = getBackend().name;
after(() => setBackend(initial));

describe("--device on train, finetune and eval", () => {
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

  test("finetune --device webgpu trains the same LoRA adapter as --device native", {
    skip: skip || skipUnlessShared(...TOKENIZER),
  }, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const model = new LlamaForCausalLM(
        {
          model_type: "llama",
          vocab_size: 512,
          hidden_size: 16,
          intermediate_size: 32,
          num_hidden_layers: 1,
          num_attention_heads: 2,
          num_key_value_heads: 1,
          max_position_embeddings: 192,
          rms_norm_eps: 1e-5,
          rope_theta: 10000,
          tie_word_embeddings: true,
        },
        { seed: 3 },
      );
      const base = join(dir, "base");
      saveHFCheckpoint(base, { ...modelToCheckpoint(model), tokenizerPath: sharedPath(...TOKENIZER) });
      const data = join(dir, "data.jsonl");
      const rows = Array.from({ length: 8 }, (_, i) => JSON.stringify({ instruction: `Count to ${i}.`, output: `one two ${i}` }));
      writeFileSync(data, `${rows.join("\n")}\n`);
      const adapters = new Map<string, ReturnType<typeof readAdapter>>();
      for (const device of ["webgpu", "native"]) {
        const out = join(dir, device);
        const flags = ["--model", base, "--data", data, "--steps", "2", "--batch-size", "2", "--lora-dropout", "0", "--out", out];
        const r = await capture(() => finetuneCli([...flags, "--device", device]));
        assert.equal(r.code, 0, r.err);
        adapters.set(device, readAdapter(join(out, "last")));
      }
      const [gpu, cpu] = [adapters.get("webgpu")!, adapters.get("native")!];
      assert.ok(cpu.layers.size > 0);
      const moved = [...cpu.layers.values()].some((w) => w.b.data.some((v) => Math.abs(v) > 1e-5));
      assert.ok(moved, "lora_B left zero: nothing was trained");
      for (const [name, w] of cpu.layers) {
        for (const f of ["a", "b"] as const) {
          const want = w[f].data,
            got = gpu.layers.get(name)![f].data;
          want.forEach((v, i) =>
            assert.ok(Math.abs(got[i]! - v) <= 1e-6 + 1e-3 * Math.abs(v), `${name}.${f}[${i}]: webgpu ${got[i]}, native ${v}`),
          );
        }
      }
    } finally {
      cleanup();
      await applyDevice("cpu");
    }
  });
});
