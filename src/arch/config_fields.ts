// Typed, checked access to the fields of a JSON config (config.json, generation_config.json,
// GGUF metadata turned into objects). A missing or null field takes the fallback, as
// transformers does with None; anything else of the wrong type is a ConfigError that names the
// source, the field, what was expected and what was there.
import { FormatError } from "../util/errors.js";

/**
 * A config problem. It is a FormatError (a config.json is a file like any other), with `source`
 * naming where the config came from: a file path, a preset, or "config" for one built in code.
 */
export class ConfigError extends FormatError {
  constructor(source: string, field: string, message: string) {
    super(source, field, message);
    this.name = "ConfigError";
  }

  /** Where the config came from (the same as `file`). */
  get source(): string {
    return this.file;
  }
}

export type Json = Record<string, unknown>;

/** More layers than any model has (the largest have about 130). */
export const MAX_LAYERS = 4096;

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isTokenId(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

export class JsonFields {
  constructor(
    readonly source: string,
    readonly obj: Json,
  ) {}

  /** Fails with "expected …, got …" (by default, got what the field holds). */
  fail(field: string, expected: string, got: unknown = this.obj[field]): never {
    throw new ConfigError(this.source, field, `expected ${expected}, got ${JSON.stringify(got) ?? "nothing"}`);
  }

  /** The value, or undefined when the field is missing or null. */
  get(field: string): unknown {
    const v = this.obj[field];
    return v === null ? undefined : v;
  }

  positiveInt(field: string, fallback?: number): number {
    const v = this.get(field) ?? fallback;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) this.fail(field, "a positive integer");
    return v;
  }

  /**
   * A number of layers: a positive integer up to MAX_LAYERS. Loaders walk the layers to name and
   * check their tensors, so 2^32 layers in a damaged config would run for hours.
   */
  layerCount(field: string): number {
    const v = this.positiveInt(field);
    if (v > MAX_LAYERS) this.fail(field, `a layer count of at most ${MAX_LAYERS}`);
    return v;
  }

  positiveNumber(field: string, fallback?: number): number {
    const v = this.get(field) ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) this.fail(field, "a positive number");
    return v;
  }

  bool(field: string, fallback: boolean): boolean {
    return this.optBool(field) ?? fallback;
  }

  optBool(field: string): boolean | undefined {
    const v = this.get(field);
    if (v !== undefined && typeof v !== "boolean") this.fail(field, "true or false");
    return v;
  }

  optNumber(field: string): number | undefined {
    const v = this.get(field);
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v))) this.fail(field, "a number");
    return v;
  }

  /** One of a few strings; `note` follows the list in the message (why those). */
  oneOf(field: string, allowed: readonly string[], fallback: string, note = ""): string {
    const v = this.get(field) ?? fallback;
    if (typeof v !== "string" || !allowed.includes(v)) this.fail(field, allowed.map((a) => JSON.stringify(a)).join(" or ") + note);
    return v;
  }

  optTokenId(field: string): number | undefined {
    const v = this.get(field);
    if (v !== undefined && !isTokenId(v)) this.fail(field, "a token id (non-negative integer)");
    return v;
  }

  /** A token id or a list of them (Llama 3 lists several EOS ids). */
  optTokenIds(field: string): number | number[] | undefined {
    const v = this.get(field);
    if (Array.isArray(v)) {
      if (!v.every(isTokenId)) this.fail(field, "a token id or a list of token ids");
      return v;
    }
    return this.optTokenId(field);
  }

  /** `a` must divide `b`: attention splits b dimensions (or heads) into a equal groups. */
  divides(field: string, a: number, of: string, b: number): void {
    if (b % a !== 0) this.fail(field, `a divisor of ${of} (${b})`, a);
  }

  /** bos / eos / pad ids, present only when given. A list of EOS ids keeps its first. */
  specialTokenIds(): SpecialTokenIds {
    const out: SpecialTokenIds = {};
    for (const k of ["bos_token_id", "eos_token_id", "pad_token_id"] as const) {
      const v = this.optTokenIds(k);
      const id = Array.isArray(v) ? v[0] : v;
      if (id !== undefined) out[k] = id;
    }
    return out;
  }
}

/** The special token ids a model config may carry. */
export interface SpecialTokenIds {
  bos_token_id?: number;
  eos_token_id?: number;
  pad_token_id?: number;
}
