// Module bookkeeping: names, order, tied parameters, decay flags, modes, state dicts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Embedding, LayerNorm, Linear, Module, ModuleList, Parameter, RMSNorm } from "../../src/nn/index.js";
import { Generator, tensor, zeros } from "../../src/tensor/index.js";

class Block extends Module {
  readonly fc: Linear;
  readonly ln: LayerNorm;
  constructor() {
    super();
    this.fc = this.registerModule("fc", new Linear(3, 2, { generator: new Generator(1) }));
    this.ln = this.registerModule("ln", new LayerNorm(2));
  }
}

class Net extends Module {
  readonly emb: Embedding;
  readonly blocks: ModuleList<Block>;
  readonly head: Linear;
  constructor() {
    super();
    this.emb = this.registerModule("emb", new Embedding(5, 3));
    this.blocks = this.registerModule("blocks", new ModuleList([new Block(), new Block()]));
    this.head = this.registerModule("head", new Linear(3, 5, { bias: false }));
  }
}

test("namedParameters: dotted names in registration order; numParameters counts them", () => {
  const net = new Net();
  assert.deepEqual(
    net.namedParameters().map(([n]) => n),
    [
      "emb.weight",
      "blocks.0.fc.weight",
      "blocks.0.fc.bias",
      "blocks.0.ln.weight",
      "blocks.0.ln.bias",
      "blocks.1.fc.weight",
      "blocks.1.fc.bias",
      "blocks.1.ln.weight",
      "blocks.1.ln.bias",
      "head.weight",
    ],
  );
  assert.equal(net.numParameters(), 15 + 2 * (6 + 2 + 2 + 2) + 15);
  assert.deepEqual(net.namedParameters("model").map(([n]) => n)[0], "model.emb.weight");
});

test("weight decay applies to Linear weights only", () => {
  const decays = Object.fromEntries(new Net().namedParameters().map(([n, p]) => [n, p.decay]));
  assert.equal(decays["emb.weight"], false);
  assert.equal(decays["blocks.0.fc.weight"], true);
  assert.equal(decays["blocks.0.fc.bias"], false);
  assert.equal(decays["blocks.0.ln.weight"], false);
  assert.equal(new RMSNorm(4).weight.decay, false);
});

test("a parameter registered twice is listed once (tied weights)", () => {
  class Tied extends Module {
    constructor() {
      super();
      const w = new Parameter(zeros([2, 2]));
      this.registerParameter("a", w);
      this.registerParameter("b", w);
    }
  }
  assert.deepEqual(
    new Tied().namedParameters().map(([n]) => n),
    ["a"],
  );
});

test("Parameter requires grad; train/eval reach every child; zeroGrad clears", () => {
  const net = new Net();
  assert.ok(net.parameters().every((p) => p.requiresGrad && p.isLeaf));
  net.eval();
  assert.ok(net.namedModules().every(([, m]) => !m.training));
  net.train();
  assert.ok(net.blocks.at(1).ln.training);
  const x = tensor([[1, 2, 3]], { dtype: "float32" });
  net.blocks.at(0).fc.forward(x).sum().backward();
  assert.ok(net.blocks.at(0).fc.weight.grad);
  net.zeroGrad();
  assert.equal(net.blocks.at(0).fc.weight.grad, null);
});

test("stateDict / loadStateDict copy values and report problems clearly", () => {
  const a = new Net(),
    b = new Net();
  const noisy = new Map([...a.stateDict()].map(([k, v]) => [k, v.add(1)]));
  b.loadStateDict(noisy);
  assert.deepEqual(b.blocks.at(1).fc.bias!.tolist(), noisy.get("blocks.1.fc.bias")!.tolist());
  const missing = new Map(noisy);
  missing.delete("head.weight");
  assert.throws(() => b.loadStateDict(missing), /missing keys: head\.weight/);
  assert.deepEqual(b.loadStateDict(missing, { strict: false }).missing, ["head.weight"]);
  const extra = new Map(noisy).set("extra.weight", zeros([1]));
  assert.throws(() => b.loadStateDict(extra), /unexpected keys: extra\.weight/);
  const wrong = new Map(noisy).set("emb.weight", zeros([5, 4]));
  assert.throws(() => b.loadStateDict(wrong), /'emb\.weight' has shape \[5, 4\] but the model expects \[5, 3\]/);
});

test("Linear computes x Wᵀ + b with W of shape (out, in)", () => {
  const lin = new Linear(3, 2);
  assert.deepEqual(lin.weight.shape, [2, 3]);
  const x = tensor([[1, 2, 3]], { dtype: "float32" });
  const w = lin.weight.tolist() as number[][];
  const y = lin.forward(x).tolist() as number[][];
  for (let o = 0; o < 2; o++) {
    assert.ok(Math.abs(y[0]![o]! - (w[o]![0]! + 2 * w[o]![1]! + 3 * w[o]![2]!)) < 1e-6);
  }
  assert.throws(() => new Linear(0, 2), /inFeatures must be a positive integer/);
});

test("replaceModule: a dotted name swaps the module in the registry and in the field forward reads", () => {
  const net = new Net();
  const namesBefore = net.namedParameters().map(([n]) => n);
  const oldFc = net.blocks.at(1).fc;
  const fc = new Linear(3, 2, { generator: new Generator(9) });
  assert.equal(net.replaceModule("blocks.1.fc", fc), oldFc);
  assert.equal(net.blocks.at(1).fc, fc);
  assert.deepEqual(
    net.namedParameters().map(([n]) => n),
    namesBefore,
    "same names, same order",
  );
  assert.equal(net.namedParameters().find(([n]) => n === "blocks.1.fc.weight")![1], fc.weight);

  // A ModuleList child: its items follow.
  const block = new Block();
  net.replaceModule("blocks.0", block);
  assert.equal(net.blocks.at(0), block);
  assert.equal([...net.blocks][0], block);
  assert.equal(net.namedModules().find(([n]) => n === "blocks.0")![1], block);
});

test("replaceModule: an unknown name, or a child kept under another field name, is an error", () => {
  const net = new Net();
  assert.throws(() => net.replaceModule("blocks.2.fc", new Linear(3, 2)), /no module named 'blocks\.2\.fc'/);
  assert.throws(() => net.replaceModule("head2", new Linear(3, 5)), /no module named 'head2'/);
  class Hidden extends Module {
    readonly inner: Linear;
    constructor() {
      super();
      this.inner = this.registerModule("proj", new Linear(2, 2));
    }
  }
  const h = new Hidden();
  assert.throws(() => h.replaceModule("proj", new Linear(2, 2)), /does not keep its child 'proj' in a field of that name/);
  assert.equal(h.namedChildren()[0]![1], h.inner, "nothing was replaced");
});
