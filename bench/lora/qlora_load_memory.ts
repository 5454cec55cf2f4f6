// Peak memory of loading a quantized base for QLoRA, and what it was before the loader built
// models on empty (shape-only) weights.
//
// 1. Writes a random Llama (hidden 768, 12 layers, 12 heads, intermediate 2048, vocab 32000,
//    untied head: 134M parameters) as Q8_0 and Q4_0 GGUF files in a temporary folder,
//    generated and quantized one tensor at a time.
// 2. For each file, each way of loading runs in its own child process (a fresh heap, so the peak
//    resident set is that way's alone). The peak is VmHWM from /proc/self/status: on Linux
//    process.resourceUsage().maxRSS survives exec, so a child spawned by this big parent would
//    report the parent's peak (it is the fallback where /proc is missing).
//      node   nothing loaded: what Node.js and tsx take by themselves
//      file   loadCheckpointSync only: the checkpoint's bytes in memory (the floor)
//      before the previous loader, reproduced here: createModel (f32, random init), then each
//             quantized Linear swapped for a QuantizedLinear, the rest copied in
//      after  modelFromCheckpoint(ckpt, { keepQuantized: true, shareWeights: true }), as
//             `tsgpt finetune` loads its base: quantized layers never have f32 weights
//      f32    the same model dequantized (plain LoRA on an f32 base), for scale
//    then addLoRA (r 8 on q_proj, v_proj) and one forward pass of 8 tokens, to show the model works.
// 3. Prints, per way: seconds to load, peak RSS, the bytes of the weights the model holds
//    (f32 parameters + quantized bytes) and peak RSS minus the "file" floor.
//
//   npx tsx bench/lora/qlora_load_memory.ts [--layers 12] [--dtypes Q8_0,Q4_0] [--keep]
//
// Needs ~250 MB in the temporary folder (os.tmpdir(), or TMPDIR).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Checkpoint, LlamaConfig, StoredTensor } from "../../src/formats/types.js";
import { loadCheckpointSync } from "../../src/formats/load.js";
import { writeGGUFCheckpoint } from "../../src/formats/gguf_llama.js";
import { createModel, modelFromCheckpoint, type CausalLM } from "../../src/models/index.js";
import { Linear } from "../../src/nn/index.js";
import { QuantizedLinear } from "../../src/quant/index.js";
import { addLoRA, loraLayers } from "../../src/nn/lora.js";
import { dequantize, dequantizeCheckpoint, quantizeTensor } from "../../src/quant/index.js";
import { isQuantDType, type QuantDType, type QuantizedTensor } from "../../src/quant/types.js";
import { Generator, Tensor, noGrad } from "../../src/tensor/index.js";

const { values } = parseArgs({
  options: {
    layers: { type: "string", default: "12" },
    dtypes: { type: "string", default: "Q8_0,Q4_0" },
    keep: { type: "boolean", default: false },
    child: { type: "string" }, // "MODE PATH": run one way of loading (internal)
  },
});

const MODES = ["node", "file", "before", "after", "f32"] as const;
type Mode = (typeof MODES)[number];

function benchConfig(layers: number): LlamaConfig {
  return {
    model_type: "llama",
    vocab_size: 32000,
    hidden_size: 768,
    intermediate_size: 2048,
    num_hidden_layers: layers,
    num_attention_heads: 12,
    num_key_value_heads: 12,
    max_position_embeddings: 1024,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: false,
    bos_token_id: 1,
    eos_token_id: 2,
  };
}

/** Every tensor: name and shape (1-D ones are norms, filled with 1.0). */
function tensorList(c: LlamaConfig): Array<[string, number[]]> {
  const H = c.hidden_size,
    I = c.intermediate_size;
  const list: Array<[string, number[]]> = [["model.embed_tokens.weight", [c.vocab_size, H]]];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    list.push(
      [`${p}.input_layernorm.weight`, [H]],
      [`${p}.self_attn.q_proj.weight`, [H, H]],
      [`${p}.self_attn.k_proj.weight`, [H, H]],
      [`${p}.self_attn.v_proj.weight`, [H, H]],
      [`${p}.self_attn.o_proj.weight`, [H, H]],
      [`${p}.post_attention_layernorm.weight`, [H]],
      [`${p}.mlp.gate_proj.weight`, [I, H]],
      [`${p}.mlp.up_proj.weight`, [I, H]],
      [`${p}.mlp.down_proj.weight`, [H, I]],
    );
  }
  list.push(["model.norm.weight", [H]], ["lm_head.weight", [c.vocab_size, H]]);
  return list;
}

