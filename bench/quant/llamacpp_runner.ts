// llama.cpp as a decode-speed reference for the quantization benches (decode.ts, table.ts):
// loads GGUF files through node-llama-cpp (its prebuilt CPU binaries) and times greedy decoding
// of a fixed token prompt, the same way the benches time tsgpt.
//
// node-llama-cpp is optional and not a dependency of the repository (not even for types): it is
// found through TSGPT_LLAMACPP_DIR (a folder whose node_modules holds it) or
// TSGPT_NODE_LLAMA_CPP (a module specifier).
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** The parts of node-llama-cpp used here. */
interface NodeLlamaCpp {
  getLlama(o: object): Promise<{ loadModel(o: { modelPath: string }): Promise<LlamaModel> }>;
}
interface LlamaModel {
  createContext(
    o: object,
  ): Promise<{ getSequence(): { evaluate(t: number[], o: object): AsyncGenerator<number> }; dispose(): Promise<void> }>;
  dispose(): Promise<void>;
}

/** Where node-llama-cpp is, from the environment, or null when neither variable is set. */
export function llamaCppSpecifier(): string | null {
  const dir = process.env.TSGPT_LLAMACPP_DIR;
  if (dir) return pathToFileURL(join(dir, "node_modules", "node-llama-cpp", "dist", "index.js")).href;
  return process.env.TSGPT_NODE_LLAMA_CPP || null;
}

/** One timed greedy decode: tokens per second and the tokens it produced. */
export interface DecodeRun {
  tokPerS: number;
  /** The first token (sampled right after the prompt) and the `tokens` timed ones after it. */
  ids: number[];
}

/** A GGUF file loaded in llama.cpp. */
export interface LlamaCppModel {
  /**
   * Feeds `prompt` (token ids, BOS included), then decodes `tokens` more greedily. The clock
   * starts at the first token after the prompt, so prompt processing is not timed. EOS does
   * not stop it: every run is equally long. Each call uses a fresh context.
   */
  decode(prompt: readonly number[], tokens: number): Promise<DecodeRun>;
}

export interface LlamaCppRunner {
  load(path: string): Promise<LlamaCppModel>;
  /** Frees every model loaded. */
  dispose(): Promise<void>;
}

export interface LlamaCppOptions {
  /** CPU threads for llama.cpp (the benches use the same number as tsgpt). */
  threads: number;
  /** Context size of each decode's context (≥ prompt + tokens + 1). */
  contextSize: number;
}

/** Loads node-llama-cpp from `specifier` (see llamaCppSpecifier), CPU only. */
export async function openLlamaCpp(specifier: string, options: LlamaCppOptions): Promise<LlamaCppRunner> {
  let mod: NodeLlamaCpp;
  try {
    mod = (await import(specifier)) as NodeLlamaCpp; // a variable specifier: no build-time dependency
  } catch (err) {
    throw new Error(`node-llama-cpp could not be loaded from ${specifier}: ${(err as Error).message}`);
  }
  const { threads, contextSize } = options;
  const llama = await mod.getLlama({ gpu: false, build: "never", maxThreads: threads, logLevel: "error" });
  const models: LlamaModel[] = [];
  return {
    async load(path) {
      const model = await llama.loadModel({ modelPath: path });
      models.push(model);
      return {
        async decode(prompt, tokens) {
          if (prompt.length + tokens + 1 > contextSize)
            throw new RangeError(`llama.cpp decode: ${prompt.length} + ${tokens} tokens do not fit a context of ${contextSize}`);
          const ctx = await model.createContext({ contextSize, threads });
          const ids: number[] = [];
          let t0 = 0,
            t1 = 0;
          try {
            // Greedy: temperature 0 is node-llama-cpp's default.
            for await (const id of ctx.getSequence().evaluate([...prompt], { yieldEogToken: true })) {
              t1 = performance.now();
              if (ids.length === 0) t0 = t1; // the first token comes right after the prompt
              ids.push(id);
              if (ids.length > tokens) break;
            }
          } finally {
            await ctx.dispose();
          }
          if (ids.length <= tokens) throw new Error(`llama.cpp decode of ${path} stopped after ${ids.length} tokens`);
          return { tokPerS: tokens / ((t1 - t0) / 1000), ids };
        },
      };
    },
    async dispose() {
      for (const m of models) await m.dispose();
    },
  };
}
