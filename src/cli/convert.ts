// `tsgpt convert`: rewrite a checkpoint in another format.
//   tsgpt convert --model stories260K.bin --out out/stories --to hf
//   tsgpt convert --model out/stories --out stories.gguf --to gguf --dtype f16
//   tsgpt convert --model stories.gguf --out copy.bin --to llama2c
//   tsgpt convert --model stories260K.bin --out stories-q8_0.gguf --to gguf --dtype q8_0
//   tsgpt convert --model stories260K.bin --tokenizer tok512.model --out out/stories --to hf
// (--input and --output are the older spellings of --model and --out.)
// Quantized dtypes follow `tsgpt quantize`'s rules (src/quant/checkpoint.ts: the output head gets
// Q6_K or Q8_0, fallbacks for rows the block does not divide).
import { parseOptions, UsageError, type OptionSpecs, runCommand } from "./args.js";
import { refuseExisting, refuseOverInputs } from "./outputs.js";
import { loadCheckpointSync, parameterCount, saveCheckpointSync, type CheckpointFormat } from "../formats/load.js";
import { quantizeCheckpoint } from "../quant/checkpoint.js";
import { checkGGUFExportable } from "../formats/gguf_llama.js";
import { applyTokenizerFlag, TOKENIZER_OUTPUT_SPEC } from "./tokenizer_output.js";

const SPECS: OptionSpecs = {
  model: { type: "string", arg: "PATH", help: "checkpoint to read (HF directory, .gguf or llama2.c .bin)" },
  input: { type: "string", aliasOf: "model", help: "" },
  out: { type: "string", arg: "PATH", help: "where to write (a directory for hf, a file otherwise)" },
  output: { type: "string", aliasOf: "out", help: "" },
  to: { type: "string", arg: "FORMAT", help: "hf, gguf or llama2c" },
  tokenizer: TOKENIZER_OUTPUT_SPEC,
  dtype: {
    type: "string",
    arg: "DTYPE",
    help: "f32, f16 or bf16 for the weights (default: keep; llama2c is always f32); q8_0, q6_k, q5_0, q4_1, q4_0 or q4_k with --to gguf (as tsgpt quantize)",
  },
  force: { type: "boolean", help: "overwrite an existing output" },
};

const SUMMARY = "Convert a checkpoint between Hugging Face (safetensors), GGUF and llama2.c formats.";

const FORMATS: CheckpointFormat[] = ["hf", "gguf", "llama2c"];
const DTYPES = { f32: "F32", f16: "F16", bf16: "BF16" } as const;
const QUANT_DTYPES = { q8_0: "Q8_0", q6_k: "Q6_K", q5_0: "Q5_0", q4_1: "Q4_1", q4_0: "Q4_0", q4_k: "Q4_K" } as const;

export function run(argv: string[]): Promise<number> {
  return runCommand("convert", () => runOrThrow(argv));
}

function runOrThrow(argv: string[]): number {
  const parsed = parseOptions("convert", SUMMARY, argv, SPECS);
  if (!parsed) return 0;
  const v = parsed.values;
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
  if (typeof v.model !== "string") throw new UsageError("--model is required");
  if (typeof v.out !== "string") throw new UsageError("--out is required");
  const input = v.model;
  const output = v.out;
  if (typeof v.to !== "string" || !FORMATS.includes(v.to as CheckpointFormat)) {
    throw new UsageError(`--to: expected one of ${FORMATS.join(", ")}, got '${String(v.to ?? "")}'`);
  }
  const format = v.to as CheckpointFormat;
  let dtype: "F32" | "F16" | "BF16" | undefined;
  let quant: (typeof QUANT_DTYPES)[keyof typeof QUANT_DTYPES] | undefined;
  if (v.dtype !== undefined) {
    const d = String(v.dtype).toLowerCase();
    if (d in QUANT_DTYPES) {
      if (format !== "gguf") throw new UsageError(`--dtype ${d}: quantized weights can only be written with --to gguf`);
      quant = QUANT_DTYPES[d as keyof typeof QUANT_DTYPES];
    } else if (d in DTYPES) {
      dtype = DTYPES[d as keyof typeof DTYPES];
    } else {
      throw new UsageError(`--dtype: expected f32, f16, bf16, q8_0, q6_k, q5_0, q4_1, q4_0 or q4_k, got '${String(v.dtype)}'`);
    }
  }
  refuseOverInputs(output, "--out", { "--model": input });
  refuseExisting(output, "--out", v.force === true);
  const loaded = loadCheckpointSync(input);
  applyTokenizerFlag(loaded, typeof v.tokenizer === "string" ? v.tokenizer : undefined, format);
  if (quant) checkGGUFExportable(loaded.config, input);
  const ck = quant ? quantizeCheckpoint(loaded, quant) : loaded;
  saveCheckpointSync(output, ck, format, dtype ? { dtype } : {});
  const shown = dtype ?? quant;
  console.log(
    `wrote ${output} (${format}${shown ? `, ${shown}` : ""}, ${parameterCount(ck).toLocaleString("en-US")} parameters) from ${ck.source.format} ${input}`,
  );
  return 0;
}
