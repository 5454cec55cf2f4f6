// Shared option parsing for CLI commands, on node's util.parseArgs.
// Each command declares its options once; `--help` prints them; errors name the option.
import { parseArgs } from "node:util";

export interface OptionSpec {
  type: "string" | "boolean";
  /** Shown in --help. */
  help: string;
  /** Placeholder in --help, e.g. PATH. */
  arg?: string;
  default?: string | boolean;
  short?: string;
  multiple?: boolean;
  /** Another spelling of the option named here: its value is read as that option's. */
  aliasOf?: string;
  /**
   * A string option whose value may be left out (`--resume` or `--resume DIR`): given bare, its
   * value reads as `true`. The next argument is its value unless it starts with "-".
   */
  optionalValue?: boolean;
}

export type OptionSpecs = Record<string, OptionSpec>;

export class UsageError extends Error {}

export function helpText(command: string, summary: string, specs: OptionSpecs, positionals = ""): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const arg = s.arg ?? specs[s.aliasOf ?? ""]?.arg ?? "VALUE";
    const flag = `--${name}${s.type === "string" ? (s.optionalValue ? ` [${arg}]` : ` ${arg}`) : ""}`;
    if (s.aliasOf) return [flag, `same as --${s.aliasOf}${s.help ? ` (${s.help})` : ""}`] as const;
    const def = s.default !== undefined && s.default !== false ? ` (default: ${s.default})` : "";
    return [flag, `${s.help}${def}`] as const;
  });
  const width = Math.max(0, ...rows.map(([f]) => f.length));
  return [
    `usage: tsgpt ${command}${positionals ? ` ${positionals}` : ""} [options]`,
    "",
    summary,
    "",
    "options:",
    ...rows.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`),
    `  ${"--help".padEnd(width)}  show this help`,
  ].join("\n");
}

/**
 * Parses argv against specs. Returns null when --help was printed.
 * Unknown options and missing values raise UsageError with the option's name.
 */
export function parseOptions(
  command: string,
  summary: string,
  argv: string[],
  specs: OptionSpecs,
  positionals = "",
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } | null {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(helpText(command, summary, specs, positionals));
    return null;
  }
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean; default?: string | boolean }> = {};
  for (const [name, s] of Object.entries(specs)) {
    options[name] = {
      type: s.type,
      ...(s.short ? { short: s.short } : {}),
      ...(s.multiple ? { multiple: true } : {}),
      ...(s.default !== undefined ? { default: s.default } : {}),
    };
  }
  const { args, bare } = takeBareOptions(argv, specs);
  let r: ReturnType<typeof parseArgs>;
  try {
    r = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec((err as Error).message)?.[1];
    if (unknown) throw new UsageError(`${command}: unknown option ${unknown}${suggestion(unknown, Object.keys(specs))}`);
    throw new UsageError(`${command}: ${(err as Error).message}`);
  }
  const values = r.values as Record<string, string | boolean | string[] | undefined>;
  for (const name of bare) {
    if (typeof values[name] === "string") throw new UsageError(`${command}: --${name} is given twice`);
    values[name] = true;
  }
  foldAliases(values, specs, argv);
  return { values, positionals: r.positionals };
}

/**
 * Takes out of argv each option with an optional value that is given bare (last, or followed by
 * another option), since parseArgs would otherwise read the next argument as its value or fail.
 */
function takeBareOptions(argv: string[], specs: OptionSpecs): { args: string[]; bare: string[] } {
  const args: string[] = [];
  const bare: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      args.push(...argv.slice(i));
      break;
    }
    const name = a.startsWith("--") ? a.slice(2) : "";
    const next = argv[i + 1];
    if (specs[name]?.optionalValue && (next === undefined || next.startsWith("-"))) bare.push(name);
    else args.push(a);
  }
  return { args, bare };
}

/** Moves each alias's value to the option it spells; giving both is an error. */
function foldAliases(values: Record<string, unknown>, specs: OptionSpecs, argv: string[]): void {
  for (const [name, s] of Object.entries(specs)) {
    if (!s.aliasOf || values[name] === undefined) continue;
    const target = s.aliasOf;
    if (argv.some((a) => a === `--${target}` || a.startsWith(`--${target}=`))) {
      throw new UsageError(`--${name} and --${target} mean the same; give one of them`);
    }
    values[target] = values[name];
    delete values[name];
  }
}

/** "; did you mean --x?" for the closest option name, or "" when none is close. */
export function suggestion(given: string, names: string[]): string {
  const bare = given.replace(/^-+/, "").split("=")[0]!;
  const extended = bare.length >= 3 ? names.find((n) => n.startsWith(bare)) : undefined; // --warmup → --warmup-steps
  if (extended) return `; did you mean --${extended}?`;
  let best = "";
  let bestDistance = Infinity;
  for (const name of names) {
    const d = editDistance(bare, name);
    if (d < bestDistance) {
      bestDistance = d;
      best = name;
    }
  }
  const close = bestDistance <= Math.max(2, Math.floor(bare.length / 3));
  return best && close ? `; did you mean --${best}?` : "";
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** Reads a numeric option, checking it is a finite number within [min, max]. */
export function numberOption(
  values: Record<string, unknown>,
  name: string,
  opts: { min?: number; max?: number; integer?: boolean } = {},
): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(v))
    throw new UsageError(`--${name}: expected a number, got '${String(raw)}'`);
  if (opts.integer && !Number.isInteger(v)) throw new UsageError(`--${name}: expected an integer, got '${raw}'`);
  if (opts.min !== undefined && v < opts.min) throw new UsageError(`--${name}: must be >= ${opts.min}, got ${v}`);
  if (opts.max !== undefined && v > opts.max) throw new UsageError(`--${name}: must be <= ${opts.max}, got ${v}`);
  return v;
}

/**
 * Runs a command's body and turns what it throws into an exit code, the same way for every
 * command: a UsageError prints the message and a pointer to --help (exit 2), an aborted run
 * prints "[interrupted]" (exit 130), any other error prints its message (exit 1; the stack too
 * when TSGPT_DEBUG is set).
 */
export async function runCommand(command: string, body: () => Promise<number> | number): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(
        `tsgpt ${command}: ${err.message.replace(new RegExp(`^${command}: `), "")}\nRun 'tsgpt ${command} --help' for the options.`,
      );
      return 2;
    }
    if ((err as Error).name === "AbortError") {
      process.stderr.write("\n[interrupted]\n");
      return 130;
    }
    console.error(`tsgpt ${command}: ${(err as Error).message}`);
    if (process.env.TSGPT_DEBUG) console.error(err);
    return 1;
  }
}
