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
    assert.throws(() => loadCheckpointSync(join(dir, "m")), (e: Error) => e.message.includes(file) && e.message.includes('"falcon"') && /model_type/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => parseModelConfig({ model_type: "gemma2" }, "my/config.json"), /my\/config\.json: model_type: expected .*Qwen2ForCausalLM.*, got "gemma2"/);
  assert.throws(() => parseModelConfig({ architectures: ["FalconForCausalLM"], model_type: "falcon" }, "c.json"), /c\.json: architectures: .*got \["FalconForCausalLM"\]/);
});
