// A server on stories260K for the serve tests (loopback, a free port), and helpers to call it.
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { getTemplate, TextGenerator } from "../../src/generate/index.js";
import { createServer, type ServeHandle, type ServeOptions } from "../../src/serve/index.js";
import type { SentencePieceProcessor } from "../../src/tokenizer/index.js";
import { sharedPath, skipUnlessShared } from "../helpers/shared.js";

export const MODEL = ["models", "stories260K", "stories260K.bin"];
export const skip = skipUnlessShared(...MODEL);

let loaded: TextGenerator | undefined;

/** The model, loaded once per test file. */
export async function generator(): Promise<TextGenerator> {
  loaded ??= await TextGenerator.load(sharedPath(...MODEL));
  return loaded;
}

export function tokenizer(gen: TextGenerator): SentencePieceProcessor {
  return gen.tokenizer as unknown as SentencePieceProcessor;
}

export interface Running {
  url: string;
  handle: ServeHandle;
  gen: TextGenerator;
}

/** A server with the llama2 chat template, listening on a free loopback port. */
export async function startServer(options: Partial<ServeOptions> = {}): Promise<Running> {
  const gen = await generator();
  const handle = createServer({ generator: gen, modelName: "stories260K", template: getTemplate("llama2"), ...options });
  const url = await handle.listen(0, "127.0.0.1");
  return { url, handle, gen };
}

export async function post(
  url: string,
  body: unknown,
  init: RequestInit = {},
): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...init,
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

/** The JSON payloads of an SSE body, and whether it ended with [DONE]. */
export function parseSse(text: string): { events: any[]; done: boolean } {
  const events: any[] = [];
  let done = false;
  for (const block of text.split("\n\n")) {
    if (block.trim() === "") continue;
    const data = block
      .split("\n")
      .filter((l) => l.startsWith("data: "))
      .map((l) => l.slice(6))
      .join("\n");
    if (data === "[DONE]") done = true;
    else events.push(JSON.parse(data));
  }
  return { events, done };
}

/**
 * An optional package (openai, playwright-core): from the project's node_modules, else from
 * the node_modules of the folder in TSGPT_TEST_MODULES (a scratch install). Undefined when absent.
 */
export async function optionalImport(name: string): Promise<any | undefined> {
  try {
    return await import(name);
  } catch {
    /* not installed in the project */
  }
  const dir = process.env.TSGPT_TEST_MODULES;
  if (!dir) return undefined;
  try {
    const resolved = createRequire(join(dir, "noop.js")).resolve(name);
    return await import(pathToFileURL(resolved).href);
  } catch {
    return undefined;
  }
}
