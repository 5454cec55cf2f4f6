// Regenerates src/tokenizer/charsmaps/*.bin: the precompiled normalization maps
// ("precompiled_charsmap" of NormalizerSpec) that SentencePiece builds into its binaries for
// each built-in normalization_rule_name. They are the SentencePiece project's data
// (Apache-2.0), see src/tokenizer/charsmaps/README.md.
//
// How: train a tiny model with the Debian/Ubuntu `spm_train` (package `sentencepiece`,
// 0.1.97) for each rule and copy the bytes of normalizer_spec.precompiled_charsmap
// (ModelProto field 3, NormalizerSpec field 2) out of the resulting .model file.
//
// Usage: node scripts/extract-charsmaps.mjs [--spm-train PATH]
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const RULES = ["nmt_nfkc", "nfkc", "nmt_nfkc_cf", "nfkc_cf", "identity"];
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = join(root, "src", "tokenizer", "charsmaps");
const argi = process.argv.indexOf("--spm-train");
const spmTrain = argi > 0 ? process.argv[argi + 1] : "spm_train";

function readVarint(buf, pos) {
  let value = 0,
    shift = 0;
  for (;;) {
    if (pos >= buf.length) throw new Error("truncated varint");
    const b = buf[pos++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return [value, pos];
  }
}

/** The first length-delimited field `num` of a protobuf message, or undefined. */
function findField(buf, num) {
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Math.floor(key / 8),
      wire = key % 8;
    if (wire === 0) [, pos] = readVarint(buf, pos);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      if (field === num) return buf.subarray(pos, pos + len);
      pos += len;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return undefined;
}

const work = mkdtempSync(join(tmpdir(), "charsmaps-"));
try {
  const corpus = join(work, "corpus.txt");
  writeFileSync(corpus, Array.from({ length: 200 }, (_, i) => `sample line number ${i} with some words`).join("\n") + "\n");
  for (const rule of RULES) {
    const prefix = join(work, rule);
    const r = spawnSync(
      spmTrain,
      [
        `--input=${corpus}`,
        `--model_prefix=${prefix}`,
        "--model_type=char",
        "--vocab_size=40",
        `--normalization_rule_name=${rule}`,
        "--minloglevel=2",
      ],
      { encoding: "utf8" },
    );
    if (r.error || r.status !== 0) throw new Error(`${spmTrain} failed for ${rule}: ${r.error?.message ?? r.stderr}`);
    const model = readFileSync(`${prefix}.model`);
    const normalizerSpec = findField(model, 3);
    if (!normalizerSpec) throw new Error(`${rule}: model has no normalizer_spec`);
    const charsmap = findField(normalizerSpec, 2) ?? new Uint8Array(0);
    const dest = join(outDir, `${rule}.bin`);
    writeFileSync(`${dest}.tmp`, charsmap);
    renameSync(`${dest}.tmp`, dest);
    console.log(`${rule}: ${charsmap.length} bytes -> ${dest}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
