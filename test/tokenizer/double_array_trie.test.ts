// The double-array trie against the plainest oracle: a Map from each key to its value, and
// every prefix of every probe checked against it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DoubleArrayTrie } from "../../src/tokenizer/double_array_trie.js";
import { rng } from "../helpers/random.js";

const encoder = new TextEncoder();

/** Random byte strings, some sharing prefixes, some with bytes 0 and 255. */
function randomKeys(count: number, seed: number): Uint8Array[] {
  const r = rng(seed);
  const keys: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const base = keys.length > 0 && r(0, 1) < 0.5 ? keys[Math.floor(r(0, keys.length))]! : new Uint8Array(0);
    const extra = 1 + Math.floor(r(0, 6));
    const key = new Uint8Array(base.length + extra);
    key.set(base);
    for (let k = base.length; k < key.length; k++) {
      const u = r(0, 1);
      key[k] = u < 0.05 ? 0 : u < 0.1 ? 255 : u < 0.7 ? 97 + Math.floor(r(0, 6)) : Math.floor(r(0, 256));
    }
    keys.push(key);
  }
  return keys;
}

function build(keys: Uint8Array[], values: number[]): DoubleArrayTrie {
  const bytes = new Uint8Array(keys.reduce((n, k) => n + k.length, 0));
  const starts: number[] = [],
    ends: number[] = [];
  let at = 0;
  for (const k of keys) {
    bytes.set(k, at);
    starts.push(at);
    at += k.length;
    ends.push(at);
  }
  return DoubleArrayTrie.build({ bytes, starts, ends, values });
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** Builds a trie of `count` random keys and checks every key and prefix against a Map. */
function checkAgainstMap(count: number, probeCount: number, seed: number): void {
  const keys = randomKeys(count, seed);
  const values = keys.map((_, i) => i * 3 + 1);
  const duplicates: [number, number][] = [];
  const bytes = new Uint8Array(keys.reduce((n, k) => n + k.length, 0));
  const starts: number[] = [],
    ends: number[] = [];
  let at = 0;
  for (const k of keys) {
    bytes.set(k, at);
    starts.push(at);
    at += k.length;
    ends.push(at);
  }
  const trie = DoubleArrayTrie.build({ bytes, starts, ends, values }, (first, later) => duplicates.push([first, later]));
  const oracle = new Map<string, number>();
  const firstIndex = new Map<string, number>();
  keys.forEach((k, i) => {
    if (!oracle.has(hex(k))) {
      oracle.set(hex(k), values[i]!); // the first of equal keys wins
      firstIndex.set(hex(k), i);
    }
  });
  // Each key given more than once is reported once, as (its first index, a later one).
  const seen = new Map<string, number>();
  for (const k of keys) seen.set(hex(k), (seen.get(hex(k)) ?? 0) + 1);
  assert.equal(duplicates.length, [...seen.values()].filter((n) => n > 1).length);
  for (const [first, later] of duplicates) {
    assert.equal(firstIndex.get(hex(keys[first]!)), first);
    assert.equal(hex(keys[later]!), hex(keys[first]!));
    assert.ok(later > first);
  }
  const probes = [...keys, ...randomKeys(probeCount, seed + 1)];
  for (const p of probes) {
    let node = 0;
    let longest = 0;
    for (let n = 1; n <= p.length; n++) {
      const expected = oracle.get(hex(p.subarray(0, n))) ?? -1;
      assert.equal(trie.lookup(p, 0, n), expected, `lookup ${hex(p.subarray(0, n))}`);
      if (node >= 0) node = trie.child(node, p[n - 1]!);
      assert.equal(node >= 0 ? trie.value(node) : -1, expected, `child walk ${hex(p.subarray(0, n))}`);
      if (expected >= 0) longest = n;
    }
    assert.equal(trie.longestPrefix(p, 0, p.length), longest);
  }
}

test("every key and every prefix of a key is found exactly as a Map finds it; duplicates are reported", () => {
  checkAgainstMap(3000, 2000, 7);
});

test("walks continue from a node, fail cleanly from -1, and an empty trie finds nothing", () => {
  const trie = DoubleArrayTrie.fromStrings(["▁the", "▁th", "한국", "a"]);
  const bytes = encoder.encode("▁the");
  const mid = trie.walk(0, bytes, 0, 4); // "▁t"
  assert.ok(mid > 0);
  assert.equal(trie.value(trie.walk(mid, bytes, 4, 5)), 1);
  assert.equal(trie.value(trie.walk(mid, bytes, 4, 6)), 0);
  assert.equal(trie.walk(-1, bytes, 0, 1), -1);
  assert.equal(trie.lookup(encoder.encode("한국"), 0, 6), 2);
  assert.equal(trie.lookup(encoder.encode("한"), 0, 3), -1);
  const empty = DoubleArrayTrie.fromStrings([]);
  assert.equal(empty.lookup(bytes, 0, 4), -1);
  assert.equal(empty.longestPrefix(bytes, 0, 4), 0);
  assert.equal(empty.size, 1);
});

test("a key's node count matches a plain trie's", () => {
  const keys = randomKeys(500, 9);
  const trie = build(
    keys,
    keys.map((_, i) => i),
  );
  const prefixes = new Set<string>([""]);
  for (const k of keys) for (let n = 1; n <= k.length; n++) prefixes.add(hex(k.subarray(0, n)));
  assert.equal(trie.size, prefixes.size);
});
