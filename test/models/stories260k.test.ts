// A real pretrained model through the autograd path: llama2.c's stories260K gives the same
// logits as the inference decoder, and its greedy next token is the reference continuation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";
import { loadCheckpoint } from "../../src/formats/load.js";
import { DecoderModel } from "../../src/generate/decoder.js";
import { modelFromCheckpoint } from "../../src/models/index.js";
import { SentencePieceProcessor } from "../../src/tokenizer/index.js";
import { noGrad, Tensor } from "../../src/tensor/index.js";
import { assertClose } from "./tiny.js";

const dir = ["models", "stories260K"];
const skip = skipUnlessShared(...dir, "stories260K.bin") || skipUnlessShared(...dir, "greedy_once_upon_a_time.json");

interface Reference {
  prompt: string;
  ids_after_bos: number[];
}

test("stories260K: autograd model logits equal the inference decoder; greedy token matches the reference", { skip }, async () => {
  const ckpt = await loadCheckpoint(sharedPath(...dir, "stories260K.bin"));
  const ref = JSON.parse(readFileSync(sharedPath(...dir, "greedy_once_upon_a_time.json"), "utf8")) as Reference;
  const model = modelFromCheckpoint(ckpt);
  assert.equal(model.config.model_type, "llama");

  // BOS (1) + the first 20 tokens of the reference text: ~20 tokens, all greedy-consistent.
  const ids = [1, ...ref.ids_after_bos.slice(0, 20)];
  const T = ids.length;
  const logits = noGrad(() => model.forward(new Tensor(Int32Array.from(ids), [1, T])).logits);
  const V = logits.shape[2]!;

  const decoder = DecoderModel.fromCheckpoint(ckpt);
  const cache = decoder.createCache(1, T);
  const expected = decoder.forward(cache, Int32Array.from(ids), Int32Array.from(ids.keys()), new Uint8Array(T).fill(1), T, true);
  assertClose(logits.data(), expected, 1e-4, "logits vs decoder");

  // The prompt alone: its last position's argmax is the first token of the continuation.
  const sp = SentencePieceProcessor.load(sharedPath(...dir, "tok512.model"));
  const prompt = sp.encodeAsIds(ref.prompt);
  assert.deepEqual(prompt, ref.ids_after_bos.slice(0, prompt.length));
  const p = prompt.length + 1; // with BOS
  const last = logits
    .select(0, 0)
    .select(0, p - 1)
    .argmax()
    .item();
  assert.equal(last, ref.ids_after_bos[prompt.length]);
  // And every later position of the greedy text predicts the next one.
  const argmax = logits.select(0, 0).argmax(-1).data();
  for (let t = p - 1; t < T - 1; t++) assert.equal(argmax[t], ids[t + 1], `position ${t}`);
  assert.ok(V > 0);
});
