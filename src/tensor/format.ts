// Printing tensors the way PyTorch does:
//   tensor([[1.0000, 2.5000],
//           [3.0000, 4.0000]], requires_grad=True)
// Large tensors are summarised with "..." (first and last 3 entries of each dim).
import type { Tensor } from "./tensor.js";

const SUMMARY_THRESHOLD = 1000;
const EDGE_ITEMS = 3;

/** Formats every value to a string of equal width, choosing fixed or scientific notation once. */
function valueFormatter(t: Tensor, values: ArrayLike<number>): (v: number) => string {
  if (t.dtype === "bool") return (v) => (v ? "True" : "False");
  if (t.dtype === "int32") return (v) => String(v);
  const finite = Array.from(values).filter((v) => Number.isFinite(v));
  const special = (v: number) => (Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf");
  const absNonZero = finite.map(Math.abs).filter((v) => v > 0);
  const maxAbs = absNonZero.length ? Math.max(...absNonZero) : 0;
  const minAbs = absNonZero.length ? Math.min(...absNonZero) : 0;
  if (finite.every(Number.isInteger) && maxAbs < 1e8) {
    return (v) => (Number.isFinite(v) ? `${v}.` : special(v));
  }
  if (maxAbs >= 1e8 || minAbs < 1e-4 || maxAbs / minAbs > 1000) {
    return (v) => {
      if (!Number.isFinite(v)) return special(v);
      // JS writes 1.2340e+0; PyTorch writes 1.2340e+00.
      return v.toExponential(4).replace(/e([+-])(\d)$/, "e$10$2");
    };
  }
  return (v) => (Number.isFinite(v) ? v.toFixed(4) : special(v));
}

/** Indices shown along a dim of size n (all, or the edges around a "..." marker = -1). */
function shownIndices(n: number, summarise: boolean): number[] {
  if (!summarise || n <= 2 * EDGE_ITEMS) return Array.from({ length: n }, (_, i) => i);
  const head = Array.from({ length: EDGE_ITEMS }, (_, i) => i);
  const tail = Array.from({ length: EDGE_ITEMS }, (_, i) => n - EDGE_ITEMS + i);
  return [...head, -1, ...tail];
}

export function formatTensor(t: Tensor): string {
  const values = t.data();
  const shape = t.shape;
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const summarise = t.numel > SUMMARY_THRESHOLD;
  const fmt = valueFormatter(t, values);
  // Width of the widest entry, for alignment.
  let width = 0;
  const collect = (d: number, base: number): void => {
    if (d === shape.length) {
      width = Math.max(width, fmt(values[base]).length);
      return;
    }
    for (const i of shownIndices(shape[d], summarise)) if (i >= 0) collect(d + 1, base + i * strides[d]);
  };
  collect(0, 0);

  const prefix = "tensor(";
  const render = (d: number, base: number, indent: number): string => {
    if (d === shape.length) return fmt(values[base]).padStart(width);
    const parts = shownIndices(shape[d], summarise).map((i) => (i < 0 ? "..." : render(d + 1, base + i * strides[d], indent + 1)));
    if (d === shape.length - 1) return `[${parts.join(", ")}]`;
    const sep = "," + "\n".repeat(shape.length - d - 1) + " ".repeat(indent + 1);
    return `[${parts.join(sep)}]`;
  };

  let body: string;
  if (t.numel === 0) body = shape.length <= 1 ? "[]" : `[], size=(${shape.join(", ")})`;
  else body = render(0, 0, prefix.length);

  const extras: string[] = [];
  if (t.dtype === "int32") extras.push("dtype=int32");
  if (t.gradFn) extras.push(`grad_fn=<${t.gradFn.name}Backward>`);
  else if (t.requiresGrad) extras.push("requires_grad=True");
  return `${prefix}${body}${extras.map((e) => ", " + e).join("")})`;
}
