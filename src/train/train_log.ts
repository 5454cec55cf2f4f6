// The machine-readable training log: one JSON object per line (JSONL), appended as training
// goes, so a crashed run keeps what it logged and other tools can follow it (`tail -f`).
//
//   {"type":"train","step":10,"loss":2.31,"lr":0.0009,"grad_norm":0.8,"tokens":30720,"tokens_per_sec":5120,"elapsed_s":6.0}
//   {"type":"eval","step":250,"val_loss":1.98,"val_ppl":7.24}
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { writeBytesAtomic } from "../util/atomic_write.js";

export interface TrainRecord {
  type: "train";
  step: number;
  loss: number;
  lr: number;
  grad_norm: number;
  tokens: number;
  tokens_per_sec: number;
  elapsed_s: number;
}

export interface EvalRecord {
  type: "eval";
  step: number;
  val_loss: number;
  val_ppl: number;
}

export type LogRecord = TrainRecord | EvalRecord;

export class TrainLog {
  constructor(readonly path: string) {}

  append(record: LogRecord): void {
    appendFileSync(this.path, JSON.stringify(record) + "\n");
  }

  /** The records so far (lines that do not parse, e.g. one cut by a crash, are skipped). */
  read(): LogRecord[] {
    if (!existsSync(this.path)) return [];
    const out: LogRecord[] = [];
    for (const line of readFileSync(this.path, "utf8").split("\n")) {
      if (line.trim() === "") continue;
      try {
        const r = JSON.parse(line) as LogRecord;
        if ((r.type === "train" || r.type === "eval") && Number.isFinite(r.step)) out.push(r);
      } catch {
        /* a torn last line */
      }
    }
    return out;
  }

  /** Drops records after `step` (a resumed run re-does those steps), atomically. */
  truncateAfter(step: number): void {
    if (!existsSync(this.path)) return;
    const kept = this.read().filter((r) => r.step <= step);
    writeBytesAtomic(this.path, kept.map((r) => JSON.stringify(r) + "\n").join(""));
  }
}
