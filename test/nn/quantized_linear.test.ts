// QuantizedLinear against a Linear holding the dequantized weight, and QLoRA: LoRA over a
// quantized stories260K trains its factors only.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Generator, Tensor, noGrad, randn } from "../../src/tensor/index.js";
import { Linear } from "../../src/nn/index.js";
import { QuantizedLinear } from "../../src/quant/index.js";
import { type LoRALinear, addLoRA, countParameters, loraParameters } from "../../src/nn/lora.js";
import {
  dequantize,
  dequantizeCheckpoint,
  quantizeActivations,
  quantizeCheckpoint,
  quantizeTensor,
  type QuantDType,
} from "../../src/quant/index.js";
import { loadCheckpointSync } from "../../src/formats/load.js";
import { modelFromCheckpoint } from "../../src/models/index.js";
import { AdamW } from "../../src/train/adamw.js";
import { writeGGUFCheckpoint } from "../../src/formats/gguf_llama.js";
import { finetune } from "../../src/train/finetune.js";
import { DEFAULT_SETTINGS } from "../../src/train/index.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { ids2d, relDiff } from "../models/tiny.js";

const IN = 64,
  OUT = 40,
  M = 6;

/** A QuantizedLinear of `dtype` and a Linear with its dequantized weight and the same bias. */
function pair(dtype: QuantDType, inF = IN): { q: QuantizedLinear; ref: Linear } {
  const gen = new Generator(3);
  const w = randn([OUT, inF], { generator: gen });
  const qw = quantizeTensor({ data: w.data() as Float32Array, shape: [OUT, inF] }, dtype, "w");
  const ref = new Linear(inF, OUT);
  const bias = randn([OUT], { generator: gen });
  noGrad(() => {
    ref.weight.copy_(new Tensor(dequantize(qw).data as Float32Array, [OUT, inF]));
    ref.bias!.copy_(bias);
  });
  return { q: new QuantizedLinear(qw, bias), ref };
}

