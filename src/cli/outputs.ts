// The one rule for every command that writes: an existing output is refused unless --force,
// and an output is never an input (nor a folder holding one, nor inside an input folder).
import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { UsageError } from "./args.js";

/** The absolute path with symbolic links resolved, as far as the path exists. */
function canonical(path: string): string {
  const abs = resolve(path);
  if (existsSync(abs)) return realpathSync(abs);
  const parent = dirname(abs);
  return parent === abs ? abs : resolve(canonical(parent), relative(parent, abs));
}

/** True when `inner` is `outer` or lies inside it. */
function within(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** True for a file, or a folder with anything in it. */
export function existsNonEmpty(path: string): boolean {
  if (!existsSync(path)) return false;
  return !statSync(path).isDirectory() || readdirSync(path).length > 0;
}

/**
 * Refuses writing `out` (given as `flag`) over any of `inputs` (flag → path): the same file, a
 * folder that holds an input, or a place inside an input folder.
 */
export function refuseOverInputs(out: string, flag: string, inputs: Record<string, string | undefined>): void {
  const o = canonical(out);
  for (const [inputFlag, path] of Object.entries(inputs)) {
    if (path === undefined) continue;
    const i = canonical(path);
    if (within(i, o) || (existsSync(i) && statSync(i).isDirectory() && within(o, i))) {
      throw new UsageError(`${flag} ${out} would write over the input ${inputFlag} ${path}; choose another ${flag}`);
    }
  }
}

/** Refuses an existing (non-empty) output unless `force`. */
export function refuseExisting(out: string, flag: string, force: boolean): void {
  if (!force && existsNonEmpty(out)) throw new UsageError(`${flag} ${out} already exists (add --force to overwrite it)`);
}
