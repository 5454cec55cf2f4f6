// Reading tokenizer.json safely: every component is a JSON object with a "type"; these helpers
// check fields and name the file and the JSON path in their errors.

/** A JSON object from tokenizer.json, with where it sits (for error messages). */
export interface Node {
  json: Record<string, unknown>;
  /** "tokenizer.json: pre_tokenizer.pretokenizers[0]" */
  where: string;
}

export class TokenizerFileError extends Error {}

/**
 * The largest token id a tokenizer.json may use. Ids index the id → piece table, so an id of 2^32
 * (a damaged or hostile file) would size that table at gigabytes; the largest real vocabularies
 * have about a million pieces.
 */
export const MAX_TOKEN_ID = 2 ** 24 - 1;

/** True for an id a vocabulary may hold: an integer in [0, MAX_TOKEN_ID]. */
export function isTokenId(id: unknown): id is number {
  return Number.isInteger(id) && (id as number) >= 0 && (id as number) <= MAX_TOKEN_ID;
}

export function node(json: unknown, where: string): Node {
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new TokenizerFileError(`${where}: expected a JSON object`);
  return { json: json as Record<string, unknown>, where };
}

export function typeOf(n: Node): string {
  const t = n.json.type;
  if (typeof t !== "string") throw new TokenizerFileError(`${n.where}.type: expected a string`);
  return t;
}

export function unsupported(n: Node, kind: string, known: readonly string[]): never {
  throw new TokenizerFileError(`${n.where}: ${kind} type '${String(n.json.type)}' is not supported (supported: ${known.join(", ")})`);
}

export function str(n: Node, key: string, fallback?: string): string {
  const v = n.json[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new TokenizerFileError(`${n.where}.${key}: missing (expected a string)`);
  }
  if (typeof v !== "string") throw new TokenizerFileError(`${n.where}.${key}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}

export function bool(n: Node, key: string, fallback: boolean): boolean {
  const v = n.json[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "boolean") throw new TokenizerFileError(`${n.where}.${key}: expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

export function list(n: Node, key: string): Node[] {
  const v = n.json[key];
  if (!Array.isArray(v)) throw new TokenizerFileError(`${n.where}.${key}: expected an array`);
  return v.map((x, i) => node(x, `${n.where}.${key}[${i}]`));
}

/** A pattern field: {"String": "…"} (literal) or {"Regex": "…"} (Oniguruma). */
export function pattern(n: Node, key: string): { literal: string } | { regex: string } {
  const p = node(n.json[key], `${n.where}.${key}`);
  if (typeof p.json.String === "string") return { literal: p.json.String };
  if (typeof p.json.Regex === "string") return { regex: p.json.Regex };
  throw new TokenizerFileError(`${p.where}: expected {"String": …} or {"Regex": …}`);
}