describe("QuantizedLinear", () => {
  for (const dtype of ["Q8_0", "Q4_0", "Q8_ROW", "Q4_K"] as const) {
    const inF = dtype === "Q4_K" ? 256 : IN;
    test(`${dtype}: forward ≈ Linear(dequantized W) within the Q8 activation rounding`, () => {
      const { q, ref } = pair(dtype, inF);
      const x = randn([2, M / 2, inF], { generator: new Generator(9) });
      const y = noGrad(() => q.forward(x).data() as Float32Array);
      const want = noGrad(() => ref.forward(x).data() as Float32Array);
      assert.deepEqual(q.forward(x).shape, [2, M / 2, OUT]);
      // x is rounded to int8 blocks of 32 (scale d = amax/127): each element moves by at most
      // d/2, so |Δy_o| ≤ Σ_j (amax_block(j)/254)·|W_oj| (+ float slack).
      const xs = x.data() as Float32Array,
        W = ref.weight.data() as Float32Array;
      for (let r = 0; r < M; r++) {
        for (let o = 0; o < OUT; o++) {
          let bound = 1e-4;
          for (let b = 0; b < inF; b += 32) {
            let amax = 0;
            for (let j = b; j < b + 32; j++) amax = Math.max(amax, Math.abs(xs[r * inF + j]!));
            for (let j = b; j < b + 32; j++) bound += (amax / 254) * Math.abs(W[o * inF + j]!);
          }
          const d = Math.abs(y[r * OUT + o]! - want[r * OUT + o]!);
          assert.ok(d <= bound, `row ${r} out ${o}: |Δ| ${d} > bound ${bound}`);
        }
      }
      // Exactly: the kernel computes W_deq · x_deq, x_deq being x after that rounding.
      const act = quantizeActivations(xs, M, inF);
      const xDeq = Float32Array.from(act.q, (v, i) => v * act.d[Math.floor(i / 32)]!);
      const exact = noGrad(() => ref.forward(new Tensor(xDeq, [M, inF])).data() as Float32Array);
      assert.ok(relDiff(y, exact) < 1e-5, `vs Linear on the rounded x: ${relDiff(y, exact)}`);
    });

    test(`${dtype}: input gradient equals the dequantized Linear's (float error only)`, () => {
      const { q, ref } = pair(dtype, inF);
      const x0 = randn([M, inF], { generator: new Generator(4) });
      const gy = randn([M, OUT], { generator: new Generator(5) });
      const grads = [q, ref].map((layer) => {
        const x = x0.detach().requiresGrad_(true);
        layer.forward(x).mul(gy).sum().backward();
        return x.grad!.data() as Float32Array;
      });
      assert.ok(relDiff(grads[0]!, grads[1]!) < 1e-5, `relative difference ${relDiff(grads[0]!, grads[1]!)}`);
      assert.equal(q.bias!.grad, null, "the bias is frozen");
    });
  }

  test("a weight bigger than the scratch is decoded in blocks of rows: same gradient", () => {
    // 1 << 20 floats of scratch / 8192 columns = 128 rows a block; 300 rows → 3 blocks.
    const rows = 300,
      cols = 8192;
    const w = randn([rows, cols], { generator: new Generator(6) });
    const qw = quantizeTensor({ data: w.data() as Float32Array, shape: [rows, cols] }, "Q8_0", "w");
    const q = new QuantizedLinear(qw);
    const x = randn([2, cols], { generator: new Generator(7) }).requiresGrad_(true);
    const gy = randn([2, rows], { generator: new Generator(8) });
    q.forward(x).mul(gy).sum().backward();
    const Wd = new Tensor(dequantize(qw).data as Float32Array, [rows, cols]);
    const want = gy.matmul(Wd).data() as Float32Array;
    assert.ok(relDiff(x.grad!.data() as Float32Array, want) < 1e-5);
  });

  test("bad weights are refused with a clear error", () => {
    assert.throws(() => new QuantizedLinear({ dtype: "Q8_0", shape: [2, 32], data: new Uint8Array(10) }), /needs 68 bytes/);
    const qw = quantizeTensor({ data: new Float32Array(64), shape: [2, 32] }, "Q8_0");
    assert.throws(() => new QuantizedLinear(qw, new Tensor(new Float32Array(3), [3])), /does not fit 2 outputs/);
    assert.throws(() => new QuantizedLinear(qw).forward(new Tensor(new Float32Array(16), [16])), /does not end in 32/);
  });
});

const MODEL = ["models", "stories260K", "stories260K.bin"];

