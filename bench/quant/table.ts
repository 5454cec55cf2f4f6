// The quantization table of a model, measured side by side in one run: for F32 and each dtype,
// the GGUF file's size, the weights' size in memory, perplexity on held-out text and greedy
// decode speed — tsgpt's, and with --llamacpp llama.cpp's on the very same file.
//
//   npx tsx bench/quant/table.ts --model ../shared/models/stories260K/stories260K.bin \
//     --tokenizer ../shared/models/stories260K/tok512.model --data ../shared/testdata/corpus/heldout.txt \
//     --max-tokens 20000 --dtypes f32,q8_0,q4_0,q4_k [--tokens 64] [--rounds 3] [--threads 2] [--llamacpp]
//
// --llamacpp needs node-llama-cpp, found through TSGPT_LLAMACPP_DIR (a folder whose
// node_modules holds it) or TSGPT_NODE_LLAMA_CPP (a module specifier); see llamacpp_runner.ts.
//
// For each dtype:
//   file        the GGUF written as `tsgpt quantize` writes it (quantizeCheckpoint, then
//               writeGGUFCheckpoint); F32 is an f32 GGUF of the same weights. × F32: file size
//               against the F32 file.
//   in memory   bytes of the weights the decoder holds after loading that file as `generate`
//               does (DecoderModel.weightBytes: quantized matrices stay quantized; norms and the
//               rope tables are f32). A line below the table gives the ArrayBuffer memory the
//               process actually grew by while loading each model, as a check.
//   perplexity  on the same windows of --data for every dtype, cut as `tsgpt eval` cuts them
//               (quant/evaluate.ts), each model run from its GGUF file: quantized weights,
//               8-bit activations.
//   tok/s       greedy decode of --tokens new tokens after a short prompt (the prompt itself
//               is not timed), the median of --rounds rounds. Rounds interleave the dtypes and
//               the two engines, and each round starts at a different dtype, so a busy moment
//               on the machine does not favour one of them. Both engines use --threads threads.
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Checkpoint } from "../../src/formats/types.js";
import { loadCheckpoint } from "../../src/formats/load.js";
import { readGGUFCheckpoint, writeGGUFCheckpoint } from "../../src/formats/gguf_llama.js";
import { tokenizerForCheckpoint } from "../../src/formats/gguf_tokenizer.js";
import { type SentencePieceCore, SentencePieceProcessor } from "../../src/tokenizer/index.js";
import { listDataFiles, tokenizeFiles } from "../../src/train/index.js";
import { DecoderModel } from "../../src/generate/decoder.js";
import { getBackend } from "../../src/backend/index.js";
import { cpuFeatures, setNumThreads } from "../../src/backend/native.js";
import { dequantizeCheckpoint, quantizeCheckpoint } from "../../src/quant/checkpoint.js";
import { perplexity, tokenWindows } from "../../src/generate/perplexity.js";
import { quantKernelInfo } from "../../src/quant/kernels.js";
import { QUANT_DTYPES, isQuantDType, type QuantDType } from "../../src/quant/types.js";
import { llamaCppSpecifier, openLlamaCpp, type DecodeRun, type LlamaCppModel } from "./llamacpp_runner.js";
import { tsgptDecode } from "./greedy_decode.js";

const USAGE =
  "usage: npx tsx bench/quant/table.ts --model PATH [--tokenizer M.model] --data FILE [--max-tokens N] [--context N]\n" +
  "         [--dtypes f32,q8_0,q4_0,q4_k] [--tokens 64] [--rounds 3] [--threads 2] [--prompt TEXT] [--llamacpp]";

interface Options {
  model: string;
  tokenizer?: string;
  data: string;
  maxTokens?: number;
  context?: number;
  dtypes: QuantDType[];
  tokens: number;
  rounds: number;
  threads: number;
  prompt: string;
  llamacpp: boolean;
}

/** One dtype's model and its measurements. */
interface Row {
  dtype: "F32" | QuantDType;
  path: string;
  fileBytes: number;
  /** Tensor dtypes in the file, e.g. "31 Q4_0, 11 F32, 5 F16". */
  tensorTypes: string;
  model: DecoderModel;
  /** ArrayBuffer memory the process grew by while loading the model (after a GC). */
  loadedBytes: number;
  ppl?: number;
  ours: DecodeRun[];
  ref?: LlamaCppModel;
  theirs: DecodeRun[];
}

