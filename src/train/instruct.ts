// Instruction data for supervised fine-tuning: JSONL files of examples, rendered with a prompt
// template, with the loss on the response tokens only.
//
// Each line of the file is one example, in one of two forms:
//
//   Alpaca   {"instruction": "...", "input": "...", "output": "..."}      (input optional)
//   chat     {"messages": [{"role": "system" | "user" | "assistant", "content": "..."}, ...]}
//
// An example becomes token ids as the model will see it at generation time: the prompt is the
// template's rendering of the conversation up to the reply (generate/templates.ts), the reply
// follows it, and EOS ends it. Labels copy the ids where the model must learn to write (the
// replies and their EOS) and are −100 elsewhere (the prompt), so the loss ignores the prompt, as
// Stanford Alpaca and TRL's completion-only collator do. The prompt and prompt+reply are
// tokenized separately and the reply starts where their ids first differ (a token that merges
// across the boundary counts as reply). In a multi-turn chat every assistant turn is learned.
//
// Batches (InstructDataset) are right-padded to the longest example, with an attention mask
// and −100 targets on pads; the order is a seeded shuffle per epoch, and the position
// ({ epoch, cursor }) is saved in training checkpoints for exact resume, as DocumentDataset's.
import { readFileSync } from "node:fs";
import { Generator, Tensor } from "../tensor/index.js";
import type { ChatMessage, PromptTemplate } from "../generate/templates.js";
import { IGNORE_INDEX, type Batch, type BatchSource, type DatasetState } from "./dataset.js";
import { positiveInt } from "../util/validate.js";

/** One training conversation; it ends with the assistant reply to learn. */
export interface InstructExample {
  messages: ChatMessage[];
  /** Where it came from ("file.jsonl:12"), for messages. */
  source: string;
}

/** The tokenizer calls instruction encoding needs (SentencePieceProcessor has them). */
export interface InstructTokenizer {
  encodeAsIds(text: string): number[];
  readonly bosId: number;
  readonly eosId: number;
}

/** Token ids of one example and its labels (−100 where no loss is taken). */
export interface EncodedExample {
  ids: number[];
  labels: number[];
}

// ---------------------------------------------------------------------------------------
// Reading JSONL
// ---------------------------------------------------------------------------------------

/** Reads a JSONL file of Alpaca or chat examples; an error names the file and the line. */
export function readInstructJsonl(path: string): InstructExample[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`${path}: cannot read (${(err as Error).message})`);
  }
  const examples: InstructExample[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const where = `${path}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new Error(`${where}: invalid JSON (${(err as Error).message})`);
    }
    examples.push({ messages: parseExample(value, where), source: where });
  });
  if (examples.length === 0) throw new Error(`${path}: no examples (expected one JSON object per line)`);
  return examples;
}

/** One JSONL record → messages, checked; `where` prefixes every error. */
export function parseExample(value: unknown, where: string): ChatMessage[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${where}: expected a JSON object with "instruction"/"output" (Alpaca) or "messages" (chat)`);
  }
  const v = value as Record<string, unknown>;
  if ("messages" in v) return parseChat(v.messages, where);
  if ("instruction" in v || "output" in v) {
    for (const field of ["instruction", "output"]) {
      if (typeof v[field] !== "string" || (v[field] as string).trim() === "")
        throw new Error(`${where}: "${field}" must be a non-empty string`);
    }
    if (v.input !== undefined && typeof v.input !== "string") throw new Error(`${where}: "input" must be a string when present`);
    const user: ChatMessage = { role: "user", content: v.instruction as string };
    if (typeof v.input === "string" && v.input !== "") user.input = v.input;
    return [user, { role: "assistant", content: v.output as string }];
  }
  throw new Error(
    `${where}: expected "instruction" and "output" (Alpaca) or "messages" (chat), got keys ${JSON.stringify(Object.keys(v))}`,
  );
}

