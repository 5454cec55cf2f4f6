// Checks of numeric arguments for library code, with one message format:
// "NAME must be EXPECTED, got VALUE". A value that is not a number at all is a TypeError; a
// number outside the allowed set (NaN, a fraction where an integer is needed, out of range) is
// a RangeError. Each returns the value, so a check can sit where the value is read.
// (The CLI checks its flags itself, in src/cli/args.ts, where the messages name the flag.)

/** The value as a message shows it: strings quoted, so "" and "3" read differently from 3. */
function show(value: unknown): string {
  return typeof value === "string" ? `'${value}'` : String(value);
}

function fail(name: string, expected: string, value: unknown): never {
  const message = `${name} must be ${expected}, got ${show(value)}`;
  throw typeof value === "number" ? new RangeError(message) : new TypeError(message);
}

/** An integer ≥ 1 (a size, a count of steps). */
export function positiveInt(name: string, value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) <= 0) fail(name, "a positive integer", value);
  return value as number;
}

/** An integer ≥ 0 (an index, an offset, a count that may be zero). */
export function nonNegativeInt(name: string, value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) fail(name, "a non-negative integer", value);
  return value as number;
}

/** An integer ≥ min, for lower bounds other than 0 and 1 (a context of at least 2 tokens). */
export function intAtLeast(name: string, value: unknown, min: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) fail(name, `an integer ≥ ${min}`, value);
  return value as number;
}

/** An integer in [lo, hi], both ends allowed. */
export function intInRange(name: string, value: unknown, lo: number, hi: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < lo || (value as number) > hi) fail(name, `an integer in [${lo}, ${hi}]`, value);
  return value as number;
}

/** A number that is neither NaN nor infinite. */
export function finiteNumber(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) fail(name, "a finite number", value);
  return value;
}

/** A finite number > 0 (a learning rate, a scale). */
export function positiveNumber(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) fail(name, "a positive finite number", value);
  return value;
}

/** A number ≥ min, infinity allowed, NaN not (a weight decay, a clipping norm). */
export function numberAtLeast(name: string, value: unknown, min: number): number {
  if (typeof value !== "number" || !(value >= min)) fail(name, `≥ ${min}`, value);
  return value as number;
}

export interface RangeOptions {
  /** Whether `lo` itself is allowed (default true). */
  includeLow?: boolean;
  /** Whether `hi` itself is allowed (default true). */
  includeHigh?: boolean;
}

/** A number between lo and hi, e.g. a probability: numberInRange("p", p, 0, 1, { includeHigh: false }) → [0, 1). */
export function numberInRange(name: string, value: unknown, lo: number, hi: number, opts: RangeOptions = {}): number {
  const includeLow = opts.includeLow ?? true;
  const includeHigh = opts.includeHigh ?? true;
  const ok = typeof value === "number" && (includeLow ? value >= lo : value > lo) && (includeHigh ? value <= hi : value < hi);
  if (!ok) fail(name, `in ${includeLow ? "[" : "("}${lo}, ${hi}${includeHigh ? "]" : ")"}`, value);
  return value as number;
}
