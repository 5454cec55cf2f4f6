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
import type { MatmulArgs } from "../../src/backend/backend.js";
import { loadNativeBackend, nativeUnavailableReason } from "../../src/backend/native.js";
import { WebGPUBackend, openWebGPU } from "../../src/backend/webgpu.js";

interface Shape {
  label: string;
  batch: number;
  m: number;
  n: number;
  k: number;
}

const SHAPES: Shape[] = [
  { label: "256² square", batch: 1, m: 256, n: 256, k: 256 },
  { label: "512² square", batch: 1, m: 512, n: 512, k: 512 },
  { label: "1024² square", batch: 1, m: 1024, n: 1024, k: 1024 },
  { label: "2048² square", batch: 1, m: 2048, n: 2048, k: 2048 },
  { label: "768×768·768×2304 (qkv)", batch: 1, m: 768, n: 2304, k: 768 },
  { label: "12 × 64×128·128×512 (attn)", batch: 12, m: 64, n: 512, k: 128 },
  { label: "1×768·768×3072 (decode)", batch: 1, m: 1, n: 3072, k: 768 },
];
const MIN_SECONDS = 0.05; // timed work per measurement, per side

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function argsFor(s: Shape): MatmulArgs {
  const fill = (n: number) => Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  return {
    batch: s.batch,
    m: s.m,
    n: s.n,
    k: s.k,
    a: fill(s.batch * s.m * s.k),
    aOffset: 0,
    aBatchStride: s.m * s.k,
    transA: false,
    b: fill(s.batch * s.k * s.n),
    bOffset: 0,
    bBatchStride: s.k * s.n,
    transB: false,
    c: new Float32Array(s.batch * s.m * s.n),
    accumulate: false,
  };
}

/** GFLOP/s of `run` repeated for at least MIN_SECONDS (after one warm-up call). */
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
    const args = argsFor(s);
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