function parseChat(messages: unknown, where: string): ChatMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) throw new Error(`${where}: "messages" must be a non-empty array`);
  const out = messages.map((m, i): ChatMessage => {
    const at = `${where}: messages[${i}]`;
    if (typeof m !== "object" || m === null) throw new Error(`${at}: expected {"role", "content"}`);
    const { role, content } = m as Record<string, unknown>;
    if (role !== "system" && role !== "user" && role !== "assistant")
      throw new Error(`${at}: role must be "system", "user" or "assistant", got ${JSON.stringify(role)}`);
    if (typeof content !== "string") throw new Error(`${at}: content must be a string`);
    if (role === "system" && i !== 0) throw new Error(`${at}: only the first message may be a system message`);
    return { role, content };
  });
  if (out[out.length - 1]!.role !== "assistant")
    throw new Error(`${where}: the last message must be the assistant's reply (what the model learns)`);
  return out;
}

// ---------------------------------------------------------------------------------------
// Encoding: prompt ids, reply ids, labels
// ---------------------------------------------------------------------------------------

/** The text of a reply as it follows the template's prompt (the spacing each format uses). */
export function replyText(template: PromptTemplate, content: string): string {
  switch (template.name) {
    case "alpaca":
      return content; // the prompt ends with "### Response:\n"
    case "llama2":
      return ` ${content.trim()}`; // "[/INST] answer </s>"
    default:
      return ` ${content}`; // vicuna: "ASSISTANT: answer</s>"
  }
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/** Ids of prompt + reply + EOS, and where the reply starts. `prompt` ends with a user message. */
function encodeTurn(
  tok: InstructTokenizer,
  template: PromptTemplate,
  prompt: readonly ChatMessage[],
  reply: string,
): { ids: number[]; replyStart: number } {
  const segments = template.render(prompt);
  const ids: number[] = [];
  segments.forEach((seg, i) => {
    if (seg.bos && tok.bosId >= 0) ids.push(tok.bosId);
    if (i < segments.length - 1) {
      ids.push(...tok.encodeAsIds(seg.text));
      if (seg.eos && tok.eosId >= 0) ids.push(tok.eosId);
    }
  });
  const last = segments[segments.length - 1]!.text;
  const promptIds = tok.encodeAsIds(last);
  const fullIds = tok.encodeAsIds(last + replyText(template, reply));
  const replyStart = ids.length + commonPrefix(promptIds, fullIds);
  ids.push(...fullIds);
  if (tok.eosId >= 0) ids.push(tok.eosId);
  return { ids, replyStart };
}

/**
 * Token ids and labels of one conversation: the ids of the whole conversation, labels equal to
 * the ids on every assistant reply (and the EOS after the last one), −100 elsewhere.
 */
export function encodeInstructExample(tok: InstructTokenizer, template: PromptTemplate, messages: readonly ChatMessage[]): EncodedExample {
  const last = messages.length - 1;
  if (last < 1 || messages[last]!.role !== "assistant")
    throw new Error("encodeInstructExample: the conversation must end with an assistant reply");
  const full = encodeTurn(tok, template, messages.slice(0, last), messages[last]!.content);
  const learn = new Uint8Array(full.ids.length);
  learn.fill(1, full.replyStart);
  // Earlier replies: learned where their own prompt+reply ids agree with the whole conversation's.
  messages.forEach((m, k) => {
    if (m.role !== "assistant" || k === last) return;
    const turn = encodeTurn(tok, template, messages.slice(0, k), m.content);
    learn.fill(1, turn.replyStart, Math.max(turn.replyStart, commonPrefix(turn.ids, full.ids)));
  });
  return { ids: full.ids, labels: full.ids.map((id, i) => (learn[i] ? id : IGNORE_INDEX)) };
}

export interface EncodeAllOptions {
  /** Longest sequence (the model's context); longer examples are cut at the end. */
  maxLength: number;
}

export interface EncodedSet {
  examples: EncodedExample[];
  /** Examples dropped because their prompt alone fills maxLength (nothing left to learn). */
  dropped: string[];
  /** Examples whose reply was cut to fit maxLength. */
  truncated: number;
}

/** Encodes every example, cutting to maxLength; an error names the example's file and line. */
export function encodeInstructExamples(
  tok: InstructTokenizer,
  template: PromptTemplate,
  examples: readonly InstructExample[],
  options: EncodeAllOptions,
): EncodedSet {
  const out: EncodedExample[] = [];
  const dropped: string[] = [];
  let truncated = 0;
  for (const ex of examples) {
    let enc: EncodedExample;
    try {
      enc = encodeInstructExample(tok, template, ex.messages);
    } catch (err) {
      throw new Error(`${ex.source}: ${(err as Error).message}`);
    }
    // Sequences of maxLength + 1 ids give maxLength inputs and targets.
    if (enc.ids.length > options.maxLength + 1) {
      enc = { ids: enc.ids.slice(0, options.maxLength + 1), labels: enc.labels.slice(0, options.maxLength + 1) };
      truncated++;
    }
    if (!enc.labels.slice(1).some((l) => l !== IGNORE_INDEX)) {
      dropped.push(ex.source);
      continue;
    }
    out.push(enc);
  }
  return { examples: out, dropped, truncated };
}

// ---------------------------------------------------------------------------------------
// Batches
// ---------------------------------------------------------------------------------------

/**
 * Right-pads examples into one batch: inputs are ids[0 … n−2], targets labels[1 … n−1] (the
 * next token wherever it is to be learned), −100 and mask 0 on pads.
 */
export function instructBatch(examples: readonly EncodedExample[], padId = 0): Batch {
  const B = examples.length;
  const T = Math.max(...examples.map((e) => e.ids.length - 1));
  const x = new Int32Array(B * T).fill(padId);
  const y = new Int32Array(B * T).fill(IGNORE_INDEX);
  const mask = new Int32Array(B * T);
  let tokens = 0;
  examples.forEach((e, b) => {
    for (let t = 0; t + 1 < e.ids.length; t++) {
      x[b * T + t] = e.ids[t]!;
      y[b * T + t] = e.labels[t + 1]!;
      mask[b * T + t] = 1;
      if (e.labels[t + 1] !== IGNORE_INDEX) tokens++;
    }
  });
  return { inputIds: new Tensor(x, [B, T]), targets: new Tensor(y, [B, T]), attentionMask: new Tensor(mask, [B, T]), tokens };
}

/** Fixed evaluation batches, in file order. */
export function instructBatches(examples: readonly EncodedExample[], batchSize: number, padId = 0): Batch[] {
  const out: Batch[] = [];
  for (let i = 0; i < examples.length; i += batchSize) out.push(instructBatch(examples.slice(i, i + batchSize), padId));
  return out;
}

export interface InstructDatasetOptions {
  batchSize: number;
  seed: number;
  padId?: number;
}

/** Training batches of encoded examples, shuffled per epoch with a seeded permutation. */
export class InstructDataset implements BatchSource {
  private epoch = 0;
  private cursor = 0;
  private order: Int32Array;
  private readonly padId: number;

  constructor(
    readonly examples: readonly EncodedExample[],
    readonly options: InstructDatasetOptions,
  ) {
    if (examples.length === 0) throw new RangeError("InstructDataset: no examples");
    positiveInt("batchSize", options.batchSize);
    this.padId = options.padId ?? 0;
    this.order = this.orderFor(0);
  }

  private orderFor(epoch: number): Int32Array {
    const order = Int32Array.from({ length: this.examples.length }, (_, i) => i);
    const rng = new Generator(this.options.seed + epoch);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.randint(0, i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return order;
  }

  nextBatch(): Batch {
    const picked: EncodedExample[] = [];
    while (picked.length < this.options.batchSize) {
      if (this.cursor >= this.order.length) {
        this.epoch++;
        this.cursor = 0;
        this.order = this.orderFor(this.epoch);
      }
      picked.push(this.examples[this.order[this.cursor++]!]!);
    }
    return instructBatch(picked, this.padId);
  }

  getState(): DatasetState {
    return { kind: "documents", epoch: this.epoch, cursor: this.cursor };
  }

  setState(state: DatasetState): void {
    if (state.kind !== "documents") throw new TypeError(`InstructDataset.setState: expected a "documents" state, got "${state.kind}"`);
    this.epoch = state.epoch;
    this.cursor = state.cursor;
    this.order = this.orderFor(this.epoch);
  }
}
