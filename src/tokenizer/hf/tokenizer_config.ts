// tokenizer_config.json: what transformers keeps beside tokenizer.json — the names of the special
// tokens, the chat template, and decoding defaults. Token fields are a string or an AddedToken
// object {"content": "…"}.
import { TokenizerFileError } from "./config.js";

export interface TokenizerConfig {
  bosToken?: string;
  eosToken?: string;
  padToken?: string;
  unkToken?: string;
  /** The Jinja chat template; a list of named templates picks "default". */
  chatTemplate?: string;
  /** Named templates ("default", "tool_use", …) when the file has a list. */
  chatTemplates: Record<string, string>;
  cleanUpTokenizationSpaces: boolean;
  /** The raw object, for the template's other variables. */
  raw: Record<string, unknown>;
}

export function readTokenizerConfig(json: unknown, where: string): TokenizerConfig {
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new TokenizerFileError(`${where}: expected a JSON object`);
  const raw = json as Record<string, unknown>;
  const templates = readTemplates(raw.chat_template, `${where}: chat_template`);
  return {
    bosToken: tokenField(raw, "bos_token", where),
    eosToken: tokenField(raw, "eos_token", where),
    padToken: tokenField(raw, "pad_token", where),
    unkToken: tokenField(raw, "unk_token", where),
    chatTemplate: templates.default,
    chatTemplates: templates,
    cleanUpTokenizationSpaces: raw.clean_up_tokenization_spaces === true,
    raw,
  };
}

/** "<s>" or {"content": "<s>", …}; undefined when absent or null. */
export function tokenField(raw: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v;
  if (typeof v === "object" && typeof (v as { content?: unknown }).content === "string") return (v as { content: string }).content;
  throw new TokenizerFileError(`${where}: ${key}: expected a string or {"content": "…"}, got ${JSON.stringify(v)}`);
}

function readTemplates(v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v === "string") return { default: v };
  if (Array.isArray(v)) {
    const out: Record<string, string> = {};
    v.forEach((e, i) => {
      const { name, template } = (e ?? {}) as { name?: unknown; template?: unknown };
      if (typeof name !== "string" || typeof template !== "string")
        throw new TokenizerFileError(`${where}[${i}]: expected {"name": "…", "template": "…"}`);
      out[name] = template;
    });
    return out;
  }
  throw new TokenizerFileError(`${where}: expected a string or a list of {"name", "template"}`);
}
