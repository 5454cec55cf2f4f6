// PEFT adapter directories: write → read round trip, the file layout PEFT expects, merging into
// checkpoints (the merged model's logits equal the LoRA model's), switching adapters, errors on
// bad files, and an independent check of the merge in numpy / torch from the saved files.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  applyAdapter,
  isTargetModule,
  loraConfig,
  mergeAdapter,
  readAdapter,
  scalingFor,
  unmergeAdapter,
  withAdapter,
  writeAdapter,
  type LoraAdapter,
} from "../../src/formats/peft.js";
import { readSafetensors, writeSafetensors } from "../../src/formats/safetensors.js";
import { saveHFCheckpoint } from "../../src/formats/hf.js";
import type { Checkpoint } from "../../src/formats/types.js";
import { Generator, noGrad } from "../../src/tensor/index.js";
import { addLoRA, getLoRAFactors, loraLayers, setLoRAFactors } from "../../src/nn/lora.js";
import { GPT2LMHeadModel, LlamaForCausalLM, modelFromCheckpoint, modelToCheckpoint, type CausalLM } from "../../src/models/index.js";
import { DecoderModel } from "../../src/generate/decoder.js";
import { ids2d, randomizeParameters, relDiff, tinyGPT2Config, tinyLlamaConfig } from "../models/tiny.js";
import { runPython, skipUnlessNumpy } from "./python.js";

