// Padded batches: at the real positions, a left- or right-padded batch gives the logits of each
// sequence run alone, the loss ignores pads, and pad rows never produce NaN.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createModel, type CausalLM } from "../../src/models/index.js";
import { noGrad, Tensor } from "../../src/tensor/index.js";
import { assertClose, ids2d, randomizeParameters, tinyGPT2Config, tinyLlamaConfig } from "./tiny.js";

const SEQS = [
  [5, 9, 14, 3, 7, 21, 2],
  [4, 18, 2],
  [13, 1, 19, 8, 22],
];
const T = 7;

/** Pads each sequence to T on the left or right with `padId`; returns ids, mask, labels, offsets. */
function padBatch(side: "left" | "right", padId: number) {
  const ids: number[][] = [],
    mask: number[][] = [],
    labels: number[][] = [],
    starts: number[] = [];
  for (const s of SEQS) {
    const pad = T - s.length;
    const start = side === "left" ? pad : 0;
    starts.push(start);
    const row = new Array<number>(T).fill(padId);
    const m = new Array<number>(T).fill(0);
    s.forEach((id, i) => {
      row[start + i] = id;
      m[start + i] = 1;
    });
    ids.push(row);
    mask.push(m);
    labels.push(row.map((id, t) => (m[t] ? id : -100)));
  }
  return { ids: ids2d(ids), mask: ids2d(mask), labels: ids2d(labels), starts };
}

function rowLogits(logits: Tensor, b: number, start: number, len: number): Float32Array {
  return logits.select(0, b).narrow(0, start, len).contiguous().data() as Float32Array;
}

for (const [arch, make] of [
  ["gpt2", () => createModel(tinyGPT2Config(), { seed: 5 })],
  ["llama", () => createModel(tinyLlamaConfig(), { seed: 6 })],
] as [string, () => CausalLM][]) {
  describe(`padding (${arch})`, () => {
    const model = make();
    randomizeParameters(model, 7, 0.3);
    const alone = SEQS.map((s) => noGrad(() => model.forward(ids2d([s]), { labels: ids2d([s]) })));

    for (const side of ["left", "right"] as const) {
      test(`${side}-padded batch: real positions equal each sequence alone (1e-5)`, () => {
        const { ids, mask, starts } = padBatch(side, 0);
        const { logits } = noGrad(() => model.forward(ids, { attentionMask: mask }));
        assert.ok((logits.data() as Float32Array).every(Number.isFinite), "no NaN or Inf anywhere, pads included");
        SEQS.forEach((s, b) => {
          assertClose(rowLogits(logits, b, starts[b]!, s.length), alone[b]!.logits.data(), 1e-5, `${side} row ${b}`);
        });
      });

      test(`${side}-padded batch: the loss ignores pads (token-weighted mean of the sequences' losses)`, () => {
        const a = padBatch(side, 0);
        const b = padBatch(side, 17); // other pad ids change nothing
        const la = noGrad(() => model.forward(a.ids, { attentionMask: a.mask, labels: a.labels }).loss!.item());
        const lb = noGrad(() => model.forward(b.ids, { attentionMask: b.mask, labels: b.labels }).loss!.item());
        let sum = 0,
          count = 0;
        SEQS.forEach((s, i) => {
          sum += alone[i]!.loss!.item() * (s.length - 1);
          count += s.length - 1;
        });
        assert.ok(Math.abs(la - sum / count) < 1e-5, `batch loss ${la} vs ${sum / count}`);
        assert.ok(Math.abs(la - lb) < 1e-6, `pad ids changed the loss: ${la} vs ${lb}`);
      });
    }

    test("explicit position ids equal to the mask-derived ones give the same logits", () => {
      const { ids, mask } = padBatch("left", 0);
      const pos = ids2d(mask.tolist() as number[][]).data() as Int32Array;
      const positions = new Int32Array(pos.length);
      for (let b = 0; b < SEQS.length; b++) {
        let seen = 0;
        for (let t = 0; t < T; t++) {
          seen += pos[b * T + t]!;
          positions[b * T + t] = Math.max(seen - 1, 0);
        }
      }
      const viaMask = noGrad(() => model.forward(ids, { attentionMask: mask }).logits);
      const viaIds = noGrad(() => model.forward(ids, { attentionMask: mask, positionIds: new Tensor(positions, [SEQS.length, T]) }).logits);
      assertClose(viaIds.data(), viaMask.data(), 0, "position ids");
    });

    test("a bool attention mask works like an int32 one", () => {
      const { ids, mask } = padBatch("left", 0);
      const a = noGrad(() => model.forward(ids, { attentionMask: mask }).logits);
      const b = noGrad(() => model.forward(ids, { attentionMask: mask.bool() }).logits);
      assertClose(a.data(), b.data(), 0, "bool mask");
    });
  });
}
