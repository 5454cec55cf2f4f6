// `tsgpt tokenize`: encode text with a SentencePiece model (like spm_encode) or a tokenizer.json.
//   tsgpt tokenize --model tokenizer.model --text "Hello world"          → ▁Hello ▁world
//   tsgpt tokenize --model tokenizer.model --input notes.txt --ids       → one line of ids per line
//   tsgpt tokenize --model tokenizer.model --text "Hi" --json --bos      → {"text":..,"ids":..,"pieces":..}
import { readFileSync } from "node:fs";
import { parseOptions, UsageError, type OptionSpecs, runCommand } from "./args.js";
import { loadTokenizer } from "../tokenizer/tokenizer.js";

const SPECS: OptionSpecs = {
  model: { type: "string", arg: "PATH", help: "SentencePiece .model, tokenizer.json (or GPT-2 vocab.json), or a folder with one" },
  text: { type: "string", arg: "TEXT", help: "text to encode" },
  input: { type: "string", arg: "FILE", help: "encode each line of FILE ('-' for stdin)" },
  pieces: { type: "boolean", help: "print pieces (the default)" },
  ids: { type: "boolean", help: "print ids" },
  bos: { type: "boolean", help: "add the BOS id" },
  eos: { type: "boolean", help: "add the EOS id" },
  json: { type: "boolean", help: "print one JSON object per text: {text, ids, pieces}" },
};

const SUMMARY = "Encode text with a SentencePiece model or a tokenizer.json; prints pieces (default) or ids, one line per input line.";

export function run(argv: string[]): Promise<number> {
  return runCommand("tokenize", () => runOrThrow(argv));
}

function runOrThrow(argv: string[]): number {
  const parsed = parseOptions("tokenize", SUMMARY, argv, SPECS);
  if (!parsed) return 0;
  const v = parsed.values;
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
  if (typeof v.model !== "string") throw new UsageError("--model is required");
  if ((v.text === undefined) === (v.input === undefined)) throw new UsageError("give exactly one of --text or --input");
  if (v.pieces && v.ids && !v.json) throw new UsageError("choose one of --pieces or --ids");

  const sp = loadTokenizer(v.model);
  const texts = typeof v.text === "string" ? [v.text] : readLines(v.input as string);
  const opts = { addBos: v.bos === true, addEos: v.eos === true };
  const out: string[] = [];
  for (const text of texts) {
    if (v.json) {
      const ids = sp.encodeAsIds(text, opts);
      const pieces = sp.encodeAsPieces(text, opts);
      out.push(JSON.stringify({ text, ids, pieces }));
    } else if (v.ids) {
      out.push(sp.encodeAsIds(text, opts).join(" "));
    } else {
      out.push(sp.encodeAsPieces(text, opts).join(" "));
    }
  }
  if (out.length > 0) process.stdout.write(out.join("\n") + "\n");
  return 0;
}

function readLines(path: string): string[] {
  let content: string;
  try {
    content = readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (err) {
    throw new Error(`cannot read --input '${path}': ${(err as Error).message}`);
  }
  const lines = content.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}
