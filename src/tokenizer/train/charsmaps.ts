// Loads the precompiled normalization map of a built-in rule from src/tokenizer/charsmaps/.
// The .bin files are data, not compiled code: we look for them from the package root, found
// by walking up from this file, so they are found both from src/ (tsx) and dist/src/ (tsc).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../util/package_root.js";
import { NORMALIZATION_RULES, type NormalizationRuleName } from "../trainer_options.js";

const cache = new Map<string, Uint8Array>();

/** The precompiled_charsmap bytes of a built-in rule (empty for identity). */
export function loadCharsmap(rule: NormalizationRuleName): Uint8Array {
  if (!(NORMALIZATION_RULES as readonly string[]).includes(rule)) {
    throw new Error(`unknown normalization rule '${rule}' (expected one of ${NORMALIZATION_RULES.join(", ")})`);
  }
  if (rule === "identity") return new Uint8Array(0);
  const hit = cache.get(rule);
  if (hit) return hit;
  const file = join(packageRoot(), "src", "tokenizer", "charsmaps", `${rule}.bin`);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (err) {
    throw new Error(`normalization map for '${rule}' not readable: ${file}: ${(err as Error).message}`);
  }
  if (bytes.length < 8) throw new Error(`${file}: normalization map is truncated (${bytes.length} bytes)`);
  cache.set(rule, bytes);
  return bytes;
}
