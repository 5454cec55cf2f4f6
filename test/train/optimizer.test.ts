// AdamW, the learning-rate schedule and gradient clipping against PyTorch (torch.optim.AdamW,
// torch.nn.utils.clip_grad_norm_), on both backends.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Generator, Tensor, availableBackends, getBackend, setBackend } from "../../src/tensor/index.js";
import { Parameter } from "../../src/nn/module.js";
import { AdamW, clipGradNorm, gradNorm, learningRate } from "../../src/train/index.js";
import { runPythonJson, skipUnlessTorch, tinyGPT2Config, tinyModel } from "./helpers.js";

function randomArray(g: Generator, n: number, scale = 1): number[] {
  const out = new Float64Array(n);
  g.fillNormal(out, 0, scale);
  return Array.from(Float32Array.from(out));
}

const TORCH_SCRIPT = `
import json, sys, math, torch
d = json.load(sys.stdin)
torch.set_default_dtype(torch.float32)
ps = [torch.tensor(p, dtype=torch.float32).reshape(s).requires_grad_() for p, s in zip(d["params"], d["shapes"])]
groups = [{"params": [p for p, dec in zip(ps, d["decay"]) if dec], "weight_decay": d["wd"]},
          {"params": [p for p, dec in zip(ps, d["decay"]) if not dec], "weight_decay": 0.0}]
opt = torch.optim.AdamW(groups, lr=d["lrs"][0], betas=(0.9, 0.99), eps=1e-8)
norms = []
for step, (lr, grads) in enumerate(zip(d["lrs"], d["grads"])):
    for g in opt.param_groups: g["lr"] = lr
    for p, gr in zip(ps, grads): p.grad = torch.tensor(gr, dtype=torch.float32).reshape(p.shape)
    norms.append(float(torch.nn.utils.clip_grad_norm_(ps, d["clip"])))
    opt.step()
    opt.zero_grad()
print(json.dumps({"params": [p.detach().reshape(-1).tolist() for p in ps], "norms": norms,
  "exp_avg": [opt.state[p]["exp_avg"].reshape(-1).tolist() for p in ps],
  "exp_avg_sq": [opt.state[p]["exp_avg_sq"].reshape(-1).tolist() for p in ps]}))
`;

describe("AdamW + clipping + schedule", () => {
  for (const backend of availableBackends()) {
    test(`matches torch.optim.AdamW with clip_grad_norm_ (${backend} backend)`, { skip: skipUnlessTorch() }, () => {
      const prev = getBackend().name;
      setBackend(backend);
      try {
        const g = new Generator(3);
        const shapes = [[4, 3], [3], [5, 2]];
        const decay = [true, false, true];
        const init = shapes.map((s) =>
          randomArray(
            g,
            s.reduce((a, b) => a * b, 1),
          ),
        );
        const steps = 6;
        const sched = { lr: 1e-2, minLr: 1e-3, warmupSteps: 2, decaySteps: steps };
        const lrs = Array.from({ length: steps }, (_, i) => learningRate(i, sched));
        // Large gradients on some steps so that clipping triggers.
        const grads = lrs.map((_, i) => init.map((p) => randomArray(g, p.length, i % 2 ? 5 : 0.1)));
        const params = init.map((p, i) => new Parameter(new Tensor(Float32Array.from(p), shapes[i]!), { decay: decay[i] }));
        const opt = new AdamW(
          params.map((p, i) => [`p${i}`, p] as [string, Tensor]),
          { lr: lrs[0], betas: [0.9, 0.99], weightDecay: 0.1 },
        );
        assert.deepEqual(opt.groups(), { decay: ["p0", "p2"], noDecay: ["p1"] });
        const norms: number[] = [];
        for (let s = 0; s < steps; s++) {
          opt.lr = lrs[s]!;
          params.forEach((p, i) => {
            p.grad = new Tensor(Float32Array.from(grads[s]![i]!), shapes[i]!);
          });
          norms.push(clipGradNorm(params, 1.0));
          opt.step();
          opt.zeroGrad();
        }
        const ref = runPythonJson(TORCH_SCRIPT, { params: init, shapes, decay, wd: 0.1, lrs, grads, clip: 1.0 }) as {
          params: number[][];
          norms: number[];
          exp_avg: number[][];
          exp_avg_sq: number[][];
        };
        norms.forEach((n, i) => assert.ok(Math.abs(n - ref.norms[i]!) <= 1e-4 * ref.norms[i]!, `norm ${i}: ${n} vs ${ref.norms[i]}`));
        const state = opt.stateTensors();
        params.forEach((p, i) => {
          const close = (a: ArrayLike<number>, b: number[], what: string) => {
            for (let j = 0; j < b.length; j++)
              assert.ok(Math.abs(a[j]! - b[j]!) <= 1e-5 + 1e-4 * Math.abs(b[j]!), `${what}[${j}]: ${a[j]} vs ${b[j]}`);
          };
          close(p.data(), ref.params[i]!, `p${i}`);
          close(state.get(`p${i}.exp_avg`)!.data, ref.exp_avg[i]!, `p${i}.exp_avg`);
          close(state.get(`p${i}.exp_avg_sq`)!.data, ref.exp_avg_sq[i]!, `p${i}.exp_avg_sq`);
        });
      } finally {
        setBackend(prev);
      }
    });
  }

  test("decay groups of a real model: linear weights decay; biases, norms and embeddings do not", () => {
    const model = tinyModel(tinyGPT2Config(10));
    const { decay, noDecay } = new AdamW(model.namedParameters()).groups();
    assert.ok(decay.length > 0 && decay.every((n) => n.endsWith(".weight") && !/wte|wpe|ln_/.test(n)), decay.join(", "));
    assert.ok(noDecay.some((n) => n.endsWith(".bias")) && noDecay.includes("transformer.wte.weight") && noDecay.some((n) => /ln_/.test(n)));
    const asked = new AdamW(model.namedParameters(), { decayEmbeddings: true }).groups();
    assert.ok(asked.decay.includes("transformer.wte.weight") && asked.decay.includes("transformer.wpe.weight"));
  });

  test("schedule: warmup rises to lr, cosine falls to minLr, then stays", () => {
    const o = { lr: 1e-3, minLr: 1e-4, warmupSteps: 10, decaySteps: 100 };
    const lrs = Array.from({ length: 120 }, (_, i) => learningRate(i, o));
    for (let i = 1; i < 10; i++) assert.ok(lrs[i]! > lrs[i - 1]!);
    assert.ok(Math.abs(learningRate(10, o) - 1e-3) < 1e-15);
    for (let i = 11; i <= 100; i++) assert.ok(lrs[i]! < lrs[i - 1]!);
    assert.ok(Math.abs(learningRate(55, o) - 5.5e-4) < 1e-12, "half way down the cosine is the mean of lr and minLr");
    assert.ok(Math.abs(learningRate(100, o) - 1e-4) < 1e-15);
    assert.equal(learningRate(119, o), 1e-4);
  });

  test("clipping leaves small gradients alone and scales large ones to the limit", () => {
    const p = new Parameter(new Tensor(new Float32Array(4), [4]));
    p.grad = new Tensor(Float32Array.from([3, 4, 0, 0]), [4]);
    assert.equal(clipGradNorm([p], 10), 5);
    assert.deepEqual(Array.from(p.grad.data()), [3, 4, 0, 0]);
    clipGradNorm([p], 1);
    assert.ok(Math.abs(gradNorm([p]) - 1) < 1e-5);
  });
});