class UsageError extends Error {}

function parseOptions(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        model: { type: "string" },
        tokenizer: { type: "string" },
        data: { type: "string" },
        "max-tokens": { type: "string" },
        context: { type: "string" },
        dtypes: { type: "string", default: "f32,q8_0,q4_0,q4_k" },
        tokens: { type: "string", default: "64" },
        rounds: { type: "string", default: "3" },
        threads: { type: "string", default: "2" },
        prompt: { type: "string", default: "Once upon a time" },
        llamacpp: { type: "boolean", default: false },
        help: { type: "boolean" },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (!values.model) throw new UsageError("--model is required");
  if (!values.data) throw new UsageError("--data is required");
  const int = (name: string, raw: string | undefined, min: number): number | undefined => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${raw}'`);
    return n;
  };
  return {
    model: values.model,
    tokenizer: values.tokenizer,
    data: values.data,
    maxTokens: int("max-tokens", values["max-tokens"], 2),
    context: int("context", values.context, 2),
    dtypes: parseDTypes(values.dtypes!),
    tokens: int("tokens", values.tokens, 1)!,
    rounds: int("rounds", values.rounds, 1)!,
    threads: int("threads", values.threads, 1)!,
    prompt: values.prompt!,
    llamacpp: values.llamacpp === true,
  };
}

/**
 * "f32,q8_0,q4_k" → ["Q8_0", "Q4_K"]: the quantized dtypes (F32, the baseline, is always
 * measured). Any dtype of src/quant/types.ts is accepted, so new ones need no change here.
 */
function parseDTypes(list: string): QuantDType[] {
  const out: QuantDType[] = [];
  for (const raw of list
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const dt = raw.toUpperCase();
    if (dt === "F32") continue;
    if (!isQuantDType(dt))
      throw new UsageError(`--dtypes: unknown dtype '${raw}' (expected f32 or ${QUANT_DTYPES.map((d) => d.toLowerCase()).join(", ")})`);
    if (!out.includes(dt)) out.push(dt);
  }
  return out;
}

/** --tokenizer, else the .model beside the weights, else the vocabulary embedded in a GGUF (as `tsgpt eval`). */
function tokenizerFor(ckpt: Checkpoint, o: Options): SentencePieceCore {
  const path = o.tokenizer ?? ckpt.tokenizerPath;
  if (path?.endsWith(".model")) return SentencePieceProcessor.load(path);
  if (o.tokenizer) throw new UsageError(`--tokenizer ${o.tokenizer}: expected a SentencePiece .model file`);
  if (ckpt.vocab) return tokenizerForCheckpoint(ckpt);
  throw new UsageError(`${o.model}: no SentencePiece tokenizer (.model) beside the weights; pass one with --tokenizer`);
}

// A garbage collection on demand, so that memory measured after loading a model is what it holds.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
async function arrayBufferBytes(): Promise<number> {
  // Freed ArrayBuffers are swept on a background thread: collect and wait until the figure settles.
  let last = -1;
  for (let i = 0; i < 10; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = process.memoryUsage().arrayBuffers;
    if (now === last) break;
    last = now;
  }
  return last;
}

/** "31 Q8_0, 11 F32, 5 F16": how many tensors of each dtype a checkpoint holds. */
function tensorTypes(ckpt: Checkpoint): string {
  const counts = new Map<string, number>();
  for (const t of ckpt.tensors.values()) counts.set(t.dtype, (counts.get(t.dtype) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([t, n]) => `${n} ${t}`)
    .join(", ");
}

/** Writes the GGUF of one dtype as `tsgpt quantize` does (F32: an f32 GGUF of the same weights). */
function writeGGUF(ckpt: Checkpoint, dtype: "F32" | QuantDType, path: string): void {
  if (dtype === "F32") writeGGUFCheckpoint(path, dequantizeCheckpoint(ckpt), { dtype: "F32" });
  else writeGGUFCheckpoint(path, quantizeCheckpoint(ckpt, dtype));
}

/** Writes the GGUF of one dtype and loads it as `tsgpt generate` does. */
async function buildRow(ckpt: Checkpoint, dtype: "F32" | QuantDType, dir: string): Promise<Row> {
  const path = join(dir, `model-${dtype.toLowerCase()}.gguf`);
  writeGGUF(ckpt, dtype, path);
  const before = await arrayBufferBytes();
  let loaded: Checkpoint | null = readGGUFCheckpoint(path);
  const types = tensorTypes(loaded);
  const model = DecoderModel.fromCheckpoint(loaded);
  loaded = null; // the decoder keeps what it needs; the rest is garbage now
  const loadedBytes = (await arrayBufferBytes()) - before;
  return { dtype, path, fileBytes: statSync(path).size, tensorTypes: types, model, loadedBytes, ours: [], theirs: [] };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b),
    m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const mib = (n: number): string => `${(n / 2 ** 20).toFixed(n < 10 * 2 ** 20 ? 2 : 1)} MiB`;
const pct = (x: number, base: number): string => `${x >= base ? "+" : ""}${((x / base - 1) * 100).toFixed(2)} %`;

/** How the run was started, with the script path relative to the working directory. */
function commandLine(argv: string[]): string {
  const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);
  return ["npx", "tsx", relative(process.cwd(), process.argv[1]!), ...argv].map(quote).join(" ");
}

