// `tsgpt eval`: loss and perplexity of a model on a text.
//   tsgpt eval --model runs/demo/last --data heldout.txt
//   tsgpt eval --model runs/demo/last --data heldout.txt --json
//   tsgpt eval --model stories260K-q8_0.gguf --data heldout.txt          (a quantized GGUF)
//   tsgpt eval --model stories260K.bin --data heldout.txt --quantize q8_0,q6_k,q5_0,q4_1,q4_0,q4_k
//
// The text is tokenized with the checkpoint's tokenizer (--tokenizer, a .model beside the
// weights, or the vocabulary embedded in a GGUF), cut into windows of the model's context, and
// every token after a window's first is scored. Float checkpoints go through the training model
// (train/evaluate.ts, batched); a quantized checkpoint and --quantize go through the inference
// decoder with the weights kept quantized (quant/evaluate.ts), as `tsgpt generate` runs them;
// --quantize applies `tsgpt quantize`'s rules (the output head gets Q6_K or Q8_0, see
// quant/checkpoint.ts) unless --output-type says otherwise.
import { parseOptions, numberOption, UsageError, type OptionSpecs, runCommand } from "./args.js";
import { applyDevice, deviceFlag, deviceOption } from "./device_option.js";
import { loadCheckpoint } from "../formats/load.js";
import { tokenizerForCheckpoint } from "../formats/gguf_tokenizer.js";
import type { Checkpoint } from "../formats/types.js";
import { contextLength, modelFromCheckpoint } from "../models/index.js";
import { loadTokenizer, type Tokenizer } from "../tokenizer/index.js";
import { evaluatePerplexity, listDataFiles, tokenizeFiles } from "../train/index.js";
import { DecoderModel } from "../generate/decoder.js";
import { evaluateQuantization, perplexity, tokenWindows, type QuantizationEvalRow } from "../generate/perplexity.js";
import { isQuantDType, type QuantDType } from "../quant/types.js";
import type { PlannedDType } from "../quant/checkpoint.js";

const SPECS: OptionSpecs = {
  model: { type: "string", arg: "PATH", help: "checkpoint: Hugging Face directory, llama2.c .bin or GGUF (quantized too)" },
  data: { type: "string", arg: "FILE", help: "UTF-8 text to score (a directory: all its files)" },
  tokenizer: {
    type: "string",
    arg: "PATH",
    help: "SentencePiece .model or tokenizer.json (default: the checkpoint's, or the GGUF's own vocabulary)",
  },
  context: { type: "string", arg: "N", help: "window length (default: the model's context)" },
  "batch-size": { type: "string", arg: "N", help: "windows per forward pass, float checkpoints (default: 8)" },
  "max-tokens": { type: "string", arg: "N", help: "score at most N tokens of the text (default: all)" },
  quantize: { type: "string", arg: "LIST", help: "also quantize to these dtypes (q8_0,q6_k,q5_0,q4_1,q4_0,q4_k,q8_row) and print a table" },
  "output-type": {
    type: "string",
    arg: "TYPE",
    help: "with --quantize: output head dtype, as in tsgpt quantize (auto, same, q8_0, q6_k, q5_0, q4_1, q4_0, q4_k, f16, f32)",
    default: "auto",
  },
  json: { type: "boolean", help: 'print JSON: {"loss", "perplexity", "tokens"} (with --quantize: {"rows": [...]})' },
  device: deviceOption,
};

const SUMMARY = "Loss and perplexity of a model on held-out text (and of its quantized versions).";

export function run(argv: string[]): Promise<number> {
  return runCommand("eval", async () => {
    const parsed = parseOptions("eval", SUMMARY, argv, SPECS);
    if (!parsed) return 0;
    const v = parsed.values;
    if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
    if (typeof v.model !== "string") throw new UsageError("--model is required");
    if (typeof v.data !== "string") throw new UsageError("--data is required");
    await applyDevice(deviceFlag(v.device));
    const dtypes = typeof v.quantize === "string" ? parseDTypes(v.quantize) : [];
    const output = parseOutputType(String(v["output-type"]));
    const files = listDataFiles(v.data);
    const ckpt = await loadCheckpoint(v.model);
    const sp = tokenizerFor(ckpt, v.model, typeof v.tokenizer === "string" ? v.tokenizer : undefined);
    const ids = tokenizeFiles(files, sp);
    const maxTokens = numberOption(v, "max-tokens", { min: 2, integer: true });
    const quantized = [...ckpt.tensors.values()].some((t) => isQuantDType(t.dtype));
    const start = performance.now();
    if (dtypes.length > 0 || quantized) {
      const model = DecoderModel.fromCheckpoint(ckpt);
      const context = numberOption(v, "context", { min: 2, max: model.dims.context, integer: true }) ?? model.dims.context;
      const windows = tokenWindows(ids, context, maxTokens);
      if (windows.length === 0) throw new Error(`${v.data}: the text has fewer than 2 tokens; at least 2 are needed to measure a loss`);
      const tokens = windows.reduce((s, w) => s + w.length - 1, 0);
      if (dtypes.length > 0) {
        printTable(
          evaluateQuantization(ckpt, windows, dtypes, { output }),
          tokens,
          context,
          v.json === true,
          (performance.now() - start) / 1000,
        );
        return 0;
      }
      const r = perplexity(model, windows);
      printResult(r.nll, r.perplexity, r.tokens, context, v.json === true, (performance.now() - start) / 1000);
      return 0;
    }
    const model = modelFromCheckpoint(ckpt);
    const maxContext = contextLength(model.config);
    const context = numberOption(v, "context", { min: 2, max: maxContext, integer: true }) ?? maxContext;
    const r = evaluatePerplexity(model, ids, {
      contextLength: context,
      batchSize: numberOption(v, "batch-size", { min: 1, integer: true }) ?? 8,
      maxTokens,
    });
    printResult(r.loss, r.perplexity, r.tokens, context, v.json === true, (performance.now() - start) / 1000);
    return 0;
  });
}

