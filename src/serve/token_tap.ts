// A tap on one generation: sees every token the moment it is chosen, together with the
// logits it was drawn from, and applies the frequency / presence penalties.
//
// The generation loop (src/generate/generate.ts) hands out text, not tokens, until it ends.
// The server needs more while it runs: log-probabilities per streamed chunk, and for the
// playground an explanation of every sampling step. Instead of copying the loop, the tap wraps
// the two objects the loop talks to, through their public interfaces:
//
//   model      forward() returns the logits of the next step; the tap keeps them (after
//              applying the penalties, which need the tokens generated so far);
//   tokenizer  the loop pushes every chosen token into its stream decoder (after the prompt's
//              ids), so the tap's decoder sees each token right after it is sampled.
//
// The one token never pushed is EOS; `finish("eos")` reports it from the last logits.
// One tap serves one single-row generation.
import type { GenerationTokenizer, InferenceModel } from "../generate/index.js";
import { applyPenalties, hasPenalties, TokenCounts, type Penalties } from "./penalties.js";

export interface TappedToken {
  token: number;
  /** The logits it was drawn from (penalties applied), valid during the callback only. */
  logits: Float32Array;
  /** Prompt and generated tokens before this one. */
  previous: readonly number[];
  /** True for the EOS token that ended the generation (it is not part of the text). */
  eos: boolean;
}

export class GenerationTap {
  readonly model: InferenceModel;
  readonly tokenizer: GenerationTokenizer;
  private lastLogits: Float32Array | null = null;
  private readonly history: number[];
  private readonly counts = new TokenCounts();
  private decoderMade = false;

  constructor(
    inner: { model: InferenceModel; tokenizer: GenerationTokenizer },
    private readonly prompt: readonly number[],
    private readonly penalties: Penalties,
    private readonly onToken: (t: TappedToken) => void,
  ) {
    this.history = [...prompt];
    const V = inner.model.dims.vocabSize;
    this.model = {
      dims: inner.model.dims,
      createCache: (batch, capacity) => inner.model.createCache(batch, capacity),
      forward: (cache, tokens, positions, valid, steps, all) => {
        if (cache.batch !== 1) throw new Error("GenerationTap: one row per generation");
        let logits = inner.model.forward(cache, tokens, positions, valid, steps, all);
        if (hasPenalties(this.penalties)) {
          logits = Float32Array.from(logits); // never edit the model's own buffer
          applyPenalties(logits.subarray(logits.length - V), this.counts, this.penalties);
        }
        this.lastLogits = logits.subarray(logits.length - V);
        return logits;
      },
    };
    this.tokenizer = {
      encodeAsIds: (text) => inner.tokenizer.encodeAsIds(text),
      decode: (ids) => inner.tokenizer.decode(ids),
      bosId: inner.tokenizer.bosId,
      eosId: inner.tokenizer.eosId,
      vocabSize: inner.tokenizer.vocabSize, // the loop masks ids past it
      createStreamDecoder: () => this.makeDecoder(inner.tokenizer.createStreamDecoder()),
    };
  }

  private makeDecoder(inner: { push(id: number): string; flush(): string }): { push(id: number): string; flush(): string } {
    if (this.decoderMade) throw new Error("GenerationTap: one row per generation");
    this.decoderMade = true;
    let pushed = 0;
    return {
      push: (id) => {
        // The loop first pushes the prompt (for context); what comes after was just sampled.
        if (pushed++ >= this.prompt.length) this.chosen(id, false);
        return inner.push(id);
      },
      flush: () => inner.flush(),
    };
  }

  private chosen(token: number, eos: boolean): void {
    if (!this.lastLogits) throw new Error("GenerationTap: a token was chosen before any logits");
    this.onToken({ token, logits: this.lastLogits, previous: this.history, eos });
    this.history.push(token);
    this.counts.add(token);
  }

  /** Call once the loop has ended: reports the EOS token that ended it, if one did. */
  finish(finishReason: string, eosToken: number): void {
    if (finishReason === "eos" && this.lastLogits) this.chosen(eosToken, true);
  }
}
