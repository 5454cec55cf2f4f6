// What every route handler needs: the loaded model, its tokenizer, the limits and the queue.
import type { GeneratorModel, PromptTemplate, TextGenerator } from "../generate/index.js";
import type { BatchTokenizer } from "../tokenizer/index.js";
import type { GenerationQueue } from "./queue.js";
import type { PieceSource } from "./token_text.js";

/** Limits that keep one client from exhausting the server. */
export interface Limits {
  /** Largest request body in bytes (default 1 MiB). */
  bodyBytes: number;
  /**
   * How long a streaming response may wait for its client to read (ms, default 30 s): a client
   * that stops reading is dropped, so it cannot hold a generation slot forever.
   */
  writeTimeoutMs: number;
  /** Largest max_tokens a request may ask (default: the model's context). */
  maxTokens: number;
  /** Most completions per request: prompts × n (default 8). */
  maxChoices: number;
  /** Most stop sequences (default 4, as OpenAI). */
  maxStop: number;
  /** Most alternatives in logprobs / top_logprobs (default 20). */
  maxLogprobs: number;
  /** Most candidates explained per playground step (default 50). */
  maxExplain: number;
  /** Most texts in one /tokenize batch (default 256). */
  maxBatch: number;
}

/** The tokenizer as the server uses it: encode, decode, name pieces, batch. */
export type ServerTokenizer = PieceSource &
  BatchTokenizer & {
    encodeAsIds(text: string, options?: { addBos?: boolean; addEos?: boolean }): number[];
    decode(ids: readonly number[]): string;
    readonly bosId: number;
    readonly eosId: number;
    readonly vocabSize?: number;
  };

export interface ServerContext {
  generator: TextGenerator<GeneratorModel>;
  tokenizer: ServerTokenizer;
  modelName: string;
  /** Chat prompt template; chat requests are refused without one. */
  template?: PromptTemplate;
  limits: Limits;
  queue: GenerationQueue;
  /** Unix time (s) the server started, reported as the model's `created`. */
  created: number;
  log: (line: string) => void;
}
