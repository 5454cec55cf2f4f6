// A LoRA adapter on a quantized checkpoint: the adapted weights are dequantized and merged, the
// others stay quantized, and generation follows the f32 model with the same adapter.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCheckpointSync, saveCheckpointSync } from "../../src/formats/load.js";
import { loraConfig, writeAdapter, type LoraAdapter } from "../../src/formats/peft.js";
import { quantizeCheckpoint } from "../../src/quant/checkpoint.js";
import { TextGenerator } from "../../src/generate/text_generator.js";
import { Generator } from "../../src/tensor/random.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";

const skip = skipUnlessShared("models", "stories260K", "stories260K.bin");

/** A rank-4 adapter on q_proj and v_proj of every layer, with B non-zero so it changes the model. */
function randomAdapter(layers: number, dim: number, kvDim: number): LoraAdapter {
  const rng = new Generator(7);
  const normal = (n: number, std: number) => Float32Array.from({ length: n }, () => rng.normal() * std);
  const r = 4;
  const adapter: LoraAdapter = { config: loraConfig({ r, loraAlpha: 8, targetModules: ["q_proj", "v_proj"] }), layers: new Map() };
  for (let l = 0; l < layers; l++) {
    for (const [proj, out] of [
      ["q_proj", dim],
      ["v_proj", kvDim],
    ] as const) {
      adapter.layers.set(`model.layers.${l}.self_attn.${proj}`, {
        a: { shape: [r, dim], data: normal(r * dim, 0.1) },
        b: { shape: [out, r], data: normal(out * r, 0.1) },
      });
    }
  }
  return adapter;
}

test("LoRA adapter on a q8_0 GGUF: targeted weights merged in f32, greedy text as the f32 model's", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-qlora-"));
  try {
    const bin = sharedPath("models", "stories260K", "stories260K.bin");
    const tok = sharedPath("models", "stories260K", "tok512.model");
    const gguf = join(dir, "q8_0.gguf");
    saveCheckpointSync(gguf, quantizeCheckpoint(loadCheckpointSync(bin), "Q8_0"), "gguf");
    const adapterDir = join(dir, "adapter");
    writeAdapter(adapterDir, randomAdapter(5, 64, 32));

    const plainQ = await TextGenerator.load(gguf, { tokenizerPath: tok });
    const adaptedQ = await TextGenerator.load(gguf, { tokenizerPath: tok, adapter: adapterDir });
    const adaptedF = await TextGenerator.load(bin, { tokenizerPath: tok, adapter: adapterDir });
    const greedy = { temperature: 0, maxNewTokens: 24 };
    const [a, b, c] = [
      await plainQ.generate("Once upon a time", greedy),
      await adaptedQ.generate("Once upon a time", greedy),
      await adaptedF.generate("Once upon a time", greedy),
    ];
    assert.notDeepEqual(b.tokens, a.tokens, "the adapter changes what the quantized model writes");
    assert.deepEqual(b.tokens.slice(0, 8), c.tokens.slice(0, 8), "quantized + adapter follows f32 + adapter");

    // Only the adapted q_proj / v_proj became f32: the model is bigger than the plain q8_0 one
    // and smaller than the f32 one.
    assert.ok(plainQ.model.weightBytes < adaptedQ.model.weightBytes, "adapted weights widened to f32");
    assert.ok(adaptedQ.model.weightBytes < adaptedF.model.weightBytes, "the other weights stay quantized");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
