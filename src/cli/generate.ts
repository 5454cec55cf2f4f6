// `tsgpt generate`: continue a prompt with a checkpoint, streaming the text to the terminal.
//   tsgpt generate --model stories260K.bin --prompt "Once upon a time"
//   tsgpt generate --model stories260K.bin --prompt "Once upon a time" --temperature 0 --json
//
// Settings come, by priority: the flags given, the checkpoint's generation_config.json, then
// the defaults below (shown in --help); --verbose prints the effective ones.
import { explainer, formatExplained } from "./explain_view.js";
import { parseOptions, numberOption, UsageError, type OptionSpecs, runCommand } from "./args.js";
import type { GeneratorModel, TextGenerator } from "../generate/text_generator.js";
import { describeSettings, resolveGenerateOptions, type GenerateOptions } from "../generate/generate.js";
import { MODEL_SPECS, describeDevice, loadGenerator, modelFlag } from "./model_flags.js";

/** Sampling flags shared by `generate` and `chat`. */
export const SAMPLING_SPECS: OptionSpecs = {
  "max-new-tokens": { type: "string", arg: "N", help: "most tokens to generate (default: 256)" },
  temperature: { type: "string", arg: "T", help: "sampling temperature, 0 = greedy (default: 0.8)" },
  "top-k": { type: "string", arg: "K", help: "keep the K most likely tokens, 0 = off (default: 40)" },
  "top-p": { type: "string", arg: "P", help: "nucleus sampling threshold, 1 = off (default: 0.95)" },
  "min-p": { type: "string", arg: "P", help: "drop tokens below P × the best probability, 0 = off (default: 0)" },
  "repetition-penalty": { type: "string", arg: "R", help: "penalty for tokens already seen, 1 = off (default: 1.0)" },
  "frequency-penalty": {
    type: "string",
    arg: "F",
    help: "subtract F × (times a token was generated) from its logit, 0 = off (default: 0)",
  },
  "presence-penalty": { type: "string", arg: "F", help: "subtract F from the logit of every token generated so far, 0 = off (default: 0)" },
  seed: { type: "string", arg: "N", help: "sampler seed (default: random, printed with --verbose)" },
  stop: { type: "string", arg: "STR", help: "stop when the text contains STR (repeatable)", multiple: true },
};

/** The command line's defaults, under the checkpoint's and the flags'. */
export const CLI_DEFAULTS: GenerateOptions = {
  maxNewTokens: 256,
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  minP: 0,
  repetitionPenalty: 1,
  frequencyPenalty: 0,
  presencePenalty: 0,
};

/** GenerateOptions from the sampling flags that were given (absent flags stay undefined). */
export function samplingFromFlags(v: Record<string, unknown>): GenerateOptions {
  const o: GenerateOptions = {
    maxNewTokens: numberOption(v, "max-new-tokens", { min: 0, integer: true }),
    temperature: numberOption(v, "temperature", { min: 0 }),
    topK: numberOption(v, "top-k", { min: 0, integer: true }),
    topP: numberOption(v, "top-p", { min: 0, max: 1 }),
    minP: numberOption(v, "min-p", { min: 0, max: 1 }),
    repetitionPenalty: numberOption(v, "repetition-penalty", { min: 0 }),
    frequencyPenalty: numberOption(v, "frequency-penalty", {}),
    presencePenalty: numberOption(v, "presence-penalty", {}),
    seed: numberOption(v, "seed", { integer: true }),
  };
  if (o.topP === 0) throw new UsageError("--top-p: must be > 0 (1 turns it off)");
  if (o.repetitionPenalty === 0) throw new UsageError("--repetition-penalty: must be > 0 (1 turns it off)");
  const stop = v.stop as string[] | undefined;
  if (stop && stop.length > 0) {
    if (stop.some((s) => s === "")) throw new UsageError("--stop: the string must not be empty");
    o.stop = stop;
  }
  return o;
}

