// `tsgpt eval`: loss and perplexity of a model on a text.
//   tsgpt eval --model runs/demo/last --data heldout.txt
//   tsgpt eval --model runs/demo/last --data heldout.txt --json
//
// The text is tokenized with the checkpoint's tokenizer, cut into windows of the model's
// context, and every token after a window's first is scored (train/evaluate.ts).
import { parseOptions, numberOption, UsageError, type OptionSpecs } from "./args.js";
import { loadCheckpoint } from "../formats/load.js";
import { contextLength, modelFromCheckpoint } from "../models/index.js";
import { SentencePieceProcessor } from "../tokenizer/index.js";
import { evaluatePerplexity, listDataFiles, tokenizeFiles } from "../train/index.js";

const SPECS: OptionSpecs = {
  model: { type: "string", arg: "DIR", help: "checkpoint: Hugging Face directory, llama2.c .bin or GGUF" },
  data: { type: "string", arg: "FILE", help: "UTF-8 text to score (a directory: all its files)" },
  tokenizer: { type: "string", arg: "M.model", help: "SentencePiece model (default: the checkpoint's)" },
  context: { type: "string", arg: "N", help: "window length (default: the model's context)" },
  "batch-size": { type: "string", arg: "N", help: "windows per forward pass (default: 8)" },
  "max-tokens": { type: "string", arg: "N", help: "score at most N tokens of the text (default: all)" },
  json: { type: "boolean", help: 'print one JSON object: {"loss", "perplexity", "tokens"}' },
};

const SUMMARY = "Loss and perplexity of a model on held-out text.";

export async function run(argv: string[]): Promise<number> {
  try {
    const parsed = parseOptions("eval", SUMMARY, argv, SPECS);
    if (!parsed) return 0;
    const v = parsed.values;
    if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
    if (typeof v.model !== "string") throw new UsageError("--model is required");
    if (typeof v.data !== "string") throw new UsageError("--data is required");
    const files = listDataFiles(v.data);
    const ckpt = await loadCheckpoint(v.model);
    const tokPath = typeof v.tokenizer === "string" ? v.tokenizer : ckpt.tokenizerPath;
    if (!tokPath || !tokPath.endsWith(".model")) {
      throw new Error(`${v.model}: no SentencePiece tokenizer (.model) beside the weights; pass one with --tokenizer`);
    }
    const sp = SentencePieceProcessor.load(tokPath);
    const model = modelFromCheckpoint(ckpt);
    const maxContext = contextLength(model.config);
    const context = numberOption(v, "context", { min: 2, max: maxContext, integer: true }) ?? maxContext;
    const ids = tokenizeFiles(files, sp);
    const start = performance.now();
    const r = evaluatePerplexity(model, ids, {
      contextLength: context,
      batchSize: numberOption(v, "batch-size", { min: 1, integer: true }) ?? 8,
      maxTokens: numberOption(v, "max-tokens", { min: 2, integer: true }),
    });
    const seconds = (performance.now() - start) / 1000;
    if (v.json) {
      process.stdout.write(JSON.stringify({ loss: r.loss, perplexity: r.perplexity, tokens: r.tokens, context }) + "\n");
    } else {
      process.stdout.write(`loss ${r.loss.toFixed(4)}  perplexity ${r.perplexity.toFixed(3)}  (${r.tokens} tokens, context ${context}, ${seconds.toFixed(1)} s)\n`);
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`tsgpt eval: ${err.message.replace(/^eval: /, "")}\nRun 'tsgpt eval --help' for the options.`);
      return 2;
    }
    console.error(`tsgpt eval: ${(err as Error).message}`);
    return 1;
  }
}
