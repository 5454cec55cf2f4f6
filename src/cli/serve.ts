// `tsgpt serve`: the OpenAI-compatible HTTP server and the web playground.
//   tsgpt serve --model stories260K.bin --template llama2
//   tsgpt serve --model ./my-model --adapter ./my-lora --host 0.0.0.0 --port 8000
//
// Then open http://127.0.0.1:8080/ for the playground, or point an OpenAI client at
// http://127.0.0.1:8080/v1. Ctrl-C (SIGINT) or SIGTERM shuts the server down cleanly: it stops
// accepting, queued requests get 503, open streams end with an error event, and it exits 0.
import { basename, resolve } from "node:path";
import { parseOptions, numberOption, UsageError, type OptionSpecs, runCommand } from "./args.js";
import { TEMPLATES } from "../generate/templates.js";
import { createServer } from "../serve/index.js";
import { MODEL_SPECS, describeDevice, loadGenerator, modelFlag, templateFromFlags } from "./model_flags.js";

const SPECS: OptionSpecs = {
  ...MODEL_SPECS,
  template: {
    type: "string",
    arg: "NAME",
    help: `chat template: ${Object.keys(TEMPLATES).join(" | ")} (default: from the checkpoint's chat_template; none: chat is refused)`,
  },
  "model-name": { type: "string", arg: "NAME", help: "model id in the API (default: the checkpoint's file or folder name)" },
  host: { type: "string", arg: "HOST", help: "address to listen on", default: "127.0.0.1" },
  port: { type: "string", arg: "PORT", help: "port to listen on (0: any free port)", default: "8080" },
  concurrency: { type: "string", arg: "N", help: "generations running at once", default: "1" },
  "max-queue": { type: "string", arg: "N", help: "requests waiting at most; more get HTTP 429", default: "16" },
  "max-tokens": { type: "string", arg: "N", help: "largest max_tokens a request may ask (default: the model's context)" },
  "allowed-hosts": {
    type: "string",
    arg: "NAMES",
    help: "comma-separated host names accepted in the Host header besides IP addresses and localhost ('*': any)",
  },
  cors: { type: "string", arg: "ORIGIN", help: "let browser pages from ORIGIN call the API (CORS); default: none" },
  "write-timeout": { type: "string", arg: "SECONDS", help: "drop a streaming client that has not read for this long", default: "30" },
  verbose: { type: "boolean", help: "log every request and server errors to stderr" },
};

const SUMMARY =
  "Serve a checkpoint over HTTP: OpenAI-compatible /v1/completions, /v1/chat/completions, /v1/models, /tokenize, and the playground at /.";

export function run(argv: string[]): Promise<number> {
  return runCommand("serve", () => runOrThrow(argv));
}

async function runOrThrow(argv: string[]): Promise<number> {
  const parsed = parseOptions("serve", SUMMARY, argv, SPECS);
  if (!parsed) return 0;
  const v = parsed.values;
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
  const model = modelFlag(v);
  const port = numberOption(v, "port", { min: 0, max: 65535, integer: true })!;
  const concurrency = numberOption(v, "concurrency", { min: 1, integer: true })!;
  const maxQueued = numberOption(v, "max-queue", { min: 0, integer: true })!;
  const maxTokens = numberOption(v, "max-tokens", { min: 1, integer: true });
  const writeTimeoutMs = numberOption(v, "write-timeout", { min: 0.001 })! * 1000;
  const allowedHosts =
    typeof v["allowed-hosts"] === "string"
      ? v["allowed-hosts"]
          .split(",")
          .map((h) => h.trim().toLowerCase())
          .filter((h) => h !== "")
      : [];
  const cors = typeof v.cors === "string" ? v.cors : undefined;
  const named = typeof v.template === "string" ? templateFromFlags(v) : undefined; // a bad name fails before loading

  const t0 = performance.now();
  const generator = await loadGenerator(v);
  const template = named ?? templateFromFlags(v, generator.tokenizer);
  const d = generator.model.dims;
  const modelName = typeof v["model-name"] === "string" ? v["model-name"] : basename(resolve(model)).replace(/\.(bin|gguf)$/, "");
  const log = v.verbose === true ? (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`) : undefined;
  const handle = createServer({
    generator,
    modelName,
    template,
    concurrency,
    maxQueued,
    log,
    allowedHosts,
    cors,
    limits: { writeTimeoutMs, ...(maxTokens !== undefined ? { maxTokens: Math.min(maxTokens, d.context) } : {}) },
  });
  const url = await handle.listen(port, v.host as string);
  process.stderr.write(
    `model ${modelName} (${d.arch}, ${d.layers} layers, vocab ${d.vocabSize}, context ${d.context}) loaded in ${(performance.now() - t0).toFixed(0)} ms; ` +
      `chat template: ${template?.name ?? "none (chat requests are refused; pass --template)"}; device: ${describeDevice(generator)}\n` +
      `playground: ${url}/   API: ${url}/v1   in-browser (your GPU): ${url}/gpu   (Ctrl-C stops)\n`,
  );
  await stopOnSignal(handle.close);
  process.stderr.write("stopped\n");
  return 0;
}

/**
 * Waits for SIGINT or SIGTERM, then shuts the server down cleanly (see ServeHandle.close): queued
 * requests get 503, open streams end with an error event, and the command exits 0. A second
 * signal during the shutdown stops at once (exit 130).
 */
function stopOnSignal(close: () => Promise<void>): Promise<void> {
  return new Promise<void>((done) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`${signal} again: stopping now\n`);
        process.exit(130);
      }
      stopping = true;
      process.stderr.write(`${signal}: shutting down (running generations are ended, waiting requests get 503)…\n`);
      void close().then(() => {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        done();
      });
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}
