// Sampling: the processors' definitions, checked by the frequencies of 100,000 seeded draws.
//
// `reference` below recomputes the expected distribution straight from the textbook
// definitions (plain number arrays, no shared code with src/), and a chi-square test compares
// it with what sampleToken actually draws. The seed is fixed, so the test is deterministic;
// the threshold (p = 1e-4) is loose enough for a correct sampler and far too tight for a
// wrong processor order or an off-by-one cut (checked below: those distributions are rejected).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  sampleToken,
  resolveSamplingOptions,
  argmax,
  repetitionPenalty,
  topK,
  topP,
  minP,
  processLogits,
  type SamplingOptions,
} from "../../src/generate/sampling.js";
import { Generator } from "../../src/tensor/random.js";
import { explainStep } from "../../src/generate/explain.js";

const DRAWS = 100_000;

// ----- reference definitions -----------------------------------------------------------------

function softmaxRef(xs: number[]): number[] {
  const m = Math.max(...xs);
  if (m === -Infinity) return xs.map(() => 0);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

interface RefOptions {
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  order?: "right" | "topPFirst";
  topPOffByOne?: boolean;
}

/** Expected sampling distribution, from the definitions. */
function reference(logits: number[], o: RefOptions): number[] {
  const t = o.temperature ?? 1;
  let alive = logits.map((l) => l > -Infinity);
  const tempered = () => logits.map((l) => l / t);
  const probsOf = (xs: number[]) => softmaxRef(xs.map((x, i) => (alive[i] ? x : -Infinity)));
  const keepTopP = (xs: number[], p: number) => {
    const pr = probsOf(xs);
    const ids = pr
      .map((_, i) => i)
      .filter((i) => alive[i])
      .sort((a, b) => pr[b]! - pr[a]!);
    let cum = 0;
    let n = 0;
    while (n < ids.length && cum < p) cum += pr[ids[n++]!]!;
    if (o.topPOffByOne) n = Math.min(ids.length, n + 1);
    const cutoff = pr[ids[n - 1]!]!;
    alive = alive.map((a, i) => a && pr[i]! >= cutoff);
  };
  if (o.order === "topPFirst" && o.topP !== undefined) keepTopP(logits, o.topP);
  const xs = tempered();
  if (o.topK !== undefined && o.topK > 0) {
    const sorted = xs.filter((_, i) => alive[i]).sort((a, b) => b - a);
    const kth = sorted[Math.min(o.topK, sorted.length) - 1]!;
    alive = alive.map((a, i) => a && xs[i]! >= kth);
  }
  if (o.order !== "topPFirst" && o.topP !== undefined) keepTopP(xs, o.topP);
  if (o.minP !== undefined) {
    const pr = probsOf(xs);
    const best = Math.max(...pr);
    alive = alive.map((a, i) => a && pr[i]! >= o.minP! * best);
  }
  return probsOf(xs);
}

// ----- chi-square ----------------------------------------------------------------------------

/** Upper critical value of chi-square with df degrees of freedom at p = 1e-4 (Wilson-Hilferty). */
function chiSquareCritical(df: number): number {
  const z = 3.719; // standard normal upper 1e-4 quantile
  const a = 2 / (9 * df);
  return df * Math.pow(1 - a + z * Math.sqrt(a), 3);
}

/** Chi-square statistic; Infinity when a token with expected probability 0 was drawn. */
function chiSquare(counts: number[], expected: number[]): { stat: number; df: number } {
  let stat = 0;
  let df = -1;
  for (let i = 0; i < counts.length; i++) {
    const e = expected[i]! * DRAWS;
    if (e === 0) {
      if (counts[i]! > 0) return { stat: Infinity, df: Math.max(1, df) };
      continue;
    }
    df++;
    stat += (counts[i]! - e) ** 2 / e;
  }
  return { stat, df: Math.max(1, df) };
}

function drawCounts(logits: number[], options: SamplingOptions, seed = 1234): number[] {
  const o = resolveSamplingOptions(options);
  const rng = new Generator(seed);
  const l = Float32Array.from(logits);
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < DRAWS; i++) counts[sampleToken(l, o, rng)]!++;
  return counts;
}

function assertMatches(counts: number[], expected: number[], label: string): void {
  const { stat, df } = chiSquare(counts, expected);
  if (df === 1 && expected.filter((p) => p > 0).length === 1) {
    // A single possible token: every draw must be it.
    const only = expected.findIndex((p) => p > 0);
    assert.equal(counts[only], DRAWS, `${label}: all draws should be token ${only}`);
    return;
  }
  assert.ok(
    stat < chiSquareCritical(df),
    `${label}: chi2 = ${stat.toFixed(1)} >= ${chiSquareCritical(df).toFixed(1)} (df ${df}); counts ${counts}`,
  );
}