/** node-llama-cpp's version, when it was found through TSGPT_LLAMACPP_DIR. */
function llamaCppVersion(): string {
  const dir = process.env.TSGPT_LLAMACPP_DIR;
  if (!dir) return "";
  try {
    return ` ${(JSON.parse(readFileSync(join(dir, "node_modules", "node-llama-cpp", "package.json"), "utf8")) as { version?: string }).version ?? ""}`;
  } catch {
    return "";
  }
}

function printTable(
  rows: Row[],
  o: Options,
  info: { tokens: number; context: number; pplSeconds: number; prompt: number[]; load: number },
): void {
  const base = rows[0]!;
  const speed = (r: Row): number => median(r.ours.map((d) => d.tokPerS));
  const refSpeed = (r: Row): number | null => (r.theirs.length ? median(r.theirs.map((d) => d.tokPerS)) : null);
  const lines = [
    "| dtype | file | × F32 | in memory | perplexity | vs F32 | tok/s | × F32 speed | llama.cpp tok/s | tsgpt / llama.cpp |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((r) => {
      const ref = refSpeed(r);
      return (
        `| ${r.dtype} | ${mib(r.fileBytes)} | ${(r.fileBytes / base.fileBytes).toFixed(3)} | ${mib(r.model.weightBytes)} | ` +
        `${r.ppl!.toFixed(3)} | ${r === base ? "" : pct(r.ppl!, base.ppl!)} | ${speed(r).toFixed(1)} | ${(speed(r) / speed(base)).toFixed(2)}× | ` +
        `${ref === null ? "–" : ref.toFixed(1)} | ${ref === null ? "–" : `${(speed(r) / ref).toFixed(2)}×`} |`
      );
    }),
  ];
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  console.log(`\n${commandLine(process.argv.slice(2))}\n`);
  console.log(lines.join("\n"));
  console.log(
    `\nperplexity: ${info.tokens} tokens of ${o.data}, windows of ${info.context} (${info.pplSeconds.toFixed(1)} s for all dtypes)`,
  );
  console.log(
    `decode: ${o.tokens} greedy tokens after a ${info.prompt.length}-token prompt (${JSON.stringify(o.prompt)}), median of ${o.rounds} rounds, ${o.threads} threads`,
  );
  // Other work on the machine matters: llama.cpp's threads spin at barriers, so with more threads than free cores it slows down sharply.
  console.log(
    `machine: ${cpu}, ${availableParallelism()} hardware threads, load average ${info.load.toFixed(2)} before the run; node ${process.version}; tsgpt backend ${getBackend().name} (SIMD ${cpuFeatures()}), quantized kernels ${quantKernelInfo().kernel}` +
      (o.llamacpp ? `; llama.cpp via node-llama-cpp${llamaCppVersion()}, CPU` : ""),
  );
  console.log(`tensors in each file: ${rows.map((r) => `${r.dtype}: ${r.tensorTypes}`).join("; ")}`);
  console.log(
    `ArrayBuffer memory grown by loading each model: ${rows.map((r) => `${r.dtype} ${mib(r.loadedBytes)}`).join(", ")}; process RSS now ${mib(process.memoryUsage().rss)}`,
  );
  if (o.llamacpp) {
    // Same file, same prompt, greedy on both sides: the texts should agree (llamacpp.ts checks the text itself).
    const agree = rows.map((r) => {
      const a = r.ours.at(-1)!.ids,
        b = r.theirs.at(-1)!.ids;
      let n = 0;
      while (n < a.length && a[n] === b[n]) n++;
      return `${r.dtype} ${n}/${a.length}`;
    });
    console.log(`greedy tokens equal to llama.cpp's (leading run): ${agree.join(", ")}`);
  }
}