const dir = mkdtempSync(join(tmpdir(), "tsgpt-peft-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const TARGETS = {
  llama: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
  gpt2: ["c_attn", "c_proj", "c_fc"],
};

/** A random base model, its checkpoint, and a LoRA-wrapped copy with random factors. */
function setup(arch: "llama" | "gpt2", seed = 1): { base: Checkpoint; model: CausalLM; adapter: LoraAdapter } {
  const make = () =>
    arch === "llama" ? new LlamaForCausalLM(tinyLlamaConfig(), { seed: 1 }) : new GPT2LMHeadModel(tinyGPT2Config(), { seed: 1 });
  const model = make();
  randomizeParameters(model, 7);
  const base = modelToCheckpoint(model);
  addLoRA(model, { targetModules: TARGETS[arch], r: 4, alpha: 8, seed });
  const gen = new Generator(seed + 100);
  noGrad(() => {
    for (const [, l] of loraLayers(model)) gen.fillNormal(l.lora_B.weight.storage as Float32Array, 0, 0.5);
  });
  model.eval();
  const config = loraConfig({
    r: 4,
    loraAlpha: 8,
    targetModules: TARGETS[arch],
    fanInFanOut: arch === "gpt2",
    baseModelNameOrPath: "tiny",
  });
  return { base, model, adapter: { config, layers: getLoRAFactors(model) } };
}

const IDS = ids2d([
  [1, 5, 9, 2, 7, 3],
  [4, 4, 8, 1, 0, 6],
]);

function logitsOf(model: CausalLM): Float32Array {
  return noGrad(() => model.forward(IDS).logits.data() as Float32Array).slice();
}

describe("PEFT adapter files", () => {
  test("Llama: names, shapes and config keys as PEFT writes them; read back equal", () => {
    const { adapter } = setup("llama");
    const out = join(dir, "llama-adapter");
    writeAdapter(out, adapter);
    const { tensors, metadata } = readSafetensors(join(out, ADAPTER_WEIGHTS_FILE));
    assert.equal(metadata.format, "pt");
    assert.deepEqual(tensors.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")?.shape, [4, 16]);
    assert.deepEqual(tensors.get("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight")?.shape, [16, 4]);
    assert.deepEqual(tensors.get("base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight")?.shape, [8, 4]);
    assert.deepEqual(tensors.get("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight")?.shape, [4, 24]);
    assert.equal(tensors.size, 2 * 7 * 2);
    const json = JSON.parse(readFileSync(join(out, ADAPTER_CONFIG_FILE), "utf8"));
    for (const [k, v] of Object.entries({
      peft_type: "LORA",
      task_type: "CAUSAL_LM",
      r: 4,
      lora_alpha: 8,
      bias: "none",
      fan_in_fan_out: false,
      inference_mode: true,
    })) {
      assert.deepEqual(json[k], v, k);
    }
    assert.deepEqual(json.target_modules, TARGETS.llama);
    const back = readAdapter(out);
    assert.deepEqual(back.config, adapter.config);
    assert.deepEqual([...back.layers.keys()], [...adapter.layers.keys()]);
    for (const [name, l] of adapter.layers) assert.deepEqual(back.layers.get(name), l, name);
  });

  test("GPT-2: Conv1D layers keep A (r, in) and B (out, r); fan_in_fan_out is true", () => {
    const { adapter } = setup("gpt2");
    const out = join(dir, "gpt2-adapter");
    writeAdapter(out, adapter);
    const { tensors } = readSafetensors(join(out, ADAPTER_WEIGHTS_FILE));
    assert.deepEqual(tensors.get("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight")?.shape, [4, 16]);
    assert.deepEqual(tensors.get("base_model.model.transformer.h.0.attn.c_attn.lora_B.weight")?.shape, [48, 4]);
    assert.deepEqual(tensors.get("base_model.model.transformer.h.1.mlp.c_fc.lora_B.weight")?.shape, [64, 4]);
    assert.equal(JSON.parse(readFileSync(join(out, ADAPTER_CONFIG_FILE), "utf8")).fan_in_fan_out, true);
  });

  test("target_modules matching and scaling follow PEFT's rules", () => {
    assert.ok(isTargetModule(["q_proj"], "model.layers.0.self_attn.q_proj"));
    assert.ok(!isTargetModule(["proj"], "model.layers.0.self_attn.q_proj"));
    assert.ok(isTargetModule(".*\\.(q|v)_proj", "model.layers.0.self_attn.v_proj"));
    assert.ok(!isTargetModule("q_proj", "model.layers.0.self_attn.q_proj"), "a string is a full-match regex");
    const c = loraConfig({ r: 8, loraAlpha: 16, alphaPattern: { "layers\\.1\\.self_attn\\.q_proj": 32 } });
    assert.equal(scalingFor(c, "model.layers.0.self_attn.q_proj"), 2);
    assert.equal(scalingFor(c, "model.layers.1.self_attn.q_proj"), 4);
    assert.equal(scalingFor({ ...c, useRslora: true }, "model.layers.0.self_attn.q_proj"), 16 / Math.sqrt(8));
  });

  test("bad adapters fail with the file and the field", () => {
    const { adapter } = setup("llama");
    const bad = join(dir, "bad");
    writeAdapter(bad, adapter);
    const cfgPath = join(bad, ADAPTER_CONFIG_FILE);
    const good = readFileSync(cfgPath, "utf8");
    const withConfig = (patch: Record<string, unknown>) => writeFileSync(cfgPath, JSON.stringify({ ...JSON.parse(good), ...patch }));
    withConfig({ peft_type: "IA3" });
    assert.throws(() => readAdapter(bad), /adapter_config\.json: peft_type: expected "LORA"/);
    withConfig({ r: 0 });
    assert.throws(() => readAdapter(bad), /adapter_config\.json: r: expected a positive integer/);
    withConfig({ r: 2 });
    assert.throws(() => readAdapter(bad), /do not have rank 2/);
    withConfig({ use_dora: true });
    assert.throws(() => readAdapter(bad), /use_dora/);
    writeFileSync(cfgPath, "{ not json");
    assert.throws(() => readAdapter(bad), /adapter_config\.json: JSON: invalid JSON/);
    writeFileSync(cfgPath, good);
    const { tensors } = readSafetensors(join(bad, ADAPTER_WEIGHTS_FILE));
    tensors.delete("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight");
    writeSafetensors(join(bad, ADAPTER_WEIGHTS_FILE), tensors);
    assert.throws(() => readAdapter(bad), /q_proj\.lora_B\.weight: missing/);
    tensors.set("base_model.model.lm_head.weight", { dtype: "F32", shape: [1], data: new Float32Array(1) });
    writeSafetensors(join(bad, ADAPTER_WEIGHTS_FILE), tensors);
    assert.throws(() => readAdapter(bad), /lm_head\.weight: not a LoRA factor/);
    assert.throws(() => readAdapter(join(dir, "nowhere")), /adapter_config\.json: not found/);
    // An adapter for another model size.
    const { base } = setup("gpt2");
    assert.throws(() => mergeAdapter(base, adapter), /has no tensor 'model\.layers\.0\.self_attn\.q_proj\.weight'/);
  });
});

describe("merging adapters into checkpoints", () => {
  for (const arch of ["llama", "gpt2"] as const) {
    test(`${arch}: the merged checkpoint's logits equal base + adapter (1e-5 relative), via the file`, () => {
      const { base, model, adapter } = setup(arch);
      const want = logitsOf(model);
      const out = join(dir, `${arch}-merge`);
      writeAdapter(out, adapter);
      const merged = applyAdapter(modelToCheckpoint(modelFromCheckpoint(base)), out);
      const got = logitsOf(modelFromCheckpoint(merged).eval() as CausalLM);
      assert.ok(relDiff(got, want) < 1e-5, `relative difference ${relDiff(got, want)}`);
      // The inference decoder, on merged raw weights, agrees too (last position of row 0).
      const dec = DecoderModel.fromCheckpoint(merged);
      const cache = dec.createCache(1, 8);
      const logits = dec.forward(
        cache,
        Int32Array.from([1, 5, 9, 2, 7, 3]),
        Int32Array.from([0, 1, 2, 3, 4, 5]),
        new Uint8Array(6).fill(1),
        6,
      );
      const V = logits.length;
      assert.ok(relDiff(logits, want.subarray(5 * V, 6 * V)) < 1e-4);
      // Unmerging restores the base weights.
      unmergeAdapter(merged, adapter);
      for (const [name, t] of base.tensors) {
        assert.ok(relDiff(merged.tensors.get(name)!.data as Float32Array, t.data as Float32Array) < 1e-5, name);
      }
    });
  }

  test("withAdapter leaves the base untouched; switching adapters gives each adapter's model", () => {
    const one = setup("llama", 1);
    const two = setup("llama", 2);
    const baseCopy = new Map([...one.base.tensors].map(([n, t]) => [n, (t.data as Float32Array).slice()]));
    for (const { model, adapter } of [one, two, one]) {
      const got = logitsOf(modelFromCheckpoint(withAdapter(one.base, adapter)).eval() as CausalLM);
      assert.ok(relDiff(got, logitsOf(model)) < 1e-5);
    }
    for (const [name, t] of one.base.tensors) assert.deepEqual(t.data, baseCopy.get(name), `${name} changed`);
    // In a LoRA model, loading the other adapter's factors switches too.
    setLoRAFactors(one.model, two.adapter.layers, (m) => scalingFor(two.adapter.config, m));
    assert.ok(relDiff(logitsOf(one.model), logitsOf(two.model)) < 1e-6);
  });
});

describe("PEFT layout checked in Python", { skip: skipUnlessNumpy() }, () => {
  for (const arch of ["llama", "gpt2"] as const) {
    test(`${arch}: numpy/torch merge W + (alpha/r)·B·A (transposed for Conv1D) from the saved files equals tsgpt's merged HF directory`, () => {
      const { base, adapter } = setup(arch);
      const baseDir = join(dir, `${arch}-py-base`);
      const adapterDir = join(dir, `${arch}-py-adapter`);
      const mergedDir = join(dir, `${arch}-py-merged`);
      mkdirSync(baseDir, { recursive: true });
      saveHFCheckpoint(baseDir, base);
      writeAdapter(adapterDir, adapter);
      saveHFCheckpoint(mergedDir, mergeAdapter(modelToCheckpoint(modelFromCheckpoint(base)), readAdapter(adapterDir)));
      const report = runPython(PY_CHECK, undefined, [baseDir, adapterDir, mergedDir]).toString().trim();
      assert.match(report, /^ok \d+ layers/, report);
    });
  }
});

// Reads safetensors with numpy only, follows PEFT's rules (LoraLayer: lora_A = Linear(in, r),
// lora_B = Linear(r, out) with in, out = Conv1D weight.shape for GPT-2; get_delta_weight =
// transpose(B @ A, fan_in_fan_out) * alpha / r), and compares with the merged file. Uses torch
// for the shapes of PEFT's Linear factors when it is installed.
const PY_CHECK = String.raw`
import json, struct, sys, re
import numpy as np
def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__": continue
        assert v["dtype"] == "F32", (k, v["dtype"])
        b, e = v["data_offsets"]
        out[k] = np.frombuffer(data[b:e], dtype="<f4").reshape(v["shape"])
    return out
base_dir, adapter_dir, merged_dir = sys.argv[1:4]
base = load(base_dir + "/model.safetensors")
merged = load(merged_dir + "/model.safetensors")
ad = load(adapter_dir + "/adapter_model.safetensors")
cfg = json.load(open(adapter_dir + "/adapter_config.json"))
for key in ["peft_type", "r", "lora_alpha", "lora_dropout", "target_modules", "bias", "task_type", "fan_in_fan_out", "inference_mode", "base_model_name_or_path"]:
    assert key in cfg, "adapter_config.json lacks " + key
assert cfg["peft_type"] == "LORA" and cfg["task_type"] == "CAUSAL_LM" and cfg["bias"] == "none"
try:
    import torch
except ImportError:
    torch = None
scaling = cfg["lora_alpha"] / cfg["r"]
n = 0
for name in ad:
    m = re.fullmatch(r"base_model\.model\.(.+)\.lora_A\.weight", name)
    if not m: continue
    module = m.group(1)
    assert module.split(".")[-1] in cfg["target_modules"], module
    A = ad[name]; B = ad["base_model.model." + module + ".lora_B.weight"]
    W = base[module + ".weight"]
    in_f, out_f = W.shape if cfg["fan_in_fan_out"] else W.shape[::-1]
    if torch is not None:
        assert tuple(A.shape) == tuple(torch.nn.Linear(in_f, cfg["r"], bias=False).weight.shape), (module, A.shape)
        assert tuple(B.shape) == tuple(torch.nn.Linear(cfg["r"], out_f, bias=False).weight.shape), (module, B.shape)
        delta = (torch.from_numpy(B.copy()) @ torch.from_numpy(A.copy())).numpy()
    else:
        assert A.shape == (cfg["r"], in_f) and B.shape == (out_f, cfg["r"]), module
        delta = B.astype(np.float64) @ A.astype(np.float64)
    if cfg["fan_in_fan_out"]: delta = delta.T
    want = W + scaling * delta
    got = merged[module + ".weight"]
    err = np.abs(got - want).max() / np.abs(want).max()
    assert err < 1e-6, (module, err)
    n += 1
adapted = {re.sub(r"^base_model\.model\.|\.lora_A\.weight$", "", a) + ".weight" for a in ad if a.endswith("lora_A.weight")}
for k in base:
    if k not in adapted:
        assert np.array_equal(base[k], merged[k]), k + " changed"
print("ok", n, "layers", "torch" if torch is not None else "numpy")
`;
