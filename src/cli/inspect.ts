// `tsgpt inspect PATH`: what a checkpoint holds — format, architecture, parameter count, dtypes,
// every tensor (name, dtype, shape) and its tokenizer.
//   tsgpt inspect ../shared/models/stories260K/stories260K.bin
//   tsgpt inspect out/my-model --json
import { architectureOf } from "../arch/index.js";
import { parseOptions, UsageError, type OptionSpecs, runCommand } from "./args.js";
import { loadCheckpointSync, parameterCount } from "../formats/load.js";
import { readVocab } from "../formats/vocab.js";
import type { Checkpoint } from "../formats/types.js";

const SPECS: OptionSpecs = {
  json: { type: "boolean", help: "print one JSON object instead of text" },
  "no-tensors": { type: "boolean", help: "leave out the table of tensors" },
};

const SUMMARY = "Describe a checkpoint (Hugging Face directory, GGUF file or llama2.c .bin): architecture, parameters, tensors, tokenizer.";

export function run(argv: string[]): Promise<number> {
  return runCommand("inspect", () => runOrThrow(argv));
}

interface TokenizerSummary {
  path?: string;
  embedded: boolean;
  vocabSize?: number;
  error?: string;
}

function tokenizerSummary(ck: Checkpoint): TokenizerSummary | null {
  if (ck.vocab) return { embedded: true, vocabSize: ck.vocab.tokens.length };
  if (!ck.tokenizerPath) return null;
  try {
    return { path: ck.tokenizerPath, embedded: false, vocabSize: readVocab(ck.tokenizerPath).tokens.length };
  } catch (err) {
    return { path: ck.tokenizerPath, embedded: false, error: (err as Error).message };
  }
}

/** A plain-text description of a checkpoint. */
export function describeCheckpoint(ck: Checkpoint, withTensors = true): string {
  const arch = architectureOf(ck.config).hfClass;
  const dtypes = new Map<string, number>();
  for (const t of ck.tensors.values()) dtypes.set(t.dtype, (dtypes.get(t.dtype) ?? 0) + 1);
  const lines = [
    `path:         ${ck.source.path}`,
    `format:       ${ck.source.format}`,
    `architecture: ${arch}`,
    `parameters:   ${parameterCount(ck).toLocaleString("en-US")}`,
    `dtypes:       ${[...dtypes].map(([d, n]) => `${d} (${n} tensors)`).join(", ")}`,
    "config:",
    ...Object.entries(ck.config).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`),
  ];
  if (ck.generation) lines.push(`generation:   ${JSON.stringify(ck.generation)}`);
  const tok = tokenizerSummary(ck);
  if (!tok) lines.push("tokenizer:    none found");
  else if (tok.embedded) lines.push(`tokenizer:    embedded in the file (${tok.vocabSize} tokens)`);
  else lines.push(`tokenizer:    ${tok.path} (${tok.error ? `unreadable: ${tok.error}` : `${tok.vocabSize} tokens`})`);
  if (withTensors) {
    const rows = [...ck.tensors].map(([name, t]) => [name, t.dtype, `[${t.shape.join(", ")}]`]);
    const w0 = Math.max(4, ...rows.map((r) => r[0]!.length));
    const w1 = Math.max(5, ...rows.map((r) => r[1]!.length));
    lines.push("", `${"name".padEnd(w0)}  ${"dtype".padEnd(w1)}  shape`);
    for (const [n, d, s] of rows) lines.push(`${n!.padEnd(w0)}  ${d!.padEnd(w1)}  ${s}`);
  }
  return lines.join("\n");
}

function runOrThrow(argv: string[]): number {
  const parsed = parseOptions("inspect", SUMMARY, argv, SPECS, "PATH");
  if (!parsed) return 0;
  if (parsed.positionals.length !== 1) throw new UsageError("expected exactly one PATH (a checkpoint directory or file)");
  const ck = loadCheckpointSync(parsed.positionals[0]!);
  const withTensors = parsed.values["no-tensors"] !== true;
  if (parsed.values.json) {
    const out = {
      path: ck.source.path,
      format: ck.source.format,
      architecture: architectureOf(ck.config).hfClass,
      parameters: parameterCount(ck),
      config: ck.config,
      generation: ck.generation ?? null,
      tokenizer: tokenizerSummary(ck),
      ...(withTensors ? { tensors: [...ck.tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })) } : {}),
    };
    console.log(JSON.stringify(out, null, 2));
  } else {
    console.log(describeCheckpoint(ck, withTensors));
  }
  return 0;
}
