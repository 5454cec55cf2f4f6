// `tsgpt tokenize`: encode and decode with a SentencePiece model (like spm_encode / spm_decode) or a tokenizer.json.
//   tsgpt tokenize --model tokenizer.model --text "Hello world"          → ▁Hello ▁world
//   tsgpt tokenize --model tokenizer.model --input notes.txt --ids       → one line of ids per line
//   tsgpt tokenize --model tokenizer.model --text "Hi" --json --bos      → {"text":..,"ids":..,"pieces":..}
//   tsgpt tokenize --model tokenizer.model --jsonl in.jsonl              → {"ids":..,"pieces":..} per line, streamed
//   tsgpt tokenize --model tokenizer.model --decode --ids 15043,3186     → Hello world
//   tsgpt tokenize --model tokenizer.model --info [--json]               → type, vocabulary, normalizer, specials
import { createReadStream, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseOptions, UsageError, type OptionSpecs, runCommand } from "./args.js";
import { loadTokenizer, type Tokenizer } from "../tokenizer/tokenizer.js";
import { ModelType, PieceType } from "../tokenizer/model_proto.js";
import { SentencePieceCore } from "../tokenizer/processor.js";

const SPECS: OptionSpecs = {
  model: { type: "string", arg: "PATH", help: "SentencePiece .model, tokenizer.json (or GPT-2 vocab.json), or a folder with one" },
  text: { type: "string", arg: "TEXT", help: "text to encode" },
  input: { type: "string", arg: "FILE", help: "encode each line of FILE ('-' for stdin)" },
  jsonl: {
    type: "string",
    arg: "FILE",
    help: 'encode {"text": ...} lines of FILE (\'-\' for stdin), streaming; writes {"ids", "pieces"} per line',
  },
  pieces: { type: "boolean", help: "print pieces (the default)" },
  ids: { type: "boolean", help: "print ids; with --decode: the ids to decode (--ids 1,2,3; else one sequence per stdin line)" },
  decode: { type: "boolean", help: "decode ids to text" },
  info: { type: "boolean", help: "print the model's type, vocabulary size, normalizer and special pieces" },
  bos: { type: "boolean", help: "add the BOS id" },
  eos: { type: "boolean", help: "add the EOS id" },
  json: { type: "boolean", help: "print JSON: one object per text ({text, ids, pieces}), or the --info object" },
};

/** With --decode, --ids takes the ids as its value. */
const DECODE_SPECS: OptionSpecs = {
  model: SPECS.model!,
  decode: SPECS.decode!,
  ids: { type: "string", arg: "IDS", help: "ids to decode, e.g. 1,2,3 (default: one sequence per line of stdin)" },
};

const SUMMARY =
  "Encode text with a SentencePiece model or a tokenizer.json (pieces or ids, one line per input line), decode ids, or describe the model.";

export function run(argv: string[]): Promise<number> {
  return runCommand("tokenize", () => runOrThrow(argv));
}