function assertRejects(counts: number[], expected: number[], label: string): void {
  const { stat, df } = chiSquare(counts, expected);
  assert.ok(stat > 10 * chiSquareCritical(df), `${label} should be clearly rejected, chi2 = ${stat}`);
}

// ----- tests ---------------------------------------------------------------------------------

const L = [2.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0, -Infinity, 2.6, 0.2];

describe("sampling distribution (chi-square, 100k seeded draws)", () => {
  const cases: [string, SamplingOptions, RefOptions][] = [
    ["plain softmax", {}, {}],
    ["temperature 0.5", { temperature: 0.5 }, { temperature: 0.5 }],
    ["temperature 2", { temperature: 2 }, { temperature: 2 }],
    ["top-k 3", { topK: 3 }, { topK: 3 }],
    ["top-k 5, temperature 1.5", { topK: 5, temperature: 1.5 }, { topK: 5, temperature: 1.5 }],
    ["top-p 0.8", { topP: 0.8 }, { topP: 0.8 }],
    ["top-p 0.7, temperature 2", { topP: 0.7, temperature: 2 }, { topP: 0.7, temperature: 2 }],
    ["top-p 1 (off)", { topP: 1 }, { topP: 1 }],
    ["min-p 0.2, temperature 1.5", { minP: 0.2, temperature: 1.5 }, { minP: 0.2, temperature: 1.5 }],
    [
      "top-k 6, top-p 0.9, min-p 0.1, temperature 0.8",
      { topK: 6, topP: 0.9, minP: 0.1, temperature: 0.8 },
      { topK: 6, topP: 0.9, minP: 0.1, temperature: 0.8 },
    ],
  ];
  for (const [label, opts, ref] of cases) {
    test(label, () => assertMatches(drawCounts(L, opts), reference(L, ref), label));
  }

  test("top-k 1 always gives the argmax", () => {
    const counts = drawCounts(L, { topK: 1, temperature: 3 });
    assert.equal(counts[8], DRAWS);
  });

  test("top-p tiny keeps exactly the most likely token", () => {
    const counts = drawCounts(L, { topP: 1e-6 });
    assert.equal(counts[8], DRAWS);
  });

  test("ties: top-k keeps every token tied with the k-th, uniformly", () => {
    const tied = [1, 3, 3, 3, 0, 2];
    const counts = drawCounts(tied, { topK: 2 });
    assertMatches(counts, [0, 1 / 3, 1 / 3, 1 / 3, 0, 0], "top-k ties");
  });

  test("ties: top-p keeps the tied tokens at the boundary", () => {
    const tied = [0, 2, 2, 1];
    const counts = drawCounts(tied, { topP: 0.3 });
    assertMatches(counts, [0, 0.5, 0.5, 0], "top-p ties");
  });

  test("-Infinity logits are never drawn", () => {
    const l = [-Infinity, 0, -Infinity, 0.5, -Infinity];
    const counts = drawCounts(l, { temperature: 5 });
    assertMatches(counts, reference(l, { temperature: 5 }), "-inf");
    assert.equal(counts[0]! + counts[2]! + counts[4]!, 0);
  });

  test("temperature near 0 puts all mass on the max, split evenly between ties", () => {
    assert.equal(drawCounts(L, { temperature: 1e-4 })[8], DRAWS);
    const counts = drawCounts([1, 5, 2, 5], { temperature: 1e-4 });
    assertMatches(counts, [0, 0.5, 0, 0.5], "near-zero temperature ties");
  });

  test("the test has power: wrong order or an off-by-one top-p is rejected", () => {
    const counts = drawCounts(L, { topP: 0.7, temperature: 2 });
    assertRejects(counts, reference(L, { topP: 0.7, temperature: 2, order: "topPFirst" }), "top-p before temperature");
    assertRejects(counts, reference(L, { topP: 0.7, temperature: 2, topPOffByOne: true }), "top-p keeping one extra token");
    const minCounts = drawCounts(L, { minP: 0.2, temperature: 1.5 });
    assertRejects(minCounts, reference(L, { minP: 0.2, temperature: 1 }), "min-p before temperature");
  });
});

