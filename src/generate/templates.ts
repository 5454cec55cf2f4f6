// Prompt templates: how a conversation becomes the text a chat-tuned model was trained on.
//
// A template renders messages into segments of text. Some formats put the BOS / EOS
// *tokens* (not the strings "<s>" / "</s>") between turns, so a segment says whether a BOS
// token goes before it and an EOS token after it; `encodeChat` turns segments into ids.
// The rendered prompt ends where the model should start writing the assistant's reply.
//
//   llama2  <s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s><s>[INST] {user} [/INST]
//   alpaca  {preamble}\n\n### Instruction:\n{user}\n\n[### Input:\n{input}\n\n]### Response:\n{assistant}
//   vicuna  {system} USER: {user} ASSISTANT: {assistant}</s>USER: {user} ASSISTANT:
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

export type Role = "system" | "user" | "assistant";

export interface ChatMessage {
  role: Role;
  content: string;
  /** Alpaca only: the "### Input:" context that goes with an instruction. */
  input?: string;
}

/** A piece of rendered prompt: its text, and whether BOS / EOS tokens surround it. */
export interface PromptSegment {
  text: string;
  bos: boolean;
  eos: boolean;
}

export type TemplateName = "llama2" | "alpaca" | "vicuna";

export interface PromptTemplate {
  name: TemplateName;
  /** Renders the conversation so far, ending where the assistant's next reply begins. */
  render(messages: readonly ChatMessage[]): PromptSegment[];
  /** Strings that end an assistant reply besides EOS (e.g. the next "USER:"). */
  stop: string[];
}

/** Splits off a leading system message. */
function splitSystem(messages: readonly ChatMessage[]): { system: string | undefined; turns: readonly ChatMessage[] } {
  if (messages[0]?.role === "system") return { system: messages[0].content, turns: messages.slice(1) };
  return { system: undefined, turns: messages };
}

/** Pairs turns as (user, assistant?) and checks they alternate, starting with the user. */
function pairTurns(turns: readonly ChatMessage[], template: string): { user: ChatMessage; assistant?: ChatMessage }[] {
  const pairs: { user: ChatMessage; assistant?: ChatMessage }[] = [];
  turns.forEach((m, i) => {
    const expected: Role = i % 2 === 0 ? "user" : "assistant";
    if (m.role !== expected) {
      throw new Error(`${template} template: message ${i} should be from the ${expected}, got '${m.role}' (only the first message may be a system message)`);
    }
    if (expected === "user") pairs.push({ user: m });
    else pairs[pairs.length - 1]!.assistant = m;
  });
  if (pairs.length === 0 || pairs[pairs.length - 1]!.assistant) {
    throw new Error(`${template} template: the conversation must end with a user message`);
  }
  return pairs;
}

/** Llama-2-chat: each exchange is `<s>[INST] … [/INST] answer </s>`; the system prompt sits in the first [INST]. */
export const llama2Template: PromptTemplate = {
  name: "llama2",
  stop: [],
  render(messages) {
    const { system, turns } = splitSystem(messages);
    return pairTurns(turns, "llama2").map(({ user, assistant }, i) => {
      const sys = i === 0 && system !== undefined ? `<<SYS>>\n${system}\n<</SYS>>\n\n` : "";
      const prompt = `[INST] ${sys}${user.content.trim()} [/INST]`;
      return assistant
        ? { text: `${prompt} ${assistant.content.trim()} `, bos: true, eos: true }
        : { text: prompt, bos: true, eos: false };
    });
  },
};

const ALPACA_PREAMBLE = "Below is an instruction that describes a task. Write a response that appropriately completes the request.";
const ALPACA_PREAMBLE_INPUT =
  "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.";

