// The flags that choose the model, shared by `generate`, `chat` and `serve`: --model, --adapter,
// --tokenizer, --device, and how a chat template is picked (--template, else the checkpoint's own).
// --device webgpu runs the GPU decoder (weights and KV cache in GPU memory, WebGPUDecoder)
// rather than switching the tensor backend: decoding needs no tensor ops.
import { UsageError, type OptionSpecs } from "./args.js";
import { TextGenerator, type GeneratorModel } from "../generate/text_generator.js";
import { WebGPUDecoder } from "../generate/webgpu_decoder.js";
import { getBackend } from "../backend/index.js";
import { applyDevice, deviceFlag, deviceOption } from "./device_option.js";
import { getTemplate, templateForCheckpoint, type PromptTemplate } from "../generate/templates.js";

export const MODEL_SPECS: OptionSpecs = {
  model: { type: "string", arg: "PATH", help: "checkpoint: Hugging Face directory, llama2.c .bin or GGUF" },
  adapter: { type: "string", arg: "DIR", help: "PEFT LoRA adapter directory, merged into the weights at load" },
  tokenizer: {
    type: "string",
    arg: "PATH",
    help: "SentencePiece .model, tokenizer.json or a folder with one (default: the one beside the checkpoint)",
  },
  device: deviceOption,
};

/** The --model path; a UsageError when it is missing. */
export function modelFlag(v: Record<string, unknown>): string {
  if (typeof v.model !== "string") throw new UsageError("--model is required");
  return v.model;
}

/**
 * Loads --model with its --tokenizer (or the one beside it), merges --adapter into it, and puts it
 * on --device: the GPU decoder for webgpu (an error naming the reason when no adapter is found),
 * else the CPU decoder on the backend the flag names.
 */
export async function loadGenerator(v: Record<string, unknown>): Promise<TextGenerator<GeneratorModel>> {
  const device = deviceFlag(v.device);
  const options = {
    tokenizerPath: typeof v.tokenizer === "string" ? v.tokenizer : undefined,
    adapter: typeof v.adapter === "string" ? v.adapter : undefined,
  };
  if (device === "webgpu") return TextGenerator.load(modelFlag(v), { ...options, device: "webgpu" });
  await applyDevice(device);
  return TextGenerator.load(modelFlag(v), options);
}

/** Where the model runs, for --verbose and the server's banner: "cpu (native backend)" or "webgpu (adapter, formats, MB)". */
export function describeDevice(gen: TextGenerator<GeneratorModel>): string {
  const m = gen.model;
  if (m instanceof WebGPUDecoder)
    return `webgpu (${m.adapterName}; weights ${m.weightFormats}, ${(m.weightBytes / 1e6).toFixed(1)} MB in GPU memory)`;
  return `cpu (${getBackend().name} backend)`;
}

/**
 * The template named by --template, else the one the checkpoint declares: the loaded tokenizer's
 * own chat_template (tokenizer.json), else the tokenizer_config.json beside the weights.
 */
export function templateFromFlags(v: Record<string, unknown>, tokenizer?: object): PromptTemplate | undefined {
  if (typeof v.template !== "string") return templateForCheckpoint(modelFlag(v), tokenizer);
  try {
    return getTemplate(v.template);
  } catch (err) {
    throw new UsageError(`--template: ${(err as Error).message}`);
  }
}
