// `tsgpt merge`: adds a LoRA adapter into its base model's weights and writes a plain Hugging
// Face directory, which loads anywhere without PEFT (W ← W + alpha/r · B·A per adapted layer).
//
//   tsgpt merge --model stories260K.bin --adapter my-adapter --out stories-merged
import { resolve } from "node:path";
import { parseOptions, UsageError, type OptionSpecs, runCommand } from "./args.js";
import { refuseExisting, refuseOverInputs } from "./outputs.js";
import { loadCheckpointSync } from "../formats/load.js";
import { saveHFCheckpoint } from "../formats/hf.js";
import { mergeAdapter, readAdapter } from "../formats/peft.js";

const SPECS: OptionSpecs = {
  model: { type: "string", arg: "PATH", help: "base model: Hugging Face directory, llama2.c .bin or GGUF" },
  base: { type: "string", aliasOf: "model", help: "" },
  adapter: { type: "string", arg: "DIR", help: "PEFT LoRA adapter directory (adapter_config.json, adapter_model.safetensors)" },
  out: { type: "string", arg: "DIR", help: "output Hugging Face directory" },
  output: { type: "string", aliasOf: "out", help: "" },
  force: { type: "boolean", help: "overwrite an existing --out" },
  dtype: { type: "string", arg: "T", help: "store the weights as F32, F16 or BF16", default: "F32" },
};

const SUMMARY = "Merge a LoRA adapter into its base model and write a Hugging Face checkpoint directory.";

export function run(argv: string[]): Promise<number> {
  return runCommand("merge", async () => {
    const parsed = parseOptions("merge", SUMMARY, argv, SPECS);
    if (!parsed) return 0;
    const v = parsed.values;
    for (const name of ["model", "adapter", "out"]) {
      if (typeof v[name] !== "string" || v[name] === "") throw new UsageError(`--${name} is required`);
    }
    const dtype = String(v.dtype).toUpperCase();
    if (dtype !== "F32" && dtype !== "F16" && dtype !== "BF16")
      throw new UsageError(`--dtype: expected F32, F16 or BF16, got '${v.dtype}'`);
    refuseOverInputs(v.out as string, "--out", { "--model": v.model as string, "--adapter": v.adapter as string });
    refuseExisting(v.out as string, "--out", v.force === true);
    const base = loadCheckpointSync(resolve(v.model as string));
    const adapter = readAdapter(resolve(v.adapter as string));
    mergeAdapter(base, adapter);
    const out = resolve(v.out as string);
    saveHFCheckpoint(out, base, { dtype });
    const c = adapter.config;
    console.error(`merged ${adapter.layers.size} layers (r ${c.r}, alpha ${c.loraAlpha}) of ${v.adapter} into ${v.model} → ${out}`);
    return 0;
  });
}
