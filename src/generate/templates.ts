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
//
// A checkpoint's own Jinja `chat_template` (tokenizer_config.json) is used through the same
// interface (jinjaPromptTemplate), rendered exactly as transformers' apply_chat_template.
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { ChatTemplate } from "../tokenizer/chat_template.js";
import { readTokenizerConfig } from "../tokenizer/hf/tokenizer_config.js";

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
  /** A built-in name, or "chat_template" for a checkpoint's own Jinja template. */
  name: TemplateName | "chat_template";
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
      throw new Error(
        `${template} template: message ${i} should be from the ${expected}, got '${m.role}' (only the first message may be a system message)`,
      );
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
      return assistant ? { text: `${prompt} ${assistant.content.trim()} `, bos: true, eos: true } : { text: prompt, bos: true, eos: false };
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
 * A Jinja chat template as a PromptTemplate: the conversation rendered with the generation
 * prompt, stopping at the template's end-of-turn token. With `bosEos` (for tokenizers that do
 * not find special-token text in a string, as SentencePiece), the rendered text is cut at the
 * BOS / EOS strings, which become the tokens themselves.
 */
export function jinjaPromptTemplate(template: ChatTemplate, bosEos?: { bos?: string; eos?: string }): PromptTemplate {
  return {
    name: "chat_template",
    stop: template.stop,
    render(messages) {
      const text = template.render(messages, { addGenerationPrompt: true });
      return bosEos ? splitAtBosEos(text, bosEos.bos, bosEos.eos) : [{ text, bos: false, eos: false }];
    },
  };
}

/** "<s>a</s><s>b" → [{a, bos, eos}, {b, bos}]. */
function splitAtBosEos(text: string, bos: string | undefined, eos: string | undefined): PromptSegment[] {
  const segments: PromptSegment[] = [];
  let current: PromptSegment = { text: "", bos: false, eos: false };
  let i = 0;
  while (i < text.length) {
    if (bos && text.startsWith(bos, i)) {
      if (current.text !== "" || current.bos) segments.push(current);
      current = { text: "", bos: true, eos: false };
      i += bos.length;
    } else if (eos && text.startsWith(eos, i)) {
      current.eos = true;
      segments.push(current);
      current = { text: "", bos: false, eos: false };
      i += eos.length;
    } else {
      current.text += text[i];
      i++;
    }
  }
  if (current.text !== "" || current.bos || segments.length === 0) segments.push(current);
  return segments;
}

/** A tokenizer that carries its own chat template (HFTokenizer does). */
interface TemplateCarrier {
  readonly kind?: string;
  readonly chatTemplate?: ChatTemplate;
}

/**
 * The template a checkpoint declares. A tokenizer.json tokenizer's own chat_template comes
 * first; otherwise the tokenizer_config.json beside the weights (`modelPath`: the checkpoint
 * directory or file): a SentencePiece checkpoint whose template is one of the built-in formats
 * keeps it, any other template is rendered as written. Undefined when there is none.
 */
export function templateForCheckpoint(modelPath: string, tokenizer?: TemplateCarrier): PromptTemplate | undefined {
  if (tokenizer?.kind === "huggingface" && tokenizer.chatTemplate) return jinjaPromptTemplate(tokenizer.chatTemplate);
  const dir = existsSync(modelPath) && statSync(modelPath).isDirectory() ? modelPath : dirname(modelPath);
  const file = join(dir, "tokenizer_config.json");
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const config = readTokenizerConfig(json, file);
  const sources = Object.values(config.chatTemplates);
  if (sources.length === 0) return undefined;
  if (tokenizer?.kind !== "huggingface") {
    for (const source of sources) {
      const builtIn = detectTemplate(source);
      if (builtIn) return builtIn;
    }
  }
  const template = ChatTemplate.fromConfig(
    config,
    file,
    [config.bosToken, config.eosToken].filter((t): t is string => t !== undefined),
  );
  if (!template) return undefined;
  return tokenizer?.kind === "huggingface"
    ? jinjaPromptTemplate(template)
    : jinjaPromptTemplate(template, { bos: config.bosToken, eos: config.eosToken });
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
