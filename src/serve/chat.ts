// POST /v1/chat/completions: answer a conversation, rendered with the model's prompt template
// (src/generate/templates.ts: llama2, alpaca, vicuna).
import type { ServerResponse } from "node:http";
import { encodeChat, type ChatMessage, type Role } from "../generate/index.js";
import type { ServerContext } from "./context.js";
import { ApiError, invalidField } from "./errors.js";
import { finishReason, requestId, runJobs, usage } from "./flow.js";
import { sendJson } from "./http.js";
import { chatLogprobs } from "./logprobs_format.js";
import { describe, optionalBoolean, optionalNumber, rejectUnsupported, type Body } from "./params.js";
import { streamUsage } from "./completions.js";
import type { ChoiceResult } from "./runner.js";
import { completionBudget, jobsFor, readSampling } from "./sampling_request.js";
import { SseWriter } from "./sse.js";

export async function handleChat(ctx: ServerContext, body: Body, res: ServerResponse, signal: AbortSignal): Promise<void> {
  const template = ctx.template;
  if (!template) {
    throw new ApiError(
      400,
      `the model '${ctx.modelName}' has no chat template; start the server with --template (llama2, alpaca or vicuna) or use /v1/completions`,
      "messages",
      "no_chat_template",
    );
  }
  rejectUnsupported(body, {
    tools: (v) => Array.isArray(v) && v.length === 0,
    tool_choice: (v) => v === "none",
    functions: (v) => Array.isArray(v) && v.length === 0,
    response_format: (v) => typeof v === "object" && (v as { type?: unknown }).type === "text",
    logit_bias: (v) => typeof v === "object" && v !== null && Object.keys(v).length === 0,
  });
  const stream = optionalBoolean(body, "stream") ?? false;
  const includeUsage = streamUsage(body);
  const wantLogprobs = optionalBoolean(body, "logprobs") ?? false;
  const topLogprobs = optionalNumber(body, "top_logprobs", { min: 0, max: ctx.limits.maxLogprobs, integer: true });
  if (topLogprobs !== undefined && !wantLogprobs) throw invalidField("top_logprobs", "needs logprobs: true");
  const logprobs = wantLogprobs ? (topLogprobs ?? 0) : null;
  const tokensField =
    body.max_completion_tokens !== undefined && body.max_completion_tokens !== null ? "max_completion_tokens" : "max_tokens";
  const sampling = readSampling(body, ctx, tokensField);

  const messages = readMessages(body.messages);
  let prompt: number[];
  try {
    prompt = encodeChat(ctx.tokenizer, template, messages);
  } catch (err) {
    throw invalidField("messages", (err as Error).message);
  }
  const budget = completionBudget(prompt.length, sampling, Infinity, ctx, tokensField);
  const jobs = jobsFor(prompt, sampling, budget, { logprobs }, template.stop);
  const id = requestId("chatcmpl");
  const created = Math.floor(Date.now() / 1000);
  const base = { id, object: "chat.completion", created, model: ctx.modelName };
  const lp = (r: ChoiceResult) => (logprobs === null ? null : { content: chatLogprobs(ctx.tokenizer, r.details), refusal: null });

  if (!stream) {
    const results = await runJobs(ctx, res, signal, jobs);
    const choices = results.map((r, index) => ({
      index,
      message: { role: "assistant", content: r.text.trimStart() },
      logprobs: lp(r),
      finish_reason: finishReason(r),
    }));
    sendJson(res, 200, { ...base, choices, usage: usage(results, prompt.length * sampling.n) });
    return;
  }

  const sse = new SseWriter(res, ctx.limits.writeTimeoutMs);
  const chunk = { ...base, object: "chat.completion.chunk" };
  // Per choice: has the role chunk been sent; is the reply still in its leading whitespace
  // (templates leave a space before the reply, which the answer should not start with)?
  const state = jobs.map(() => ({ opened: false, leading: true }));
  const open = async (index: number) => {
    if (state[index]!.opened) return;
    state[index]!.opened = true;
    await sse.send({ ...chunk, choices: [{ index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] });
  };
  const results = await runJobs(ctx, res, signal, jobs, {
    onStart: () => sse.open(),
    onChunk: async (index, text, tokens) => {
      await open(index);
      const st = state[index]!;
      if (st.leading) {
        text = text.trimStart();
        if (text !== "") st.leading = false;
      }
      if (text === "" && (logprobs === null || tokens.every((t) => t.eos))) return;
      const chunkLogprobs = logprobs === null ? null : { content: chatLogprobs(ctx.tokenizer, tokens), refusal: null };
      await sse.send({ ...chunk, choices: [{ index, delta: { content: text }, logprobs: chunkLogprobs, finish_reason: null }] });
    },
    onChoiceEnd: async (index, r) => {
      await open(index);
      await sse.send({ ...chunk, choices: [{ index, delta: {}, logprobs: null, finish_reason: finishReason(r) }] });
    },
  });
  if (includeUsage) await sse.send({ ...chunk, choices: [], usage: usage(results, prompt.length * sampling.n) });
  await sse.done();
}

const ROLES: Record<string, Role> = { system: "system", developer: "system", user: "user", assistant: "assistant" };

/** `messages`: [{role, content}], content a string or a list of {type: "text", text} parts. */
export function readMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0)
    throw invalidField("messages", `expected a non-empty list of messages, got ${describe(value)}`);
  return value.map((m, i) => {
    const field = `messages[${i}]`;
    if (m === null || typeof m !== "object" || Array.isArray(m)) throw invalidField(field, `expected an object, got ${describe(m)}`);
    const { role, content } = m as { role?: unknown; content?: unknown };
    const r = typeof role === "string" ? ROLES[role] : undefined;
    if (!r) throw invalidField(`${field}.role`, `expected one of ${Object.keys(ROLES).join(", ")}, got ${describe(role)}`);
    return { role: r, content: readContent(content, `${field}.content`) };
  });
}

function readContent(content: unknown, field: string): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((part, i) => {
        const p = part as { type?: unknown; text?: unknown } | null;
        if (!p || p.type !== "text" || typeof p.text !== "string")
          throw invalidField(`${field}[${i}]`, 'only {type: "text", text} parts are supported');
        return p.text;
      })
      .join("");
  }
  throw invalidField(field, `expected a string or a list of text parts, got ${describe(content)}`);
}
