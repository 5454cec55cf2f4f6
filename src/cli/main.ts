// The `tsgpt` command line: one file per command in this folder, loaded on demand.
import { readFileSync } from "node:fs";

interface Command {
  summary: string;
  /** Module (relative to this file) exporting `run(argv: string[]): Promise<number | void>`. */
  module: string;
}

export const COMMANDS: Record<string, Command> = {
  "train-tokenizer": { summary: "train a SentencePiece BPE or Unigram tokenizer from text", module: "./train_tokenizer.js" },
  tokenize: { summary: "encode text with a SentencePiece model (pieces and ids)", module: "./tokenize.js" },
  train: { summary: "train a GPT-2 or Llama model from text", module: "./train.js" },
  generate: { summary: "generate text from a checkpoint", module: "./generate.js" },
  chat: { summary: "chat with a checkpoint using a prompt template", module: "./chat.js" },
  inspect: { summary: "describe a checkpoint: architecture, parameters, tensors, tokenizer", module: "./inspect.js" },
  convert: { summary: "convert a checkpoint between formats (hf, gguf, llama2c)", module: "./convert.js" },
  finetune: { summary: "LoRA fine-tuning with PEFT-compatible adapters", module: "./finetune.js" },
  merge: { summary: "merge a LoRA adapter into its base model", module: "./merge.js" },
  quantize: { summary: "quantize a model to q8_0, q6_k, q5_0, q4_1, q4_0 or q4_k", module: "./quantize.js" },
  eval: { summary: "perplexity of a model on held-out text", module: "./eval.js" },
  serve: { summary: "OpenAI-compatible HTTP server and web playground", module: "./serve.js" },
  "export-page": { summary: "write the in-browser (WebGPU) generator page as static files", module: "./export_page.js" },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    "usage: tsgpt <command> [options]",
    "",
    "commands:",
    ...lines,
    "",
    "Run `tsgpt <command> --help` for the options of one command.",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return 0;
  }
  if (name === "--version" || name === "-v") {
    console.log(version());
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`tsgpt: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  let mod: { run: (argv: string[]) => Promise<number | void> };
  try {
    mod = (await import(cmd.module)) as typeof mod;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND" && String(err).includes(cmd.module.slice(2))) {
      console.error(`tsgpt: the '${name}' command is not available in this version`);
      return 2;
    }
    throw err;
  }
  return (await mod.run(rest)) ?? 0;
}