async function runOrThrow(argv: string[]): Promise<number> {
  const decoding = argv.includes("--decode");
  const parsed = parseOptions("tokenize", SUMMARY, argv, decoding ? DECODE_SPECS : SPECS);
  if (!parsed) return 0;
  const v = parsed.values;
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
  if (typeof v.model !== "string") throw new UsageError("--model is required");
  if (decoding) return decodeCommand(v.model, v.ids as string | undefined);
  if (v.info) {
    if (v.text !== undefined || v.input !== undefined || v.jsonl !== undefined)
      throw new UsageError("--info takes no --text, --input or --jsonl");
    return infoCommand(v.model, v.json === true);
  }
  const sources = [v.text, v.input, v.jsonl].filter((s) => s !== undefined).length;
  if (sources !== 1) throw new UsageError("give exactly one of --text, --input or --jsonl (or --decode, --info)");
  if (v.pieces && v.ids && !v.json) throw new UsageError("choose one of --pieces or --ids");

  const sp = loadTokenizer(v.model);
  const opts = { addBos: v.bos === true, addEos: v.eos === true };
  if (typeof v.jsonl === "string") return encodeJsonl(sp, v.jsonl, opts);
  const texts = typeof v.text === "string" ? [v.text] : readLines(v.input as string);
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

/**
 * Streams a JSONL file: each line `{"text": ...}` → one line `{"ids": [...], "pieces": [...]}`,
 * in order. Input is read line by line and output written in chunks that wait for stdout to
 * drain, so memory stays flat however large the file. A malformed line stops the run with an
 * error naming its number, after every line before it has been written.
 */
async function encodeJsonl(sp: Tokenizer, path: string, opts: { addBos: boolean; addEos: boolean }): Promise<number> {
  const name = path === "-" ? "<stdin>" : path;
  const stream = path === "-" ? process.stdin : createReadStream(path);
  const opened = new Promise<void>((resolve, reject) => {
    if (path === "-") resolve();
    stream.once("open", () => resolve());
    stream.once("error", (err: Error) => reject(new Error(`cannot read --jsonl '${path}': ${err.message}`)));
  });
  await opened;
  const out = new ChunkedWriter();
  let lineNo = 0;
  try {
    for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
      lineNo++;
      const text = jsonlText(line, name, lineNo);
      const ids = sp.encodeAsIds(text, opts);
      const pieces = sp.encodeAsPieces(text, opts);
      await out.write(`{"ids":${JSON.stringify(ids)},"pieces":${JSON.stringify(pieces)}}\n`);
    }
  } finally {
    await out.flush();
  }
  return 0;
}

