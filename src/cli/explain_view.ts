// --explain: for every generated token, the top candidates with their probability before and
// after temperature, the probability the draw used, and which filter removed each; so a
// learner sees why this token was chosen. Built on the library's explainStep, fed the raw
// logits that onToken reports, with the same penalties context the sampler saw.
import {
  explainStep,
  type ExplainedStep,
  type GenerateOptions,
  type GeneratorModel,
  type TextGenerator,
  type TokenEvent,
} from "../generate/index.js";

export interface ExplainedToken extends ExplainedStep {
  step: number;
  token: number;
}

const CUT_NAMES = { topK: "top-k", topP: "top-p", minP: "min-p", greedy: "greedy (not the argmax)" } as const;

/** An onToken hook that explains the tokens of row 0, and the steps explained so far. */
export function explainer(
  gen: TextGenerator<GeneratorModel>,
  prompt: string | readonly number[],
  options: GenerateOptions,
  topN: number,
): { onToken: (e: TokenEvent) => void; steps: ExplainedToken[] } {
  const tok = gen.tokenizer;
  const addBos = options.addBos ?? tok.bosId >= 0;
  // The prompt as generate() sees it: a string gets BOS and is encoded, ids are used as given.
  const promptIds = typeof prompt === "string" ? [...(addBos ? [tok.bosId] : []), ...tok.encodeAsIds(prompt)] : [...prompt];
  const generatedIds: number[] = [];
  const steps: ExplainedToken[] = [];
  const onToken = (e: TokenEvent) => {
    if (e.row !== 0) return;
    const explained = explainStep(e.logits, { ...options, previousTokens: { promptIds, generatedIds: [...generatedIds] } }, topN);
    steps.push({ step: e.step, token: e.token, ...explained });
    generatedIds.push(e.token);
  };
  return { onToken, steps };
}

/** The text a learner reads for one step. */
export function formatExplained(s: ExplainedToken, piece: (id: number) => string): string {
  const lines = [
    `step ${s.step}: chose ${piece(s.token)}${s.greedy ? " (greedy: the most likely token)" : ""}; ${s.keptCount} tokens left after the filters`,
  ];
  lines.push("  token              p(model)  p(after penalties+temperature)  p(draw)  removed by");
  for (const c of s.candidates) {
    const mark = c.token === s.token ? "→" : " ";
    const cut = c.cutBy === null ? "" : CUT_NAMES[c.cutBy];
    lines.push(
      `${mark} ${piece(c.token).padEnd(18)} ${c.probability.toFixed(4).padStart(8)}  ${c.probabilityAfterTemperature.toFixed(4).padStart(30)}  ${c.finalProbability.toFixed(4).padStart(7)}  ${cut}`,
    );
  }
  return lines.join("\n");
}