/** "q8_0,q4_k" → ["Q8_0", "Q4_K"], with a usage error naming a bad entry. */
function parseDTypes(list: string): QuantDType[] {
  const out: QuantDType[] = [];
  for (const raw of list
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const dt = raw.toUpperCase();
    if (!isQuantDType(dt))
      throw new UsageError(`--quantize: unknown dtype '${raw}' (expected q8_0, q6_k, q5_0, q4_1, q4_0, q4_k or q8_row)`);
    if (!out.includes(dt)) out.push(dt);
  }
  if (out.length === 0) throw new UsageError("--quantize needs at least one dtype, e.g. q8_0,q4_0,q4_k");
  return out;
}

/** --output-type: auto, same, a quantized dtype, f16 or f32. */
function parseOutputType(raw: string): "auto" | "same" | PlannedDType {
  const s = raw.toLowerCase();
  if (s === "auto" || s === "same") return s;
  const dt = s.toUpperCase();
  if (dt === "F16" || dt === "F32" || isQuantDType(dt)) return dt;
  throw new UsageError(`--output-type must be auto, same, q8_0, q6_k, q5_0, q4_1, q4_0, q4_k, q8_row, f16 or f32, got '${raw}'`);
}

/** --tokenizer, else the .model / tokenizer.json beside the weights, else the vocabulary embedded in a GGUF. */
function tokenizerFor(ckpt: Checkpoint, modelPath: string, explicit: string | undefined): Tokenizer {
  if (explicit) return loadTokenizer(explicit);
  const path = ckpt.tokenizerPath;
  if (path && !path.endsWith(".bin")) return loadTokenizer(path);
  if (ckpt.vocab) return tokenizerForCheckpoint(ckpt);
  throw new Error(`${modelPath}: no tokenizer (tokenizer.model / tokenizer.json) beside the weights; pass one with --tokenizer`);
}

function printResult(loss: number, ppl: number, tokens: number, context: number, json: boolean, seconds: number): void {
  if (json) {
    process.stdout.write(JSON.stringify({ loss, perplexity: ppl, tokens, context }) + "\n");
  } else {
    process.stdout.write(
      `loss ${loss.toFixed(4)}  perplexity ${ppl.toFixed(3)}  (${tokens} tokens, context ${context}, ${seconds.toFixed(1)} s)\n`,
    );
  }
}

function printTable(rows: QuantizationEvalRow[], tokens: number, context: number, json: boolean, seconds: number): void {
  const base = rows[0]!;
  if (json) {
    process.stdout.write(
      JSON.stringify({
        tokens,
        context,
        rows: rows.map((r) => ({ dtype: r.dtype, loss: r.nll, perplexity: r.perplexity, weightBytes: r.weightBytes })),
      }) + "\n",
    );
    return;
  }
  const lines = [
    `perplexity on ${tokens} tokens (context ${context}, ${seconds.toFixed(1)} s)`,
    "| dtype | loss | perplexity | vs F32 | weights | size vs F32 |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((r) => {
      const delta =
        r === base ? "" : `${r.perplexity >= base.perplexity ? "+" : ""}${((r.perplexity / base.perplexity - 1) * 100).toFixed(2)} %`;
      return `| ${r.dtype} | ${r.nll.toFixed(4)} | ${r.perplexity.toFixed(3)} | ${delta} | ${(r.weightBytes / 2 ** 20).toFixed(2)} MiB | ${(r.weightBytes / base.weightBytes).toFixed(3)} |`;
    }),
  ];
  process.stdout.write(lines.join("\n") + "\n");
}
