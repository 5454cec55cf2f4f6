// `tsgpt quantize`: write a quantized GGUF that llama.cpp loads.
//   tsgpt quantize --model stories260K.bin --dtype q8_0 --out stories260K-q8_0.gguf
//   tsgpt quantize --model stories260K.bin --dtype q4_k --output-type same --out pure.gguf
//   tsgpt quantize --model out/run/last --tokenizer tok512.model --dtype q8_0 --out run-q8_0.gguf
//
// Which tensor gets which dtype is explained in src/quant/checkpoint.ts (norms stay F32; the
// output head gets Q6_K or Q8_0; rows that the block size does not divide fall back as
// llama-quantize does). --verbose lists them.
import { existsSync, statSync } from "node:fs";
import { parseOptions, UsageError, type OptionSpecs, runCommand } from "./args.js";
import { refuseExisting, refuseOverInputs } from "./outputs.js";
import { loadCheckpoint } from "../formats/load.js";
import { checkGGUFExportable, writeGGUFCheckpoint } from "../formats/gguf_llama.js";
import { quantizeCheckpoint, weightBytes } from "../quant/checkpoint.js";
import type { PlannedDType } from "../quant/checkpoint.js";
import type { QuantDType } from "../quant/types.js";
import { applyTokenizerFlag, TOKENIZER_OUTPUT_SPEC } from "./tokenizer_output.js";

const SUMMARY = "Quantize a Llama checkpoint (HF directory, GGUF or llama2.c .bin) to a GGUF file.";
const SPECS: OptionSpecs = {
  model: { type: "string", arg: "PATH", help: "the checkpoint to quantize" },
  dtype: { type: "string", arg: "TYPE", help: "q8_0, q6_k, q5_0, q4_1, q4_0 or q4_k" },
  out: { type: "string", arg: "PATH", help: "the GGUF file to write" },
  tokenizer: TOKENIZER_OUTPUT_SPEC,
  embeddings: { type: "string", arg: "TYPE", help: "token embedding dtype: same, f16 or f32", default: "same" },
  "output-type": {
    type: "string",
    arg: "TYPE",
    default: "auto",
    help: "output head dtype (lm_head, or the tied embedding): auto (llama.cpp's rule: q6_k, or q8_0 for --dtype q8_0 or rows not a multiple of 256), same (as --dtype, llama-quantize --pure), or q8_0, q6_k, q5_0, q4_1, q4_0, q4_k, f16, f32",
  },
  output: { type: "string", aliasOf: "out", help: "" },
  force: { type: "boolean", help: "overwrite an existing --out" },
  verbose: { type: "boolean", help: "print the dtype of every tensor" },
};
const DTYPES: Record<string, QuantDType> = { q8_0: "Q8_0", q6_k: "Q6_K", q5_0: "Q5_0", q4_1: "Q4_1", q4_0: "Q4_0", q4_k: "Q4_K" };
const OUTPUT_TYPES: Record<string, "auto" | "same" | PlannedDType> = { auto: "auto", same: "same", ...DTYPES, f16: "F16", f32: "F32" };

export function run(argv: string[]): Promise<number> {
  return runCommand("quantize", () => runOrThrow(argv));
}

async function runOrThrow(argv: string[]): Promise<number> {
  const parsed = parseOptions("quantize", SUMMARY, argv, SPECS);
  if (!parsed) return 0;
  const v = parsed.values;
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
  if (typeof v.model !== "string") throw new UsageError("--model is required");
  if (typeof v.out !== "string") throw new UsageError("--out is required");
  const dtype = DTYPES[String(v.dtype ?? "").toLowerCase()];
  if (!dtype) throw new UsageError(`--dtype must be q8_0, q6_k, q5_0, q4_1, q4_0 or q4_k${v.dtype ? `, got '${v.dtype}'` : ""}`);
  const output = OUTPUT_TYPES[String(v["output-type"]).toLowerCase()];
  if (!output) throw new UsageError(`--output-type must be ${Object.keys(OUTPUT_TYPES).join(", ")}, got '${v["output-type"]}'`);
  const emb = String(v.embeddings).toLowerCase();
  if (!["same", "f16", "f32"].includes(emb)) throw new UsageError(`--embeddings must be same, f16 or f32, got '${v.embeddings}'`);
  if (existsSync(v.out) && statSync(v.out).isDirectory()) throw new UsageError(`--out ${v.out} is a directory; give a file name`);
  refuseOverInputs(v.out, "--out", { "--model": v.model });
  refuseExisting(v.out, "--out", v.force === true);

  const ckpt = await loadCheckpoint(v.model);
  checkGGUFExportable(ckpt.config, v.model);
  applyTokenizerFlag(ckpt, typeof v.tokenizer === "string" ? v.tokenizer : undefined, "gguf");
  const counts = new Map<string, number>();
  const q = quantizeCheckpoint(ckpt, dtype, {
    embeddings: emb === "same" ? "same" : (emb.toUpperCase() as "F16" | "F32"),
    output,
    onTensor: (name, from, to) => {
      counts.set(to, (counts.get(to) ?? 0) + 1);
      if (v.verbose) console.error(`  ${name}: ${from} -> ${to}`);
    },
  });
  writeGGUFCheckpoint(v.out, q);
  const mib = (n: number) => (n / 2 ** 20).toFixed(2);
  const summary = [...counts].map(([t, n]) => `${n} ${t}`).join(", ");
  console.log(`${v.out}: ${summary} tensors; weights ${mib(weightBytes(ckpt))} MiB -> ${mib(weightBytes(q))} MiB`);
  return 0;
}
