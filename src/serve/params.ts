// Reading the fields of a request body: each reader checks one field and throws a 400 that
// names it. `null` counts as absent, as in the OpenAI API.
import { invalidField } from "./errors.js";

export type Body = Record<string, unknown>;

interface NumberRule {
  min?: number;
  max?: number;
  /** The minimum itself is not allowed. */
  minExclusive?: boolean;
  integer?: boolean;
}

export function optionalNumber(body: Body, name: string, rule: NumberRule = {}): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw invalidField(name, `expected a number, got ${describe(v)}`);
  if (rule.integer && !Number.isInteger(v)) throw invalidField(name, `expected an integer, got ${v}`);
  if (rule.min !== undefined && (rule.minExclusive ? v <= rule.min : v < rule.min)) {
    throw invalidField(name, `must be ${rule.minExclusive ? ">" : ">="} ${rule.min}, got ${v}`);
  }
  if (rule.max !== undefined && v > rule.max) throw invalidField(name, `must be <= ${rule.max}, got ${v}`);
  return v;
}

export function optionalBoolean(body: Body, name: string): boolean | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw invalidField(name, `expected true or false, got ${describe(v)}`);
  return v;
}

export function optionalString(body: Body, name: string): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw invalidField(name, `expected a string, got ${describe(v)}`);
  return v;
}

/** `stop`: a string or a list of at most `max` non-empty strings. */
export function stopStrings(body: Body, max: number): string[] {
  const v = body.stop;
  if (v === undefined || v === null) return [];
  const list = typeof v === "string" ? [v] : v;
  if (!Array.isArray(list)) throw invalidField("stop", `expected a string or a list of strings, got ${describe(v)}`);
  if (list.length > max) throw invalidField("stop", `at most ${max} stop sequences, got ${list.length}`);
  list.forEach((s, i) => {
    if (typeof s !== "string" || s === "") throw invalidField("stop", `stop[${i}] must be a non-empty string, got ${describe(s)}`);
  });
  return list as string[];
}

/** Short description of a JSON value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === "object") return "an object";
  return String(v);
}

/** Rejects fields we know but do not implement, rather than silently ignoring them. */
export function rejectUnsupported(body: Body, fields: Record<string, (v: unknown) => boolean>): void {
  for (const [name, isHarmless] of Object.entries(fields)) {
    const v = body[name];
    if (v === undefined || v === null || isHarmless(v)) continue;
    throw invalidField(name, "is not supported by this server");
  }
}
