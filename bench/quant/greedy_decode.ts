// tsgpt's side of the decode-speed benches (decode.ts, table.ts): greedy decoding of a fixed
// token prompt with the inference decoder, timed the same way as llama.cpp in
// llamacpp_runner.ts — the prompt is fed before the clock starts, then `tokens` single-token
// steps are timed (argmax of the logits, no sampling, EOS does not stop it).
import type { DecoderModel } from "../../src/generate/decoder.js";
import type { DecodeRun } from "./llamacpp_runner.js";

/** Feeds `prompt`, then times `tokens` greedy decode steps. */
export function tsgptDecode(model: DecoderModel, prompt: readonly number[], tokens: number): DecodeRun {
  const V = model.dims.vocabSize;
  const cache = model.createCache(1, prompt.length + tokens + 1);
  let pos = 0;
  const step = (ids: readonly number[]): number => {
    const n = ids.length;
    const logits = model.forward(
      cache,
      Int32Array.from(ids),
      Int32Array.from({ length: n }, (_, i) => pos + i),
      new Uint8Array(n).fill(1),
      n,
    );
    pos += n;
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[v]! > logits[best]!) best = v;
    return best;
  };
  const ids = [step(prompt)];
  const t0 = performance.now();
  for (let i = 0; i < tokens; i++) ids.push(step([ids[ids.length - 1]!]));
  return { tokPerS: tokens / ((performance.now() - t0) / 1000), ids };
}
