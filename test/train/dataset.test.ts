import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type Tensor, crossEntropy, noGrad } from "../../src/tensor/index.js";
import { DocumentDataset, WindowDataset, batchLoss, padBatch, IGNORE_INDEX } from "../../src/train/index.js";
import { tinyGPT2Config, tinyLlamaConfig, tinyModel } from "./helpers.js";

describe("datasets", () => {
  test("windows: targets are the inputs shifted by one; the seed and the saved state fix the order", () => {
    const ids = Uint16Array.from({ length: 500 }, (_, i) => i % 97);
    const a = new WindowDataset(ids, { batchSize: 4, contextLength: 8, seed: 3 });
    const b = new WindowDataset(ids, { batchSize: 4, contextLength: 8, seed: 3 });
    const batch = a.nextBatch();
    assert.deepEqual(batch.inputIds.shape, [4, 8]);
    const x = batch.inputIds.tolist() as number[][];
    const y = batch.targets.tolist() as number[][];
    for (let r = 0; r < 4; r++) {
      assert.deepEqual(y[r]!.slice(0, 7), x[r]!.slice(1));
      assert.equal(y[r]![7], (x[r]![7]! + 1) % 97);
    }
    assert.deepEqual(b.nextBatch().inputIds.tolist(), x);
    const state = a.getState();
    const next = a.nextBatch().inputIds.tolist();
    b.setState(state);
    assert.deepEqual(b.nextBatch().inputIds.tolist(), next);
    assert.throws(() => new WindowDataset(ids.subarray(0, 8), { batchSize: 1, contextLength: 8, seed: 0 }), /fewer than one window/);
  });

  test("documents: right padding, attention mask, -100 targets on pads", () => {
    const b = padBatch(
      [
        [5, 6, 7],
        [1, 2, 3, 4, 5, 6],
      ],
      4,
      0,
    );
    assert.deepEqual(b.inputIds.tolist(), [
      [5, 6, 0, 0],
      [1, 2, 3, 4],
    ]);
    assert.deepEqual(b.targets.tolist(), [
      [6, 7, IGNORE_INDEX, IGNORE_INDEX],
      [2, 3, 4, 5],
    ]);
    assert.deepEqual(b.attentionMask!.tolist(), [
      [1, 1, 0, 0],
      [1, 1, 1, 1],
    ]);
    assert.equal(b.tokens, 6);
  });

  test("documents: every document once per epoch, reshuffled each epoch, resumable", () => {
    const docs = Array.from({ length: 7 }, (_, i) => [i, i + 1, i + 2]);
    const ds = new DocumentDataset(docs, { batchSize: 7, contextLength: 4, seed: 1 });
    const firsts = (t: Tensor) => (t.tolist() as number[][]).map((r) => r[0]!);
    const e0 = firsts(ds.nextBatch().inputIds);
    const state = ds.getState();
    const e1 = firsts(ds.nextBatch().inputIds);
    assert.deepEqual([...e0].sort(), [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual([...e1].sort(), [0, 1, 2, 3, 4, 5, 6]);
    assert.notDeepEqual(e0, e1);
    const again = new DocumentDataset(docs, { batchSize: 7, contextLength: 4, seed: 1 });
    again.setState(state);
    assert.deepEqual(firsts(again.nextBatch().inputIds), e1);
  });

  for (const config of [tinyGPT2Config(12), tinyLlamaConfig(12)]) {
    test(`a padded batch's loss is the token-weighted mean of each document's own loss (${config.model_type})`, () => {
      const model = tinyModel(config);
      const docs = [
        [1, 2, 3, 4],
        [5, 6, 7, 8, 9, 10, 11, 1, 2],
        [3, 3],
      ];
      noGrad(() => {
        const padded = padBatch(docs, 15, 0);
        const batchValue = batchLoss(model, padded).item();
        let sum = 0;
        let n = 0;
        for (const d of docs) {
          const alone = padBatch([d], 15, 0);
          const { logits } = model.forward(alone.inputIds);
          const L = d.length - 1;
          sum += crossEntropy(logits.reshape(L, 12), alone.targets.reshape(L), { reduction: "sum" }).item();
          n += L;
        }
        assert.ok(Math.abs(batchValue - sum / n) < 1e-5, `${batchValue} vs ${sum / n}`);
      });
    });
  }
});