/** Alpaca: one instruction (with optional input) per prompt; earlier exchanges are appended in the same format. */
export const alpacaTemplate: PromptTemplate = {
  name: "alpaca",
  stop: ["### Instruction:"],
  render(messages) {
    const { system, turns } = splitSystem(messages);
    const pairs = pairTurns(turns, "alpaca");
    const hasInput = pairs.some((p) => p.user.input !== undefined && p.user.input !== "");
    let text = `${system ?? (hasInput ? ALPACA_PREAMBLE_INPUT : ALPACA_PREAMBLE)}\n\n`;
    for (const { user, assistant } of pairs) {
      text += `### Instruction:\n${user.content}\n\n`;
      if (user.input) text += `### Input:\n${user.input}\n\n`;
      text += "### Response:\n";
      if (assistant) text += `${assistant.content}\n\n`;
    }
    return [{ text, bos: true, eos: false }];
  },
};

const VICUNA_SYSTEM =
  "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.";

/** Vicuna v1.1: `{system} USER: … ASSISTANT: …</s>USER: … ASSISTANT:`. */
export const vicunaTemplate: PromptTemplate = {
  name: "vicuna",
  stop: ["USER:"],
  render(messages) {
    const { system, turns } = splitSystem(messages);
    const segments: PromptSegment[] = [];
    let text = `${system ?? VICUNA_SYSTEM} `;
    let first = true;
    for (const { user, assistant } of pairTurns(turns, "vicuna")) {
      text += `USER: ${user.content} ASSISTANT:`;
      if (assistant) {
        segments.push({ text: `${text} ${assistant.content}`, bos: first, eos: true });
        text = "";
        first = false;
      }
    }
    segments.push({ text, bos: first, eos: false });
    return segments;
  },
};

export const TEMPLATES: Record<TemplateName, PromptTemplate> = {
  llama2: llama2Template,
  alpaca: alpacaTemplate,
  vicuna: vicunaTemplate,
};

/** The template with this name; the error lists the known names. */
export function getTemplate(name: string): PromptTemplate {
  const t = (TEMPLATES as Record<string, PromptTemplate | undefined>)[name];
  if (!t) throw new Error(`unknown prompt template '${name}' (known: ${Object.keys(TEMPLATES).join(", ")})`);
  return t;
}

/**
 * Recognises one of our templates in a Hugging Face `chat_template` (a Jinja string we do not
 * execute): by the markers each format uses. Returns undefined when none matches.
 */
export function detectTemplate(chatTemplate: string): PromptTemplate | undefined {
  if (chatTemplate.includes("[INST]")) return llama2Template;
  if (chatTemplate.includes("### Instruction")) return alpacaTemplate;
  if (chatTemplate.includes("USER:") && chatTemplate.includes("ASSISTANT:")) return vicunaTemplate;
  return undefined;
}

/**
 * The template a checkpoint declares: the `chat_template` of the tokenizer_config.json beside
 * its weights, if it names a format we know. `modelPath` is the checkpoint directory or file.
 */
export function templateForCheckpoint(modelPath: string): PromptTemplate | undefined {
  const dir = existsSync(modelPath) && statSync(modelPath).isDirectory() ? modelPath : dirname(modelPath);
  const file = join(dir, "tokenizer_config.json");
  if (!existsSync(file)) return undefined;
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const ct = (config as { chat_template?: unknown }).chat_template;
  if (typeof ct === "string") return detectTemplate(ct);
  // Newer files may hold a list of named templates: [{ name, template }].
  if (Array.isArray(ct)) {
    for (const entry of ct) {
      const t = (entry as { template?: unknown }).template;
      if (typeof t === "string") {
        const found = detectTemplate(t);
        if (found) return found;
      }
    }
  }
  return undefined;
}

/** The minimum a tokenizer must offer to encode a chat. */
export interface ChatTokenizer {
  encodeAsIds(text: string): number[];
  readonly bosId: number;
  readonly eosId: number;
}

/** Token ids of a rendered conversation: each segment's text, with BOS / EOS tokens where it says. */
export function encodeChat(tokenizer: ChatTokenizer, template: PromptTemplate, messages: readonly ChatMessage[]): number[] {
  const ids: number[] = [];
  for (const seg of template.render(messages)) {
    if (seg.bos && tokenizer.bosId >= 0) ids.push(tokenizer.bosId);
    ids.push(...tokenizer.encodeAsIds(seg.text));
    if (seg.eos && tokenizer.eosId >= 0) ids.push(tokenizer.eosId);
  }
  return ids;
}
