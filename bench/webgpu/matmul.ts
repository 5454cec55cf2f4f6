// Matmul GFLOP/s of the webgpu backend beside the native backend, same shapes, same run,
// interleaved (webgpu, native, webgpu, ...) so both see the same machine load; medians of rounds.
//
//   npx tsx bench/webgpu/matmul.ts            options: --rounds N (default 5)  --only <label text>
//     --max-gflop G: skip webgpu on shapes above G GFLOP per call (default: none; 2.5 on a
//     software adapter such as lavapipe, where a 2048² product takes minutes)
//
// The webgpu figure is end to end, as the backend runs today: upload A and B, dispatch, read C
// back, per call (see src/backend/webgpu.ts). It prints the adapter's name first; without an
// adapter it says why and prints the native figures alone. Not a test: nothing is asserted.
import { loadNativeBackend, nativeUnavailableReason } from "../../src/backend/native.js";
import { SHAPES, type Shape, matmulArgs } from "../matmul_shapes.js";
import { WebGPUBackend, openWebGPU } from "../../src/backend/webgpu.js";

const MIN_SECONDS = 0.05; // timed work per measurement, per side

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** GFLOP/s of `run` repeated for at least MIN_SECONDS (after one warm-up call). */
/** Deterministic inputs in [-0.5, 0.5). */
const fill = (n: number) => Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);

async function gflops(s: Shape, run: () => void | Promise<void>): Promise<number> {
  await run();
  let calls = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < MIN_SECONDS * 1000 || calls < 2) {
    await run();
    calls++;
  }
  const seconds = (performance.now() - t0) / 1000;
  return (2 * s.batch * s.m * s.n * s.k * calls) / seconds / 1e9;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const rounds = Number(option("--rounds") ?? 5);
  const only = option("--only");
  const opened = await openWebGPU();
  const gpu = opened.ok ? new WebGPUBackend(opened.context) : null;
  console.log(gpu ? `webgpu adapter: ${gpu.adapterName}` : `webgpu: unavailable (${opened.ok ? "" : opened.reason})`);
  const software = gpu !== null && /software|llvmpipe|swiftshader/i.test(gpu.adapterName);
  const maxGflop = Number(option("--max-gflop") ?? (software ? 2.5 : Number.POSITIVE_INFINITY));
  const native = loadNativeBackend();
  console.log(native ? `native: ${native.quantKernelName()}` : `native: unavailable (${nativeUnavailableReason()})`);
  console.log(`${"shape".padEnd(30)} ${"webgpu GFLOP/s".padStart(15)} ${"native GFLOP/s".padStart(15)} ${"ratio".padStart(7)}`);
  for (const s of SHAPES) {
    if (only && !s.label.includes(only)) continue;
    const args = matmulArgs(s, fill);
    const g: number[] = [],
      n: number[] = [];
    for (let r = 0; r < rounds; r++) {
      if (gpu && (2 * s.batch * s.m * s.n * s.k) / 1e9 <= maxGflop) g.push(await gflops(s, () => gpu.matmul(args)));
      if (native) n.push(await gflops(s, () => native.matmul(args)));
    }
    const gm = g.length ? median(g) : Number.NaN,
      nm = n.length ? median(n) : Number.NaN;
    const fmt = (v: number, skipped: string): string => (Number.isNaN(v) ? skipped : v.toFixed(2)).padStart(15);
    const ratio = Number.isNaN(gm / nm) ? "-" : (gm / nm).toFixed(2);
    console.log(`${s.label.padEnd(30)} ${fmt(gm, "skipped")} ${fmt(nm, "-")} ${ratio.padStart(7)}`);
  }
  gpu?.destroy();
}

await main();
