// The flags that choose the model, shared by `generate`, `chat` and `serve`: --model, --adapter,
// --tokenizer, and how a chat template is picked (--template, else the checkpoint's own).
import { UsageError, type OptionSpecs } from "./args.js";
import { TextGenerator } from "../generate/text_generator.js";
import { getTemplate, templateForCheckpoint, type PromptTemplate } from "../generate/templates.js";

export const MODEL_SPECS: OptionSpecs = {
  model: { type: "string", arg: "PATH", help: "checkpoint: Hugging Face directory, llama2.c .bin or GGUF" },
  adapter: { type: "string", arg: "DIR", help: "PEFT LoRA adapter directory, merged into the weights at load" },
  tokenizer: {
    type: "string",
    arg: "PATH",
    help: "SentencePiece .model, tokenizer.json or a folder with one (default: the one beside the checkpoint)",
  },
};

/** The --model path; a UsageError when it is missing. */
export function modelFlag(v: Record<string, unknown>): string {
  if (typeof v.model !== "string") throw new UsageError("--model is required");
  return v.model;
}

/** Loads --model with its --tokenizer (or the one beside it) and merges --adapter into it. */
export function loadGenerator(v: Record<string, unknown>): Promise<TextGenerator> {
  return TextGenerator.load(modelFlag(v), {
    tokenizerPath: typeof v.tokenizer === "string" ? v.tokenizer : undefined,
    adapter: typeof v.adapter === "string" ? v.adapter : undefined,
  });
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