/** The "text" of one JSONL line; errors name the file and the line number. */
function jsonlText(line: string, file: string, lineNo: number): string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new Error(`${file}: line ${lineNo}: not valid JSON (${(err as Error).message}); expected {"text": "..."}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(
      `${file}: line ${lineNo}: expected a JSON object {"text": "..."}, got ${Array.isArray(value) ? "an array" : value === null ? "null" : typeof value}`,
    );
  }
  const text = (value as Record<string, unknown>).text;
  if (typeof text !== "string") {
    throw new Error(
      `${file}: line ${lineNo}: "text" must be a string, got ${text === undefined ? 'no "text" field' : text === null ? "null" : typeof text}`,
    );
  }
  return text;
}

/** Collects output lines and writes them to stdout in 64 KiB chunks, waiting when stdout is full. */
class ChunkedWriter {
  private parts: string[] = [];
  private size = 0;

  async write(s: string): Promise<void> {
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= 1 << 16) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const chunk = this.parts.join("");
    this.parts = [];
    this.size = 0;
    if (!process.stdout.write(chunk)) await new Promise<void>((resolve) => process.stdout.once("drain", () => resolve()));
  }
}

/** --decode: ids from --ids (one sequence) or stdin (one sequence per line) → text lines. */
function decodeCommand(modelPath: string, idsArg: string | undefined): number {
  const sp = loadTokenizer(modelPath);
  if (idsArg !== undefined) {
    process.stdout.write(sp.decode(parseIds(idsArg, "--ids", sp.vocabSize)) + "\n");
    return 0;
  }
  const lines = readFileSync(0, "utf8").split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const out = lines.map((line, i) => sp.decode(parseIds(line, `<stdin>: line ${i + 1}`, sp.vocabSize)));
  if (out.length > 0) process.stdout.write(out.join("\n") + "\n");
  return 0;
}

/** "1,2,3" or "1 2 3" → ids, each checked against the vocabulary. */
function parseIds(text: string, where: string, vocabSize: number): number[] {
  const fields = text.split(/[\s,]+/).filter((f) => f !== "");
  return fields.map((f) => {
    const id = Number(f);
    if (!/^\d+$/.test(f) || id >= vocabSize)
      throw new Error(`${where}: '${f}' is not a piece id (expected an integer in [0, ${vocabSize}))`);
    return id;
  });
}

/** --info: what a user needs to know before using a model. */
function infoCommand(modelPath: string, json: boolean): number {
  const tok = loadTokenizer(modelPath);
  if (!(tok instanceof SentencePieceCore)) return hfInfo(tok, json);
  const sp = tok;
  const spec = sp.proto.normalizerSpec ?? {};
  const type = Object.entries(ModelType).find(([, n]) => n === sp.trainerSpec.modelType)?.[0] ?? String(sp.trainerSpec.modelType);
  const special = (id: number) => ({ id, piece: id >= 0 ? sp.idToPiece(id) : null });
  const byType = (t: number) => sp.proto.pieces.flatMap((p, id) => ((p.type ?? PieceType.NORMAL) === t ? [{ id, piece: p.piece }] : []));
  const info = {
    model: modelPath,
    type,
    vocabSize: sp.vocabSize,
    normalizer: {
      name: spec.name ?? "",
      addDummyPrefix: sp.normalizerSpec.addDummyPrefix,
      removeExtraWhitespaces: sp.normalizerSpec.removeExtraWhitespaces,
      escapeWhitespaces: sp.normalizerSpec.escapeWhitespaces,
    },
    byteFallback: sp.trainerSpec.byteFallback,
    splitDigits: sp.trainerSpec.splitDigits,
    special: { unk: special(sp.unkId), bos: special(sp.bosId), eos: special(sp.eosId), pad: special(sp.padId) },
    control: byType(PieceType.CONTROL),
    userDefined: byType(PieceType.USER_DEFINED),
    bytePieces: byType(PieceType.BYTE).length,
  };
  if (json) {
    process.stdout.write(JSON.stringify(info) + "\n");
    return 0;
  }
  const list = (ps: { id: number; piece: string }[]) => (ps.length === 0 ? "(none)" : ps.map((p) => `${p.piece}=${p.id}`).join(" "));
  const n = info.normalizer;
  const lines = [
    `model:          ${modelPath}`,
    `type:           ${type}`,
    `vocab size:     ${info.vocabSize}`,
    `normalizer:     ${n.name || "(unnamed)"} (add_dummy_prefix ${n.addDummyPrefix}, remove_extra_whitespaces ${n.removeExtraWhitespaces}, escape_whitespaces ${n.escapeWhitespaces})`,
    `byte fallback:  ${info.byteFallback}, split digits: ${info.splitDigits}`,
    `special ids:    ${(["unk", "bos", "eos", "pad"] as const).map((k) => `${k}=${info.special[k].id}${info.special[k].piece !== null ? ` ${info.special[k].piece}` : ""}`).join(", ")}`,
    `control:        ${list(info.control)}`,
    `user-defined:   ${list(info.userDefined)}`,
    `byte pieces:    ${info.bytePieces}`,
  ];
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}

/** --info for a tokenizer.json: its kind, vocabulary size and special ids. */
function hfInfo(tok: Tokenizer, json: boolean): number {
  const special = (id: number) => ({ id, piece: id >= 0 ? tok.idToPiece(id) : null });
  const info = {
    type: "tokenizer.json",
    vocabSize: tok.vocabSize,
    special: { unk: special(tok.unkId), bos: special(tok.bosId), eos: special(tok.eosId), pad: special(tok.padId) },
  };
  if (json) process.stdout.write(JSON.stringify(info) + "\n");
  else {
    const lines = [`type:       ${info.type}`, `vocab size: ${info.vocabSize}`];
    for (const [k, v] of Object.entries(info.special))
      lines.push(`${k}:${" ".repeat(11 - k.length)}${v.id}${v.piece === null ? "" : ` ${JSON.stringify(v.piece)}`}`);
    process.stdout.write(lines.join("\n") + "\n");
  }
  return 0;
}