async function main(argv: string[]): Promise<void> {
  const o = parseOptions(argv);
  const load = loadavg()[0]!;
  const specifier = o.llamacpp ? llamaCppSpecifier() : null;
  if (o.llamacpp && !specifier)
    throw new UsageError("--llamacpp needs TSGPT_LLAMACPP_DIR (a folder whose node_modules holds node-llama-cpp) or TSGPT_NODE_LLAMA_CPP");
  // The thread count the native kernels read at load, and set again in case they are loaded already.
  process.env.TSGPT_NUM_THREADS = String(o.threads);
  if (getBackend().name !== "native") throw new Error("this benchmark needs the native backend (npm install builds it)");
  setNumThreads(o.threads);
  const log = (msg: string): void => void process.stderr.write(`${msg}\n`);

  const ckpt = await loadCheckpoint(o.model);
  if (ckpt.config.model_type !== "llama")
    throw new Error(`${o.model}: GGUF export supports Llama models only, this is ${ckpt.config.model_type}`);
  const sp = tokenizerFor(ckpt, o);
  // The GGUF files carry the vocabulary (llama.cpp needs it): from --tokenizer when the checkpoint has none of its own.
  if (!ckpt.vocab && !ckpt.tokenizerPath && o.tokenizer) ckpt.tokenizerPath = o.tokenizer;
  const contextMax = ckpt.config.max_position_embeddings;
  const context = o.context ?? contextMax;
  if (context > contextMax) throw new UsageError(`--context ${context} exceeds the model's context of ${contextMax}`);
  const windows = tokenWindows(tokenizeFiles(listDataFiles(o.data), sp), context, o.maxTokens);
  if (windows.length === 0) throw new Error(`${o.data}: the text has fewer than 2 tokens; at least 2 are needed to measure a loss`);
  const prompt = [ckpt.config.bos_token_id ?? 1, ...sp.encodeAsIds(o.prompt)];
  if (prompt.length + o.tokens + 1 > contextMax)
    throw new UsageError(
      `--tokens ${o.tokens}: the prompt (${prompt.length} tokens) and the decoded tokens do not fit the model's context of ${contextMax}`,
    );

  const dir = mkdtempSync(join(tmpdir(), "tsgpt-quant-table-"));
  const llamaCpp = specifier ? await openLlamaCpp(specifier, { threads: o.threads, contextSize: contextMax }) : null;
  try {
    const rows: Row[] = [];
    for (const dtype of ["F32", ...o.dtypes] as const) {
      log(`${dtype}: quantizing, writing and loading the GGUF`);
      const row = await buildRow(ckpt, dtype, dir);
      if (llamaCpp) row.ref = await llamaCpp.load(row.path);
      rows.push(row);
    }
    const t0 = performance.now();
    for (const r of rows) {
      const t = performance.now();
      r.ppl = perplexity(r.model, windows).perplexity;
      log(`${r.dtype}: perplexity ${r.ppl.toFixed(3)} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
    }
    const pplSeconds = (performance.now() - t0) / 1000;
    for (let round = 0; round < o.rounds; round++) {
      for (let i = 0; i < rows.length; i++) {
        const r = rows[(round + i) % rows.length]!; // each round starts at another dtype
        const ours = (): void => void r.ours.push(tsgptDecode(r.model, prompt, o.tokens));
        const theirs = async (): Promise<void> => void (r.ref && r.theirs.push(await r.ref.decode(prompt, o.tokens)));
        if (round % 2 === 0) {
          ours();
          await theirs();
        } else {
          await theirs();
          ours();
        } // and the engines take turns going first
      }
      log(
        `decode round ${round + 1}/${o.rounds}: ${rows.map((r) => `${r.dtype} ${r.ours.at(-1)!.tokPerS.toFixed(0)}${r.ref ? `/${r.theirs.at(-1)!.tokPerS.toFixed(0)}` : ""}`).join(", ")} tok/s`,
      );
    }
    printTable(rows, o, { tokens: windows.reduce((s, w) => s + w.length - 1, 0), context, pplSeconds, prompt, load });
  } finally {
    await llamaCpp?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`table: ${err.message}\n${USAGE}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`table: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
