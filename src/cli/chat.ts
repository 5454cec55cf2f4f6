// `tsgpt chat`: talk with a checkpoint through a prompt template, keeping the history.
//   tsgpt chat --model ./my-chat-model --template llama2 --system "You are concise."
//
// Ctrl-C while the model writes stops that reply (what it wrote so far stays in the history);
// Ctrl-C at the prompt asks once more, and a second Ctrl-C (or Ctrl-D, or /exit) leaves.
// /reset forgets the conversation.
import { createInterface, type Interface } from "node:readline";
import { explainer, formatExplained } from "./explain_view.js";
import { numberOption, parseOptions, UsageError, type OptionSpecs, runCommand } from "./args.js";
import { describeSettings, resolveGenerateOptions } from "../generate/generate.js";
import { encodeChat, TEMPLATES, type ChatMessage } from "../generate/templates.js";
import { SAMPLING_SPECS, mergeOptions, samplingFromFlags } from "./generate.js";
import { MODEL_SPECS, loadGenerator, modelFlag, templateFromFlags } from "./model_flags.js";

const SPECS: OptionSpecs = {
  ...MODEL_SPECS,
  template: {
    type: "string",
    arg: "NAME",
    help: `prompt template: ${Object.keys(TEMPLATES).join(" | ")} (default: from the checkpoint's chat_template)`,
  },
  system: { type: "string", arg: "TEXT", help: "system prompt" },
  ...SAMPLING_SPECS,
  explain: { type: "boolean", help: "for each token of a reply, print the top candidates and which filter removed each (stderr)" },
  "explain-top": { type: "string", arg: "N", help: "candidates shown per token with --explain", default: "5" },
  verbose: { type: "boolean", help: "print the effective settings and the KV cache size (stderr)" },
};

const SUMMARY = "Interactive chat with a checkpoint through a prompt template (Llama-2, Alpaca, Vicuna).";

export function run(argv: string[]): Promise<number> {
  return runCommand("chat", () => runOrThrow(argv));
}

async function runOrThrow(argv: string[]): Promise<number> {
  const parsed = parseOptions("chat", SUMMARY, argv, SPECS);
  if (!parsed) return 0;
  const v = parsed.values;
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
  modelFlag(v);
  const flags = samplingFromFlags(v);
  const named = typeof v.template === "string" ? templateFromFlags(v) : undefined; // a bad name fails before loading
  const explainTop = numberOption(v, "explain-top", { min: 1, max: 100, integer: true })!;
  const verbose = v.verbose === true;
  const log = (line: string) => {
    if (verbose) process.stderr.write(`${line}\n`);
  };

  const gen = await loadGenerator(v);
  const template = named ?? templateFromFlags(v, gen.tokenizer);
  if (!template)
    throw new UsageError(
      `--template is required: the checkpoint declares no chat_template (built-in: ${Object.keys(TEMPLATES).join(", ")})`,
    );
  const base = mergeOptions(gen, { ...flags, stop: [...template.stop, ...(flags.stop ?? [])] });
  const resolved = resolveGenerateOptions(base);
  base.seed = resolved.seed;
  log(`template: ${template.name}; settings: ${describeSettings(resolved)}`);
  const tokenizer = gen.tokenizer;

  const history: ChatMessage[] = typeof v.system === "string" ? [{ role: "system", content: v.system }] : [];
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY === true });
  const lines = new LineQueue(rl);
  let reply: AbortController | null = null; // set while the model is writing
  let exitArmed = false;
  const onInterrupt = () => {
    if (reply) {
      reply.abort();
      return;
    }
    if (exitArmed) {
      rl.close();
      return;
    }
    exitArmed = true;
    process.stdout.write("\n(press Ctrl-C again to exit)\n> ");
  };
  rl.on("SIGINT", onInterrupt);
  process.on("SIGINT", onInterrupt);
  process.stdout.write(`chat (${template.name} template); Ctrl-C stops a reply, /reset clears the history, /exit leaves\n`);

  try {
    for (;;) {
      rl.setPrompt("> ");
      rl.prompt();
      const line = await lines.next();
      if (line === null) break; // input closed (Ctrl-D, end of piped input)
      exitArmed = false;
      const text = line.trim();
      if (text === "") continue;
      if (text === "/exit" || text === "/quit") break;
      if (text === "/reset") {
        history.splice(history[0]?.role === "system" ? 1 : 0);
        process.stdout.write("(history cleared)\n");
        continue;
      }
      history.push({ role: "user", content: text });
      const ids = fitToContext(
        history,
        (msgs) => encodeChat(tokenizer, template!, msgs),
        gen.model.dims.context - (base.maxNewTokens ?? 256),
      );
      reply = new AbortController();
      let answer = "";
      try {
        const explain = v.explain === true ? explainer(gen, ids, base, explainTop) : undefined;
        const onToken = explain
          ? (e: Parameters<typeof explain.onToken>[0]) => {
              explain.onToken(e);
              process.stderr.write(`\n${formatExplained(explain.steps.at(-1)!, (id) => JSON.stringify(tokenizer.decode([id])))}\n`);
            }
          : undefined;
        const s = gen.stream(ids, { ...base, signal: reply.signal, onInfo: log, ...(onToken ? { onToken } : {}) });
        for await (const piece of s) {
          const shown = answer === "" ? piece.trimStart() : piece; // templates leave a space before the reply
          answer += shown;
          process.stdout.write(shown);
        }
      } catch (err) {
        if ((err as Error).name !== "AbortError") throw err;
        process.stdout.write(" [stopped]");
      } finally {
        reply = null;
      }
      process.stdout.write("\n");
      history.push({ role: "assistant", content: answer.trim() });
    }
  } finally {
    process.removeListener("SIGINT", onInterrupt);
    rl.close();
  }
  return 0;
}

/**
 * Lines typed (or piped) in, one at a time. Lines that arrive while the model is writing wait
 * in the queue, so piped input is not lost.
 */
class LineQueue {
  private readonly queued: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private closed = false;

  constructor(rl: Interface) {
    rl.on("line", (line) => {
      if (this.waiting) {
        this.waiting(line);
        this.waiting = null;
      } else this.queued.push(line);
    });
    rl.on("close", () => {
      this.closed = true;
      if (this.waiting) {
        this.waiting(null);
        this.waiting = null;
      }
    });
  }

  /** The next line, or null once the input is closed and nothing is left. */
  next(): Promise<string | null> {
    const line = this.queued.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }
}

/**
 * Encodes the conversation, dropping the oldest exchanges (never the system prompt or the
 * last message) until it fits in `budget` tokens.
 */
function fitToContext(history: ChatMessage[], encode: (m: ChatMessage[]) => number[], budget: number): number[] {
  let ids = encode(history);
  while (ids.length > budget) {
    const first = history[0]?.role === "system" ? 1 : 0;
    if (history.length - first <= 1) {
      throw new Error(
        `the message is ${ids.length} tokens long, more than the ${budget} the context leaves for it (lower --max-new-tokens?)`,
      );
    }
    history.splice(first, 2); // one user message and its answer
    ids = encode(history);
  }
  return ids;
}