/** Flags over checkpoint defaults over CLI defaults. */
export function mergeOptions(gen: TextGenerator<GeneratorModel>, flags: GenerateOptions): GenerateOptions {
  return gen.options({ ...CLI_DEFAULTS, ...gen.defaults, ...dropUndefined(flags) });
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const SPECS: OptionSpecs = {
  ...MODEL_SPECS,
  prompt: { type: "string", arg: "TEXT", help: "text to continue" },
  ...SAMPLING_SPECS,
  "top-logprobs": { type: "string", arg: "N", help: "with --json: the N most likely alternatives per token (default: 0)" },
  "ignore-eos": { type: "boolean", help: "keep generating past the end-of-text token (until --max-new-tokens or a stop string)" },
  explain: {
    type: "boolean",
    help: 'for each token, print the top candidates: probability before/after temperature, used for the draw, and which filter removed each (stderr; with --json: as "explain")',
  },
  "explain-top": { type: "string", arg: "N", help: "candidates shown per token with --explain", default: "5" },
  json: { type: "boolean", help: 'print one JSON object at the end: {"text", "tokens", "logprobs", ...}' },
  verbose: { type: "boolean", help: "print the effective settings, the KV cache size and the speed (stderr)" },
};

const SUMMARY = "Generate text from a checkpoint; streams the prompt and its continuation to stdout.";

export function run(argv: string[]): Promise<number> {
  return runCommand("generate", () => runOrThrow(argv));
}

async function runOrThrow(argv: string[]): Promise<number> {
  const parsed = parseOptions("generate", SUMMARY, argv, SPECS);
  if (!parsed) return 0;
  const v = parsed.values;
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
  const model = modelFlag(v);
  if (typeof v.prompt !== "string") throw new UsageError("--prompt is required");
  const flags = samplingFromFlags(v);
  const topLogprobs = numberOption(v, "top-logprobs", { min: 0, integer: true });
  if (topLogprobs && v.json !== true)
    throw new UsageError("--top-logprobs is reported in the JSON output: add --json (or use --explain to see the candidates as text)");
  const explainTop = numberOption(v, "explain-top", { min: 1, max: 100, integer: true })!;
  const verbose = v.verbose === true;
  const log = (line: string) => {
    if (verbose) process.stderr.write(`${line}\n`);
  };

  const t0 = performance.now();
  const gen = await loadGenerator(v);
  const d = gen.model.dims;
  log(
    `model: ${model} (${d.arch}, ${d.layers} layers, hidden ${d.hidden}, vocab ${d.vocabSize}, context ${d.context}), loaded in ${(performance.now() - t0).toFixed(0)} ms`,
  );
  log(`device: ${describeDevice(gen)}`);

  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once("SIGINT", onSigint);
  try {
    const options = mergeOptions(gen, {
      ...flags,
      topLogprobs,
      signal: ac.signal,
      onInfo: log,
      ...(v["ignore-eos"] === true ? { eosTokenId: [] } : {}),
    });
    const resolved = resolveGenerateOptions(options);
    options.seed = resolved.seed; // show and use the same seed
    const explain = v.explain === true ? explainer(gen, v.prompt, options, explainTop) : undefined;
    if (explain) {
      const piece = (id: number) => JSON.stringify(gen.tokenizer.decode([id]));
      options.onToken = (e) => {
        explain.onToken(e);
        if (!v.json && e.row === 0) process.stderr.write(`\n${formatExplained(explain.steps.at(-1)!, piece)}\n`);
      };
    }
    log(`settings: ${describeSettings(resolved)}`);
    const start = performance.now();
    const s = gen.stream(v.prompt, options);
    if (!v.json) process.stdout.write(v.prompt);
    for await (const piece of s) if (!v.json) process.stdout.write(piece);
    const r = await s.result;
    const seconds = (performance.now() - start) / 1000;
    if (v.json) {
      process.stdout.write(
        JSON.stringify({
          text: r.text,
          tokens: r.tokens,
          logprobs: r.logprobs,
          finishReason: r.finishReason,
          promptTokens: r.promptTokens,
          seed: r.seed,
          ...(explain ? { explain: explain.steps } : {}),
        }) + "\n",
      );
    } else {
      process.stdout.write("\n");
    }
    log(
      `${r.tokens.length} tokens in ${seconds.toFixed(2)} s (${(r.tokens.length / Math.max(seconds, 1e-9)).toFixed(1)} tokens/s), finished by ${r.finishReason}`,
    );
    return 0;
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
}