describe("QLoRA on a Q8_0 stories260K", { skip: skipUnlessShared(...MODEL) }, () => {
  test("keepQuantized: linear layers stay Q8_0, logits ≈ the dequantized model's", () => {
    const ckpt = quantizeCheckpoint(loadCheckpointSync(sharedPath(...MODEL)), "Q8_0");
    const kept = modelFromCheckpoint(ckpt, { keepQuantized: true });
    const attn = kept.namedModules().find(([n]) => n === "model.layers.0.self_attn.q_proj")![1];
    assert.ok(attn instanceof QuantizedLinear && attn.qweight.dtype === "Q8_0");
    assert.ok(!kept.namedParameters().some(([n]) => n === "model.layers.0.self_attn.q_proj.weight"), "no f32 copy of the weight");
    const full = modelFromCheckpoint(dequantizeCheckpoint(ckpt));
    const ids = ids2d([[1, 403, 407, 261, 378, 289, 102]]);
    const a = noGrad(() => kept.forward(ids).logits.data() as Float32Array);
    const b = noGrad(() => full.forward(ids).logits.data() as Float32Array);
    assert.ok(relDiff(a, b) < 0.05, `relative difference ${relDiff(a, b)} (Q8 activations)`);
  });

  test("a few AdamW steps on a fixed batch lower the loss; only A and B change", () => {
    const ckpt = quantizeCheckpoint(loadCheckpointSync(sharedPath(...MODEL)), "Q8_0");
    const model = modelFromCheckpoint(ckpt, { keepQuantized: true });
    const added = addLoRA(model, { targetModules: ["q_proj", "v_proj", "gate_proj", "up_proj"], r: 4, alpha: 8 });
    assert.ok(
      added.some(([, l]) => (l as LoRALinear).quantizedBase !== null),
      "some bases are quantized",
    );
    const loraCount = loraParameters(model).reduce((n, [, p]) => n + p.numel, 0);
    assert.equal(
      countParameters(model).total,
      modelFromCheckpoint(dequantizeCheckpoint(ckpt)).numParameters() + loraCount,
      "quantized weights count in the total",
    );
    const before = new Map(model.namedParameters().map(([n, p]) => [n, (p.data() as Float32Array).slice()]));
    const qBytes = added.map(([, l]) => (l.quantizedBase as QuantizedLinear | null)?.qweight.data.slice());
    const ids = ids2d([
      [1, 403, 407, 261, 378, 289, 300, 13],
      [1, 320, 279, 288, 410, 260, 290, 13],
    ]);
    const opt = new AdamW(loraParameters(model), { lr: 1e-2, weightDecay: 0 });
    const losses: number[] = [];
    for (let step = 0; step < 6; step++) {
      const { loss } = model.forward(ids, { labels: ids });
      losses.push(loss!.item());
      loss!.backward();
      opt.step();
      model.zeroGrad();
    }
    assert.ok(losses[losses.length - 1]! < losses[0]! - 0.01, `loss ${losses.map((l) => l.toFixed(4)).join(" → ")}`);
    for (const [name, p] of model.namedParameters()) {
      const same = (p.data() as Float32Array).every((v, i) => v === before.get(name)![i]);
      if (/lora_B/.test(name)) assert.ok(!same, `${name} should have changed`);
      else if (!/lora_A/.test(name)) assert.ok(same, `${name} should be frozen`);
    }
    added.forEach(([, l], i) => {
      if (l.quantizedBase) assert.deepEqual((l.quantizedBase as QuantizedLinear).qweight.data, qBytes[i], "quantized bytes untouched");
    });
    assert.throws(() => added.find(([, l]) => l.quantizedBase)![1].merge(), /quantized base/);
  });

  test("tsgpt finetune on a Q8_0 GGUF keeps the base quantized and lowers the held-out loss", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsgpt-qlora-"));
    try {
      const gguf = join(dir, "stories260K-q8_0.gguf");
      writeGGUFCheckpoint(gguf, quantizeCheckpoint(loadCheckpointSync(sharedPath(...MODEL)), "Q8_0"));
      const data = join(dir, "train.jsonl");
      const rows = Array.from({ length: 12 }, (_, i) =>
        JSON.stringify({ instruction: `Count to ${i % 4}.`, input: "", output: "Once upon a time there was a cat." }),
      );
      writeFileSync(data, rows.join("\n") + "\n");
      const lines: string[] = [];
      const result = finetune({
        args: {
          base: gguf,
          tokenizer: sharedPath("models", "stories260K", "tok512.model"),
          data,
          valData: data,
          valFraction: 0,
          template: "alpaca",
          r: 4,
          alpha: 8,
          dropout: 0,
          targets: ["q_proj", "v_proj"],
          settings: {
            ...DEFAULT_SETTINGS,
            steps: 6,
            lr: 1e-2,
            minLr: 1e-3,
            warmupSteps: 0,
            batchSize: 4,
            gradAccum: 1,
            contextLength: 256,
            weightDecay: 0,
            evalEvery: 6,
            evalIters: 1,
            saveEvery: 0,
            logEvery: 1,
            seed: 1,
          },
        },
        out: join(dir, "run"),
        log: (l) => lines.push(l),
        progress: false,
      });
      assert.ok(
        lines.some((l) => /^base weights: quantized Q8_0, [\d.]+ MiB in \d+ linear layers \(kept\)$/.test(l)),
        lines.join("\n"),
      );
      assert.ok(result.finalValLoss! < result.baseValLoss!, `val loss ${result.baseValLoss} → ${result.finalValLoss}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
