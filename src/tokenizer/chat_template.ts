// Chat templates: the Jinja `chat_template` of tokenizer_config.json, which turns a conversation
// into the exact text a chat model was trained on. Rendered with @huggingface/jinja, with the
// variables transformers' apply_chat_template passes: messages, add_generation_prompt, tools,
// documents, and the special tokens (bos_token, eos_token, unk_token, pad_token, …).
//
//   const t = ChatTemplate.fromConfig(tokenizer.config, "Qwen3/tokenizer_config.json")!;
//   t.render([{ role: "user", content: "Hi" }], { addGenerationPrompt: true })
//   // → "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
//   t.stop   // → ["<|im_end|>"]: where an assistant turn ends
import { Template } from "@huggingface/jinja";
import type { TokenizerConfig } from "./hf/tokenizer_config.js";

/** One message; other fields (tool_calls, name, …) are passed to the template as they are. */
export interface TemplateMessage {
  role: string;
  content: string;
}

export interface RenderOptions {
  /** End with the header of an assistant turn, so the model writes the reply (default false). */
  addGenerationPrompt?: boolean;
  tools?: unknown[] | null;
  documents?: unknown[] | null;
  /** More template variables (e.g. enable_thinking). */
  variables?: Record<string, unknown>;
}

/** The special-token variables apply_chat_template passes, as in transformers.js. */
const SPECIAL_TOKEN_KEYS = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];

export class ChatTemplate {
  readonly source: string;
  /** Strings that end an assistant turn: the template's end-of-turn token and eos_token. */
  readonly stop: string[];
  private readonly template: Template;
  private readonly specialTokens: Record<string, string>;
  private readonly where: string;

  /**
   * `where` names the file in errors; `specialTokens` maps bos_token … to their text;
   * `knownTokens` are the tokenizer's special tokens, among which the end-of-turn token is found.
   */
  constructor(source: string, where: string, specialTokens: Record<string, string> = {}, knownTokens: readonly string[] = []) {
    this.where = where;
    this.source = source;
    this.specialTokens = specialTokens;
    try {
      this.template = new Template(source);
    } catch (err) {
      throw new Error(`${where}: chat_template cannot be parsed: ${(err as Error).message}`);
    }
    this.stop = this.findStop(knownTokens);
  }

  /** The template of a tokenizer_config.json (its "default" one when it has several); undefined if none. */
  static fromConfig(config: TokenizerConfig, where: string, knownTokens: readonly string[] = []): ChatTemplate | undefined {
    const source = config.chatTemplate;
    if (source === undefined) return undefined;
    const specials: Record<string, string> = {};
    for (const key of SPECIAL_TOKEN_KEYS) {
      const v = config.raw[key];
      const text = typeof v === "string" ? v : v && typeof v === "object" ? (v as { content?: unknown }).content : undefined;
      if (typeof text === "string" && text !== "") specials[key] = text;
    }
    return new ChatTemplate(source, where, specials, knownTokens);
  }

  /** The conversation as text; errors (including the template's raise_exception) name the file. */
  render(messages: readonly TemplateMessage[], options: RenderOptions = {}): string {
    try {
      return this.template.render({
        messages: messages.map((m) => ({ ...m })),
        add_generation_prompt: options.addGenerationPrompt ?? false,
        tools: options.tools ?? null,
        documents: options.documents ?? null,
        ...this.specialTokens,
        ...options.variables,
      });
    } catch (err) {
      throw new Error(`${this.where}: chat_template: ${(err as Error).message}`);
    }
  }

  /**
   * The end-of-turn token: the known special token the template writes right after an
   * assistant's words (found by rendering a probe conversation), plus eos_token.
   */
  private findStop(knownTokens: readonly string[]): string[] {
    const stop: string[] = [];
    const marker = "\u0001reply\u0001";
    try {
      const text = this.render([
        { role: "user", content: "hi" },
        { role: "assistant", content: marker },
      ]);
      const after = text.slice(text.indexOf(marker) + marker.length).trimStart();
      const end = knownTokens.filter((t) => after.startsWith(t)).sort((a, b) => b.length - a.length)[0];
      if (text.includes(marker) && end) stop.push(end);
    } catch {
      // A template that refuses the probe (e.g. it needs a system message) still has eos_token.
    }
    const eos = this.specialTokens.eos_token;
    if (eos && !stop.includes(eos)) stop.push(eos);
    return stop;
  }
}
