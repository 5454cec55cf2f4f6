// A config of a family tsgpt does not implement is refused with the file and the model_type
// named, never read as some other family.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCheckpointSync } from "../../src/formats/load.js";
import { parseModelConfig } from "../../src/arch/index.js";

test("an unsupported model_type names itself and the config file", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-unsupported-"));
  try {
    mkdirSync(join(dir, "m"));
    const file = join(dir, "m", "config.json");
    writeFileSync(file, JSON.stringify({ model_type: "falcon", vocab_size: 10, hidden_size: 8 }));
    writeFileSync(join(dir, "m", "model.safetensors"), Buffer.from([2, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d]));
    assert.throws(
      () => loadCheckpointSync(join(dir, "m")),
      (e: Error) => e.message.includes(file) && e.message.includes('"falcon"') && /model_type/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(
    () => parseModelConfig({ model_type: "gemma2" }, "my/config.json"),
    /my\/config\.json: model_type: expected .*Qwen2ForCausalLM.*, got "gemma2"/,
  );
  assert.throws(
    () => parseModelConfig({ architectures: ["FalconForCausalLM"], model_type: "falcon" }, "c.json"),
    /c\.json: architectures: .*got \["FalconForCausalLM"\]/,
  );
});

test("a rope_scaling tsgpt does not implement is refused by name, with the file", () => {
  const cfg = { model_type: "llama", vocab_size: 10, hidden_size: 8, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 2 };
  assert.throws(
    () => parseModelConfig({ ...cfg, rope_scaling: { rope_type: "yarn", factor: 4 } }, "a/config.json"),
    /a\/config\.json: rope_scaling\.rope_type: expected "llama3".*got "yarn"/,
  );
  assert.throws(
    () => parseModelConfig({ ...cfg, rope_scaling: { type: "llama3", factor: 8 } }, "b.json"),
    /b\.json: rope_scaling: low_freq_factor: expected a positive number/,
  );
  assert.throws(
    () => parseModelConfig({ ...cfg, model_type: "qwen2", use_sliding_window: true }, "q.json"),
    /q\.json: use_sliding_window: expected false/,
  );
});
