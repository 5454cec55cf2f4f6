// The loss curve as an SVG picture, written by hand: axes with ticks, a train line, a
// validation line (with dots: it has few points), a legend. Opens in any browser.

export interface CurvePoint {
  step: number;
  loss: number;
}

export interface LossCurveOptions {
  width?: number;
  height?: number;
  title?: string;
}

const TRAIN_COLOR = "#1f77b4";
const VAL_COLOR = "#d62728";

export function lossCurveSvg(train: readonly CurvePoint[], val: readonly CurvePoint[], options: LossCurveOptions = {}): string {
  const W = options.width ?? 720;
  const H = options.height ?? 420;
  const m = { left: 64, right: 20, top: 36, bottom: 48 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const all = [...train, ...val].filter((p) => Number.isFinite(p.loss) && Number.isFinite(p.step));
  const steps = all.map((p) => p.step);
  const losses = all.map((p) => p.loss);
  const x0 = all.length ? Math.min(...steps) : 0;
  let x1 = all.length ? Math.max(...steps) : 1;
  if (x1 === x0) x1 = x0 + 1;
  let y0 = all.length ? Math.min(...losses) : 0;
  let y1 = all.length ? Math.max(...losses) : 1;
  if (y1 === y0) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const sx = (s: number) => m.left + ((s - x0) / (x1 - x0)) * pw;
  const sy = (l: number) => m.top + (1 - (l - y0) / (y1 - y0)) * ph;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(options.title ?? "Training loss")}</text>`);
  // Grid and ticks.
  for (const t of niceTicks(x0, x1, 8)) {
    const x = sx(t).toFixed(1);
    parts.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="#eee"/>`);
    parts.push(`<line x1="${x}" y1="${m.top + ph}" x2="${x}" y2="${m.top + ph + 5}" stroke="black"/>`);
    parts.push(`<text x="${x}" y="${m.top + ph + 18}" text-anchor="middle">${formatTick(t)}</text>`);
  }
  for (const t of niceTicks(y0, y1, 6)) {
    const y = sy(t).toFixed(1);
    parts.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<line x1="${m.left - 5}" y1="${y}" x2="${m.left}" y2="${y}" stroke="black"/>`);
    parts.push(`<text x="${m.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${formatTick(t)}</text>`);
  }
  // Axes and labels.
  parts.push(`<line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${m.top + ph}" stroke="black"/>`);
  parts.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + ph}" stroke="black"/>`);
  parts.push(`<text x="${m.left + pw / 2}" y="${H - 10}" text-anchor="middle">step</text>`);
  parts.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">loss</text>`);
  // Lines.
  const path = (pts: readonly CurvePoint[]) =>
    pts
      .filter((p) => Number.isFinite(p.loss))
      .map((p, i) => `${i === 0 ? "M" : "L"}${sx(p.step).toFixed(1)},${sy(p.loss).toFixed(1)}`)
      .join(" ");
  if (train.length > 0) parts.push(`<path d="${path(train)}" fill="none" stroke="${TRAIN_COLOR}" stroke-width="1.5"/>`);
  if (val.length > 0) {
    parts.push(`<path d="${path(val)}" fill="none" stroke="${VAL_COLOR}" stroke-width="2"/>`);
    for (const p of val.filter((q) => Number.isFinite(q.loss))) {
      parts.push(`<circle cx="${sx(p.step).toFixed(1)}" cy="${sy(p.loss).toFixed(1)}" r="3" fill="${VAL_COLOR}"/>`);
    }
  }
  // Legend (top right).
  const lx = m.left + pw - 130;
  const ly = m.top + 10;
  parts.push(`<rect x="${lx - 8}" y="${ly - 10}" width="130" height="44" fill="white" stroke="#ccc"/>`);
  parts.push(
    `<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${TRAIN_COLOR}" stroke-width="2"/><text x="${lx + 30}" y="${ly}" dominant-baseline="middle">train</text>`,
  );
  parts.push(
    `<line x1="${lx}" y1="${ly + 20}" x2="${lx + 24}" y2="${ly + 20}" stroke="${VAL_COLOR}" stroke-width="2"/><text x="${lx + 30}" y="${ly + 20}" dominant-baseline="middle">validation</text>`,
  );
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

/** Round tick values (1, 2, 5 × 10^k) covering [lo, hi], about `count` of them. */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(span)) return [lo];
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

function formatTick(t: number): string {
  if (Number.isInteger(t)) return String(t);
  return Number(t.toPrecision(4)).toString();
}

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
