// Mutations of a valid file into a hostile one, each case a pure function of (seed, format,
// index), so a finding is reproduced by running that one case again (--from I --cases 1).
//
//   truncate     cut the file anywhere (a download that stopped)
//   flip         xor a few random bytes (a damaged disk or transfer)
//   integer      overwrite a little-endian u32 / u64 with a boundary value (0, 2^31, 2^32,
//                2^63, all ones, …): lengths, counts, dims and offsets that lie, biased towards
//                the start of the file where headers are
//   json         for JSON text (config.json, tokenizer.json, adapter_config.json, a safetensors
//                header): replace a random value with a hostile one, or delete a key
//
// The cases are drawn by a small seeded generator (mulberry32), not Math.random.

/** A seeded generator of uint32 / floats in [0, 1). */
export class FuzzRng {
  private s: number;
  constructor(...seeds: number[]) {
    let h = 0x9e3779b9;
    for (const x of seeds) h = Math.imul(h ^ (x >>> 0), 0x85ebca6b) ^ (h >>> 13);
    this.s = h >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/** A hash of a string, to turn a format name into a seed. */
export function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

const U32_VALUES = [0, 1, 2, 3, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const U64_VALUES = [0n, 1n, 0xffffffffn, 0x100000000n, 0x100000001n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 62n, 2n ** 63n - 1n, 2n ** 64n - 1n];

/** Describes one mutation, for the report of a finding. */
export type Mutation = { kind: string; detail: string };

function truncate(bytes: Uint8Array, rng: FuzzRng): [Uint8Array, Mutation] {
  // Mostly near the start (headers), sometimes anywhere.
  const n = rng.next() < 0.6 ? rng.int(Math.min(bytes.length, 512)) : rng.int(bytes.length);
  return [bytes.slice(0, n), { kind: "truncate", detail: `to ${n} of ${bytes.length} bytes` }];
}

function flip(bytes: Uint8Array, rng: FuzzRng): [Uint8Array, Mutation] {
  const out = bytes.slice();
  const k = 1 + rng.int(8);
  const at: number[] = [];
  for (let i = 0; i < k; i++) {
    const p = rng.next() < 0.7 ? rng.int(Math.min(out.length, 1024)) : rng.int(out.length);
    out[p] = out[p]! ^ (1 + rng.int(255));
    at.push(p);
  }
  return [out, { kind: "flip", detail: `bytes ${at.join(",")}` }];
}

function integer(bytes: Uint8Array, rng: FuzzRng): [Uint8Array, Mutation] {
  const out = bytes.slice();
  if (out.length < 8) return flip(bytes, rng);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const limit = rng.next() < 0.8 ? Math.min(out.length - 8, 4096) : out.length - 8;
  const p = rng.int(limit + 1) & ~(rng.next() < 0.7 ? 3 : 0); // aligned fields are the likely ones
  if (rng.next() < 0.5) {
    const v = rng.pick(U32_VALUES);
    view.setUint32(p, v, true);
    return [out, { kind: "u32", detail: `${v} at ${p}` }];
  }
  const v = rng.pick(U64_VALUES);
  view.setBigUint64(p, v, true);
  return [out, { kind: "u64", detail: `${v} at ${p}` }];
}

/** Hostile stand-ins for a JSON value. */
const JSON_VALUES: unknown[] = [
  0,
  -1,
  1,
  2 ** 31,
  2 ** 32,
  2 ** 32 + 1,
  2 ** 53,
  1e9,
  1e18,
  1e308,
  -1e308,
  0.5,
  "x",
  "",
  null,
  true,
  [],
  {},
  [1e9, 1e9],
  "a".repeat(70000),
];

/** Every (container, key) in a parsed JSON value. */
function slots(root: unknown): Array<[Record<string, unknown> | unknown[], string | number]> {
  const out: Array<[Record<string, unknown> | unknown[], string | number]> = [];
  const walk = (v: unknown, depth: number) => {
    if (depth > 6 || v === null || typeof v !== "object") return;
    if (Array.isArray(v)) {
      // Long arrays (vocabularies, merges): a few entries stand for the rest.
      const n = v.length;
      for (const i of n <= 8 ? v.keys() : [0, 1, n >> 1, n - 1]) {
        out.push([v, i]);
        walk(v[i], depth + 1);
      }
      return;
    }
    const keys = Object.keys(v);
    const chosen = keys.length <= 64 ? keys : keys.slice(0, 32);
    for (const k of chosen) {
      out.push([v as Record<string, unknown>, k]);
      walk((v as Record<string, unknown>)[k], depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

/** A structural edit of JSON text; falls back to a byte mutation when the text is not JSON. */
export function mutateJsonText(text: string, rng: FuzzRng): [string, Mutation] {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    const [b, m] = flip(new TextEncoder().encode(text), rng);
    return [new TextDecoder().decode(b), m];
  }
  const all = slots(root);
  if (all.length === 0) return [JSON.stringify(rng.pick(JSON_VALUES)), { kind: "json", detail: "root replaced" }];
  const edits = 1 + rng.int(3);
  const details: string[] = [];
  for (let e = 0; e < edits; e++) {
    const [container, key] = rng.pick(all);
    if (!Array.isArray(container) && rng.next() < 0.15) {
      delete container[key as string];
      details.push(`delete ${String(key)}`);
      continue;
    }
    const value = rng.pick(JSON_VALUES);
    (container as Record<string | number, unknown>)[key] = value;
    details.push(`${String(key)} = ${typeof value === "string" && value.length > 10 ? `"${value.length} chars"` : JSON.stringify(value)}`);
  }
  return [JSON.stringify(root), { kind: "json", detail: details.join("; ") }];
}

/** A byte-level mutation of a binary file. */
export function mutateBytes(bytes: Uint8Array, rng: FuzzRng): [Uint8Array, Mutation] {
  const r = rng.next();
  if (r < 0.2) return truncate(bytes, rng);
  if (r < 0.55) return flip(bytes, rng);
  return integer(bytes, rng);
}

/**
 * A safetensors file: half of the time its JSON header is edited structurally (shapes, dtypes,
 * data_offsets) and the length prefix rewritten to match; else a byte-level mutation.
 */
export function mutateSafetensors(bytes: Uint8Array, rng: FuzzRng): [Uint8Array, Mutation] {
  if (bytes.length < 8 || rng.next() < 0.5) return mutateBytes(bytes, rng);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (8 + n > bytes.length) return mutateBytes(bytes, rng);
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  const [edited, m] = mutateJsonText(header, rng);
  const h = new TextEncoder().encode(edited);
  const out = new Uint8Array(8 + h.length + (bytes.length - 8 - n));
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(bytes.subarray(8 + n), 8 + h.length);
  return [out, { kind: "header", detail: m.detail }];
}
