// HFTokenizer: a Hugging Face `tokenizer.json` read from disk (HFTokenizerCore, hf_tokenizer_core.ts,
// has the tokenizer itself), with tokenizer_config.json's chat template.
//
//   const tok = HFTokenizer.load("Qwen3/tokenizer.json");   // reads tokenizer_config.json beside it
//   tok.encodeAsIds("Hello world")                           // → [9707, 1879]
//   tok.decode([9707, 1879])                                 // → "Hello world"
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { ChatTemplate } from "../chat_template.js";
import { HFTokenizerCore, parseTokenizerJson } from "./hf_tokenizer_core.js";

export {
  cleanUpTokenizationSpaces,
  HFTokenizerCore,
  type HFDecodeOptions,
  type HFEncodeOptions,
} from "./hf_tokenizer_core.js";

export class HFTokenizer extends HFTokenizerCore {
  /** The chat template, compiled on first use (null: not yet). */
  private compiledChatTemplate: ChatTemplate | undefined | null = null;

  /**
   * Builds a tokenizer from parsed tokenizer.json (and tokenizer_config.json) contents; `digest`
   * is the SHA-256 of the files (default: of the contents), which serialize() reports.
   */
  constructor(json: unknown, config: unknown = {}, fileName = "tokenizer.json", digest?: string) {
    super(json, config, fileName, () => `tokenizer.json sha256 ${digest ?? sha256(JSON.stringify(json) + "\n" + JSON.stringify(config))}`);
  }

  /** The chat_template of tokenizer_config.json, or undefined when it has none. */
  get chatTemplate(): ChatTemplate | undefined {
    if (this.compiledChatTemplate === null) {
      const specials = this.addedTokens.filter((t) => t.special).map((t) => t.content);
      this.compiledChatTemplate = ChatTemplate.fromConfig(this.config, this.configFileName, specials);
    }
    return this.compiledChatTemplate;
  }

  /** Reads tokenizer.json, and tokenizer_config.json when `configPath` is given. */
  static load(path: string, configPath?: string): HFTokenizer {
    const text = readText(path, "tokenizer");
    const configText = configPath ? readText(configPath, "tokenizer config") : "{}";
    const json = parseTokenizerJson(text, path);
    const config = parseTokenizerJson(configText, configPath ?? "");
    return new HFTokenizer(json, config, path, sha256(text + "\n" + configText));
  }
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`cannot read ${what} '${path}': ${(err as Error).message}`);
  }
}

export function readJson(path: string, what: string): unknown {
  return parseTokenizerJson(readText(path, what), path);
}
