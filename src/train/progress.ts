// The training progress line: step/total, loss, lr, tokens/s and the time left.
//
// On a terminal it is one line rewritten in place ("\r" + clear); elsewhere (a log file, CI)
// it prints a plain line every `every` steps and at the end, so logs stay readable.

export interface ProgressStats {
  step: number;
  total: number;
  loss: number;
  lr: number;
  tokensPerSecond: number;
  /** Seconds left at the current speed. */
  etaSeconds: number;
}

export interface ProgressOptions {
  /** Where to write (default process.stderr). */
  stream?: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean; columns?: number };
  /** Non-TTY: print every this many steps (default 10). */
  every?: number;
}

export class ProgressBar {
  private readonly out: NonNullable<ProgressOptions["stream"]>;
  private readonly tty: boolean;
  private readonly every: number;
  private lineOpen = false;

  constructor(options: ProgressOptions = {}) {
    this.out = options.stream ?? process.stderr;
    this.tty = this.out.isTTY === true;
    this.every = options.every ?? 10;
  }

  update(s: ProgressStats): void {
    const text = formatProgress(s, this.tty ? (this.out.columns ?? 100) : 0);
    if (this.tty) {
      this.out.write(`\r\x1b[2K${text}`);
      this.lineOpen = true;
    } else if (s.step % this.every === 0 || s.step === s.total) {
      this.out.write(`${text}\n`);
    }
  }

  /** Prints a message on its own line (keeping the progress line below it on a terminal). */
  log(message: string): void {
    if (this.tty && this.lineOpen) this.out.write("\r\x1b[2K");
    this.out.write(`${message}\n`);
    this.lineOpen = false;
  }

  /** Ends the progress line. */
  done(): void {
    if (this.tty && this.lineOpen) this.out.write("\n");
    this.lineOpen = false;
  }
}

/** "step  120/2000 [███░░░]  6% | loss 2.3456 | lr 9.80e-4 | 12.3k tok/s | ETA 3m05s". */
export function formatProgress(s: ProgressStats, columns = 0): string {
  const pct = s.total > 0 ? s.step / s.total : 1;
  const width = String(s.total).length;
  const fields = [
    `loss ${Number.isFinite(s.loss) ? s.loss.toFixed(4) : String(s.loss)}`,
    `lr ${s.lr.toExponential(2)}`,
    `${formatRate(s.tokensPerSecond)} tok/s`,
    `ETA ${formatDuration(s.etaSeconds)}`,
  ].join(" | ");
  const head = `step ${String(s.step).padStart(width)}/${s.total}`;
  const tail = `${(pct * 100).toFixed(0).padStart(3)}% | ${fields}`;
  const barWidth = columns > 0 ? Math.min(30, columns - head.length - tail.length - 4) : 20;
  if (barWidth < 5) return `${head} ${tail}`;
  const filled = Math.round(pct * barWidth);
  return `${head} [${"█".repeat(filled)}${"░".repeat(barWidth - filled)}] ${tail}`;
}

export function formatRate(x: number): string {
  if (!Number.isFinite(x)) return "-";
  if (x >= 1e6) return `${(x / 1e6).toFixed(1)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "-";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}