/** One random checkpoint per dtype: each f32 matrix lives only until it is quantized. */
function writeCheckpoints(dir: string, config: LlamaConfig, dtypes: QuantDType[]): Map<QuantDType, string> {
  const gen = new Generator(1);
  const byDtype = new Map(dtypes.map((d) => [d, new Map<string, StoredTensor>()]));
  for (const [name, shape] of tensorList(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (shape.length === 1) data.fill(1);
    else {
      gen.fillNormal(data);
      for (let i = 0; i < n; i++) data[i] = data[i]! * 0.02;
    }
    for (const [dtype, tensors] of byDtype) {
      tensors.set(
        name,
        shape.length === 1 ? { dtype: "F32", shape, data } : (quantizeTensor({ data, shape }, dtype, name) as unknown as StoredTensor),
      );
    }
  }
  const paths = new Map<QuantDType, string>();
  for (const [dtype, tensors] of byDtype) {
    const path = join(dir, `llama-${dtype.toLowerCase()}.gguf`);
    const ckpt: Checkpoint = { config, tensors, source: { path: "(random)", format: "hf" } };
    writeGGUFCheckpoint(path, ckpt);
    paths.set(dtype, path);
  }
  return paths;
}

/** The loader as it was: the whole f32 model first (random init), then quantized layers swapped in, the rest copied. */
function loadBefore(ckpt: Checkpoint): CausalLM {
  const model = createModel(ckpt.config);
  const linears = new Map(model.namedModules().filter((e): e is [string, Linear] => e[1] instanceof Linear));
  const state = new Map<string, Tensor>();
  for (const [name, t] of ckpt.tensors) {
    const layer = linears.get(name.slice(0, -".weight".length));
    if (isQuantDType(t.dtype) && layer)
      model.replaceModule(name.slice(0, -".weight".length), new QuantizedLinear(t as unknown as QuantizedTensor, layer.bias));
    else state.set(name, new Tensor((isQuantDType(t.dtype) ? dequantize(t) : t).data as Float32Array, t.shape.slice()));
  }
  model.loadStateDict(state);
  return model;
}

/** Bytes of the weights a model holds: f32 parameters and quantized weights. */
function modelBytes(model: CausalLM): number {
  let n = 0;
  for (const p of model.parameters()) n += 4 * p.numel;
  for (const [, m] of model.namedModules()) if (m instanceof QuantizedLinear) n += m.weightBytes;
  for (const [, l] of loraLayers(model)) if (l.quantizedBase) n += (l.quantizedBase as QuantizedLinear).weightBytes;
  return n;
}

/** Peak resident set of this process in bytes: VmHWM (reset by exec), else maxRSS. */
function peakRss(): number {
  if (existsSync("/proc/self/status")) {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (kb) return Number(kb) * 1024;
  }
  return process.resourceUsage().maxRSS * 1024;
}

function runChild(mode: Mode, path: string): void {
  const t0 = performance.now();
  const ckpt = mode === "node" ? null : loadCheckpointSync(path);
  let bytes = 0;
  let loss: number | null = null;
  if (!ckpt) {
    // the runtime alone
  } else if (mode === "file") {
    for (const t of ckpt.tensors.values()) bytes += t.data.byteLength;
  } else {
    const model =
      mode === "before"
        ? loadBefore(ckpt)
        : mode === "after"
          ? modelFromCheckpoint(ckpt, { keepQuantized: true, shareWeights: true })
          : modelFromCheckpoint(dequantizeCheckpoint(ckpt), { shareWeights: true });
    addLoRA(model, { targetModules: ["q_proj", "v_proj"], r: 8, alpha: 16 });
    bytes = modelBytes(model);
    const ids = new Tensor(Int32Array.from([1, 450, 4996, 17354, 1701, 432, 17204, 975]), [1, 8]);
    loss = noGrad(() => model.forward(ids, { labels: ids }).loss!.item());
  }
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ mode, seconds, maxRssBytes: peakRss(), bytes, loss }) + "\n");
}

interface ChildResult {
  mode: Mode;
  seconds: number;
  maxRssBytes: number;
  bytes: number;
  loss: number | null;
}

function measure(mode: Mode, path: string): ChildResult {
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--child", `${mode} ${path}`], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`child ${mode} failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as ChildResult;
}

const MB = (n: number) => (n / 2 ** 20).toFixed(0).padStart(6);

function main(): void {
  const config = benchConfig(Number(values.layers));
  const dtypes = values
    .dtypes!.split(",")
    .map((s) => s.trim().toUpperCase())
    .filter(isQuantDType);
  const dir = mkdtempSync(join(tmpdir(), "tsgpt-qlora-load-"));
  try {
    const t0 = performance.now();
    const paths = writeCheckpoints(dir, config, dtypes);
    const params = tensorList(config).reduce((s, [, shape]) => s + shape.reduce((a, b) => a * b, 1), 0);
    console.log(
      `random llama: hidden ${config.hidden_size}, ${config.num_hidden_layers} layers, vocab ${config.vocab_size}: ${(params / 1e6).toFixed(1)}M parameters (written in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
    console.log(`QLoRA load (addLoRA r 8 on q_proj, v_proj), each in its own process; MiB; peak RSS is the child's VmHWM`);
    console.log(`dtype   way     load s  peak RSS  weights held  RSS − file  loss (8 tokens)`);
    for (const [dtype, path] of paths) {
      let floor = 0;
      for (const mode of MODES) {
        const r = measure(mode, path);
        if (mode === "file") floor = r.maxRssBytes;
        const loss = r.loss === null ? "" : r.loss.toFixed(4);
        console.log(
          `${dtype.padEnd(7)} ${mode.padEnd(7)} ${r.seconds.toFixed(1).padStart(6)}  ${MB(r.maxRssBytes)}    ${MB(r.bytes)}        ${mode === "file" || mode === "node" ? "     —" : MB(r.maxRssBytes - floor)}      ${loss}`,
        );
      }
    }
  } finally {
    if (values.keep) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

if (values.child) {
  const [mode, ...rest] = values.child.split(" ");
  runChild(mode as Mode, rest.join(" "));
} else {
  main();
}