describe("sampling rules", () => {
  test("same seed, same draws; different seed, different draws", () => {
    const o = resolveSamplingOptions({ temperature: 1 });
    const l = Float32Array.from(L);
    const run = (seed: number) => {
      const r = new Generator(seed);
      return Array.from({ length: 50 }, () => sampleToken(l, o, r));
    };
    assert.deepEqual(run(7), run(7));
    assert.notDeepEqual(run(7), run(8));
  });

  test("greedy: temperature 0 or doSample false takes the first maximum", () => {
    const l = Float32Array.from([0, 3, 1, 3]);
    const r = new Generator(1);
    assert.equal(sampleToken(l, resolveSamplingOptions({ temperature: 0 }), r), 1);
    assert.equal(sampleToken(l, resolveSamplingOptions({ doSample: false, temperature: 5 }), r), 1);
    assert.equal(argmax(l), 1);
  });

  test("repetition penalty divides positive and multiplies negative logits, once per token", () => {
    const l = Float32Array.from([2, -2, 1, 4]);
    repetitionPenalty(l, [0, 1, 0, 1], 2);
    assert.deepEqual(Array.from(l), [1, -4, 1, 4]);
    // Greedy honours it: token 3 was seen, and 4 / 5 = 0.8 falls below token 2's logit 1.
    const r = new Generator(1);
    assert.equal(sampleToken(Float32Array.from([0, 0, 1, 4]), resolveSamplingOptions({ temperature: 0, repetitionPenalty: 5 }), r, [3]), 2);
  });

  test("processors keep at least one token", () => {
    const l = Float32Array.from([1, 2, 3]);
    topK(l, 1);
    assert.deepEqual(Array.from(l), [-Infinity, -Infinity, 3]);
    const m = Float32Array.from([1, 2, 3]);
    minP(m, 1);
    assert.deepEqual(Array.from(m), [-Infinity, -Infinity, 3]);
    const p = Float32Array.from([1, 2, 3]);
    topP(p, 1e-9);
    assert.deepEqual(Array.from(p), [-Infinity, -Infinity, 3]);
  });

  test("processLogits does not modify its input", () => {
    const l = Float32Array.from(L);
    processLogits(l, resolveSamplingOptions({ topK: 2, temperature: 0.5 }));
    assert.deepEqual(Array.from(l), Array.from(Float32Array.from(L)));
  });

  test("bad options are refused with the option's name", () => {
    assert.throws(() => resolveSamplingOptions({ topP: 0 }), /topP/);
    assert.throws(() => resolveSamplingOptions({ topP: 1.5 }), /topP/);
    assert.throws(() => resolveSamplingOptions({ temperature: -1 }), /temperature/);
    assert.throws(() => resolveSamplingOptions({ topK: 1.5 }), /topK/);
    assert.throws(() => argmax(Float32Array.from([-Infinity, -Infinity])), /every logit/);
  });
});

describe("explainStep", () => {
  test("reports probabilities before/after temperature and which cut removed each token", () => {
    const e = explainStep(Float32Array.from(L), { temperature: 2, topK: 6, topP: 0.8, minP: 0.3 }, 10);
    assert.equal(e.candidates.length, 10);
    assert.equal(e.candidates[0]!.token, 8);
    const raw = softmaxRef(L);
    const hot = softmaxRef(L.map((x) => x / 2));
    const final = reference(L, { temperature: 2, topK: 6, topP: 0.8, minP: 0.3 });
    for (const c of e.candidates) {
      assert.ok(Math.abs(c.probability - raw[c.token]!) < 1e-6);
      assert.ok(Math.abs(c.probabilityAfterTemperature - hot[c.token]!) < 1e-6);
      assert.ok(Math.abs(c.finalProbability - final[c.token]!) < 1e-6);
      if (c.logit > -Infinity) assert.equal(c.cutBy === null, final[c.token]! > 0, `token ${c.token}`);
    }
    // Top-k 6 of the 9 finite tokens cuts 3.
    assert.equal(e.removed.topK, 3);
    assert.equal(e.keptCount, final.filter((p) => p > 0).length);
    assert.ok(e.candidates.some((c) => c.cutBy === "topP") || e.candidates.some((c) => c.cutBy === "minP"));
    const sum = e.candidates.reduce((s, c) => s + c.finalProbability, 0);
    assert.ok(Math.abs(sum - 1) < 1e-6);
  });

  test("greedy explains that only the argmax is left", () => {
    const e = explainStep(Float32Array.from(L), { temperature: 0 }, 3);
    assert.equal(e.greedy, true);
    assert.equal(e.keptCount, 1);
    assert.deepEqual(
      e.candidates.map((c) => c.cutBy),
      [null, "greedy", "greedy"],
    );
  });
});

describe("tiny temperatures", () => {
  // Logits divided by T = 1e-39 overflow to ±Infinity; softmax of that is NaN and used to pick
  // the least likely token. Below MIN_TEMPERATURE the sampler takes the argmax instead.
  const logits = Float32Array.from([1, 5, 2, -3]);
  for (const t of [1e-39, 1e-30, 1e-6]) {
    test(`temperature ${t} picks the argmax on every draw`, () => {
      const rng = new Generator(7);
      const options = resolveSamplingOptions({ temperature: t });
      for (let i = 0; i < 200; i++) assert.equal(sampleToken(logits, options, rng), 1);
    });
  }

  test("a logit that overflows to +Infinity gets all the probability, never NaN", () => {
    const rng = new Generator(3);
    const options = resolveSamplingOptions({ temperature: 1 });
    const huge = Float32Array.from([0, Infinity, 1, Infinity]);
    for (let i = 0; i < 100; i++) assert.ok([1, 3].includes(sampleToken(huge, options, rng)));
  });
});
