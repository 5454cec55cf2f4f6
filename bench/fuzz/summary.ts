// Counts of a fuzz run per format: how many runs loaded, were refused cleanly, or went wrong.
import type { CaseResult } from "./targets.js";
import type { FuzzFormat } from "./seeds.js";

export interface FormatSummary {
  format: FuzzFormat;
  cases: number;
  /** Loader runs: one per case and backend (one per case for the backend-free formats). */
  runs: number;
  ok: number;
  clean: number;
  bad: number;
  crash: number;
  hang: number;
}

export function summarize(results: readonly CaseResult[], formats: readonly FuzzFormat[]): FormatSummary[] {
  return formats.map((format) => {
    const s: FormatSummary = { format, cases: 0, runs: 0, ok: 0, clean: 0, bad: 0, crash: 0, hang: 0 };
    for (const r of results) {
      if (r.format !== format) continue;
      s.cases++;
      for (const x of r.results) {
        s.runs++;
        if (x.outcome === "ok") s.ok++;
        else if (x.outcome === "clean") s.clean++;
        else if (x.outcome === "bad-error") s.bad++;
        else if (x.outcome === "crash") s.crash++;
        else s.hang++;
      }
    }
    return s;
  });
}
