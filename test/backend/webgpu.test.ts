// The webgpu backend's kernels against the js reference (within f32 tolerances): tiled matmul
// with transposes, batch strides, broadcasting and accumulation; softmax and log-softmax;
// layer and RMS norm; unary and broadcast binary ops; embedding; causal + padding-masked
// grouped-query attention; Q8_0 matmul. Skipped, with the reason, where no WebGPU adapter
// exists (on Linux without a GPU, Mesa's lavapipe from mesa-vulkan-drivers ≥ 25 gives one).
// Runs alone too: `npx tsx test/backend/webgpu.test.ts` prints the adapter's name.
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { UNARY_OPS, type AttentionArgs, type BinaryOp, type MatmulArgs } from "../../src/backend/backend.js";
import { jsBackend } from "../../src/backend/js.js";
import { f32ToBf16, f32ToF16 } from "../../src/backend/half_bits.js";
import { spawnSync } from "node:child_process";
import { availableBackends, getBackend, loadWebGPUBackend, setBackend } from "../../src/backend/index.js";
import { webgpuTimeoutSeconds } from "../../src/backend/webgpu/sync_backend.js";
import { WebGPUBackend, openWebGPU } from "../../src/backend/webgpu.js";
import { Params } from "../../src/backend/webgpu/context.js";
import { unaryWgsl } from "../../src/backend/webgpu/elementwise_wgsl.js";
import { quantizeTensor } from "../../src/quant/quantize.js";
import { rng } from "../helpers/random.js";

const opened = await openWebGPU();
const gpu = opened.ok ? new WebGPUBackend(opened.context) : null;
const skip = gpu ? false : `webgpu unavailable: ${opened.ok ? "" : opened.reason}`;
if (gpu) process.stdout.write(`# webgpu adapter: ${gpu.adapterName}\n`);
const rand = rng(2468);
const randomF32 = (n: number, scale = 1): Float32Array => Float32Array.from({ length: n }, () => rand() * scale);

function assertClose(got: Float32Array, want: Float32Array, tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!,
      w = want[i]!;
    if (g === w || (Number.isNaN(w) && Number.isNaN(g))) continue; // equal infinities too
    if (!(Math.abs(g - w) <= tol * (1 + Math.abs(w))))
      assert.fail(`${what}: element ${i} is ${g}, the js backend gives ${w} (tolerance ${tol})`);
  }
}

after(() => gpu?.destroy());

describe("webgpu backend against the js backend", { skip }, () => {
  const be = gpu!;

  const matmulCases: [string, Partial<MatmulArgs>][] = [
    ["plain 37×53·53×29", { batch: 1, m: 37, n: 29, k: 53 }],
    ["transA", { batch: 1, m: 20, n: 17, k: 33, transA: true }],
    ["transB", { batch: 1, m: 16, n: 48, k: 64, transB: true }],
    ["both, batched, offsets", { batch: 3, m: 9, n: 11, k: 19, transA: true, transB: true, aOffset: 5, bOffset: 7 }],
    ["broadcast B over the batch, accumulate", { batch: 4, m: 13, n: 21, k: 40, bBatchStride: 0, accumulate: true }],
    ["decode shape 1×768·768×1024ᵀ", { batch: 1, m: 1, n: 1024, k: 768, transB: true }],
  ];
  for (const [name, c] of matmulCases) {
    test(`matmul: ${name}`, async () => {
      const { batch = 1, m = 1, n = 1, k = 1 } = c;
      const aOffset = c.aOffset ?? 0,
        bOffset = c.bOffset ?? 0;
      const aBatchStride = c.aBatchStride ?? m * k,
        bBatchStride = c.bBatchStride ?? k * n;
      const base = {
        batch,
        m,
        n,
        k,
        transA: c.transA ?? false,
        transB: c.transB ?? false,
        accumulate: c.accumulate ?? false,
        a: randomF32(aOffset + batch * m * k),
        aOffset,
        aBatchStride,
        b: randomF32(bOffset + batch * k * n),
        bOffset,
        bBatchStride,
      };
      const init = randomF32(batch * m * n);
      const want = Float32Array.from(init),
        got = Float32Array.from(init);
      jsBackend.matmul({ ...base, c: want });
      await be.matmul({ ...base, c: got });
      assertClose(got, want, 1e-5 * Math.sqrt(k), "matmul");
    });
  }

  test("softmax and log-softmax over rows wider than a workgroup", async () => {
    for (const log of [false, true]) {
      for (const [rows, cols] of [
        [7, 5],
        [3, 1000],
      ] as const) {
        const x = randomF32(rows * cols, 20);
        const want = new Float32Array(rows * cols),
          got = new Float32Array(rows * cols);
        jsBackend.softmax(x, rows, cols, want, log);
        await be.softmax(x, rows, cols, got, log);
        assertClose(got, want, 1e-5, `softmax log=${log} ${rows}×${cols}`);
      }
    }
  });

  test("layerNorm with and without weight and bias; rmsNorm", async () => {
    const rows = 6,
      cols = 300,
      x = randomF32(rows * cols, 3),
      w = randomF32(cols),
      b = randomF32(cols);
    for (const [ww, bb] of [
      [w, b],
      [null, null],
      [w, null],
    ] as const) {
      const out = [new Float32Array(rows * cols), new Float32Array(rows * cols)];
      const mean = [new Float32Array(rows), new Float32Array(rows)],
        rstd = [new Float32Array(rows), new Float32Array(rows)];
      jsBackend.layerNorm(x, ww, bb, rows, cols, 1e-5, out[0]!, mean[0]!, rstd[0]!);
      await be.layerNorm(x, ww, bb, rows, cols, 1e-5, out[1]!, mean[1]!, rstd[1]!);
      assertClose(out[1]!, out[0]!, 1e-5, "layerNorm out");
      assertClose(mean[1]!, mean[0]!, 1e-5, "layerNorm mean");
      assertClose(rstd[1]!, rstd[0]!, 1e-5, "layerNorm rstd");
    }
    for (const ww of [w, null]) {
      const out = [new Float32Array(rows * cols), new Float32Array(rows * cols)],
        rstd = [new Float32Array(rows), new Float32Array(rows)];
      jsBackend.rmsNorm(x, ww, rows, cols, 1e-6, out[0]!, rstd[0]!);
      await be.rmsNorm(x, ww, rows, cols, 1e-6, out[1]!, rstd[1]!);
      assertClose(out[1]!, out[0]!, 1e-5, "rmsNorm out");
      assertClose(rstd[1]!, rstd[0]!, 1e-5, "rmsNorm rstd");
    }
  });

  test("every unary op", async () => {
    const x = randomF32(1000, 6);
    const positive = Float32Array.from(x, (v) => Math.abs(v) + 0.01);
    for (const op of UNARY_OPS) {
      const input = op === "log" || op === "sqrt" || op === "rsqrt" ? positive : x;
      const want = new Float32Array(input.length),
        got = new Float32Array(input.length);
      jsBackend.unary(op, input, want);
      await be.unary(op, input, got);
      assertClose(got, want, 2e-5, `unary ${op}`);
    }
  });

  test("float binary ops with broadcasting strides and offsets", async () => {
    const shape = [3, 4, 5];
    const a = randomF32(2 + 60, 3); // contiguous after an offset of 2
    const b = Float32Array.from(randomF32(1 + 5, 3), (v) => Math.round(v)); // a row of 5 broadcast over (3, 4)
    for (const op of ["add", "sub", "mul", "div", "pow", "maximum", "minimum"] as BinaryOp[]) {
      const want = new Float32Array(60),
        got = new Float32Array(60);
      jsBackend.binary(op, a, 2, [20, 5, 1], b, 1, [0, 0, 1], want, shape);
      await be.binary(op, a, 2, [20, 5, 1], b, 1, [0, 0, 1], got, shape);
      assertClose(got, want, 1e-5, `binary ${op}`);
    }
    await assert.rejects(be.binary("lt", a, 0, [1], b, 0, [1], new Float32Array(1), [1]), /unsupported op "lt"/);
  });

  test("embedding gathers rows; an id out of range is a RangeError", async () => {
    const vocab = 50,
      dim = 24,
      w = randomF32(vocab * dim),
      ids = Int32Array.from([3, 0, 49, 3, 17]);
    const want = new Float32Array(ids.length * dim),
      got = new Float32Array(ids.length * dim);
    jsBackend.embedding(w, vocab, dim, ids, want);
    await be.embedding(w, vocab, dim, ids, got);
    assert.deepEqual(got, want);
    await assert.rejects(be.embedding(w, vocab, dim, Int32Array.from([1, 50]), got), /index 50 at position 1/);
  });

  function attentionCase(
    batch: number,
    steps: number,
    heads: number,
    kvHeads: number,
    headDim: number,
    capacity: number,
    start: number,
  ): AttentionArgs {
    const valid = new Uint8Array(batch * capacity);
    // Row b has b leading padding slots, like left-padded prompts of different lengths.
    for (let b = 0; b < batch; b++) for (let s = b; s < start + steps; s++) valid[b * capacity + s] = 1;
    const qLen = batch * steps * heads * headDim,
      kvLen = batch * kvHeads * capacity * headDim;
    return {
      batch,
      steps,
      heads,
      kvHeads,
      headDim,
      capacity,
      start,
      valid,
      scale: 1 / Math.sqrt(headDim),
      q: randomF32(qLen),
      keys: randomF32(kvLen),
      values: randomF32(kvLen),
      out: new Float32Array(qLen),
    };
  }
  const attentionCases: [string, [number, number, number, number, number, number, number]][] = [
    ["decode, grouped-query, padded rows", [3, 1, 8, 2, 16, 40, 30]],
    ["prefill of 300 steps (past one workgroup of slots)", [2, 300, 4, 4, 32, 320, 0]],
    ["a padding query that sees no slot gets 0", [3, 2, 2, 1, 8, 8, 0]],
  ];
  for (const [name, args] of attentionCases) {
    test(`attention: ${name}`, async () => {
      const c = attentionCase(...args);
      const want = new Float32Array(c.out.length),
        got = new Float32Array(c.out.length).fill(Number.NaN);
      jsBackend.attention({ ...c, out: want });
      await be.attention({ ...c, out: got });
      assertClose(got, want, 1e-5, "attention");
    });
  }

  test("Q8_0 matmul equals the js integer kernel", async () => {
    for (const [m, k, n] of [
      [1, 256, 96],
      [5, 64, 33],
    ] as const) {
      const q = quantizeTensor({ data: randomF32(n * k, 0.1), shape: [n, k] }, "Q8_0");
      const x = randomF32(m * k);
      const want = new Float32Array(m * n),
        got = new Float32Array(m * n);
      jsBackend.quantMatmul("Q8_0", "rows", x, m, k, q.data, n, want);
      await be.quantMatmul("Q8_0", "rows", x, m, k, q.data, n, got);
      assertClose(got, want, 1e-5, `Q8_0 ${m}×${k}·${n}`);
    }
  });
});

describe("webgpu linearHalf: the tiled matmul on 16-bit weights", { skip }, () => {
  const be = gpu!;
  // Thin (the 16×16 kernel) and wide (64×64 tiles, 4×4 per thread) products, k not a multiple of 16.
  const shapes: [number, number, number][] = [
    [1, 70, 129],
    [5, 33, 17],
    [40, 200, 96],
  ];
  for (const dtype of ["F16", "BF16"] as const) {
    for (const [m, k, n] of shapes) {
      test(`${dtype} ${m}×${k}·(${n}×${k})ᵀ equals the js backend's`, async () => {
        const x = randomF32(m * k);
        const bits = (dtype === "F16" ? f32ToF16 : f32ToBf16)(randomF32(n * k));
        const want = new Float32Array(m * n);
        jsBackend.linearHalf(dtype, x, m, k, bits, n, want);
        const got = new Float32Array(m * n);
        await be.linearHalf(dtype, x, m, k, bits, n, got);
        assertClose(got, want, 2e-5 * Math.sqrt(k), `linearHalf ${dtype}`);
      });
    }
  }

  test(`f16 read as WGSL f16 (shader-f16: ${be?.gpu.hasShaderF16 ? "present" : "absent, so only the bits path runs"}) gives the bits path's result exactly`, async () => {
    const [m, k, n] = [33, 96, 65];
    const x = randomF32(m * k);
    const bits = f32ToF16(randomF32(n * k, 4));
    const viaF16 = new Float32Array(m * n),
      viaBits = new Float32Array(m * n);
    await be.linearHalf("F16", x, m, k, bits, n, viaF16);
    be.useShaderF16 = false;
    try {
      await be.linearHalf("F16", x, m, k, bits, n, viaBits);
    } finally {
      be.useShaderF16 = true;
    }
    // Widening f16 to f32 is exact both ways and the sums run in the same order.
    assert.deepEqual(viaF16, viaBits);
  });
});

describe("webgpu device errors", { skip }, () => {
  const be = gpu!;
  test("a lost device turns the next call into a clear error, not a hang", async () => {
    const again = await openWebGPU();
    assert.ok(again.ok);
    const be = new WebGPUBackend(again.context);
    be.destroy();
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(be.unary("exp", new Float32Array(4), new Float32Array(4)), /device was lost/);
  });

  test("a buffer larger than the device allows is a clear error naming the size", async () => {
    // A view that claims 1 TiB: the size check must reject it before any upload is tried.
    const huge = { byteLength: 2 ** 40, buffer: new ArrayBuffer(4), byteOffset: 0 } as unknown as Float32Array;
    const run = be.gpu.run("unary_exp", unaryWgsl("exp"), [{ data: huge }, { data: huge, output: true }], new Params().u32(1), 1);
    await assert.rejects(run, /needs 1099511627776 bytes, more than this device's buffer limit/);
  });
});

describe("webgpu backend selection", () => {
  const backendIndex = new URL("../../src/backend/index.js", import.meta.url).href;
  /** Runs `code` (an ES module body with `m` = src/backend/index.js) in a fresh node with `env`. */
  const child = (code: string, env: Record<string, string>) =>
    spawnSync(process.execPath, ["--input-type=module", "-e", `const m = await import(${JSON.stringify(backendIndex)});\n${code}`], {
      env: { ...process.env, ...env },
      encoding: "utf8",
      timeout: 60_000,
    });

  test('setBackend("webgpu") runs the tensor ops on the GPU where an adapter exists, else says there is none', () => {
    if (!gpu) {
      assert.throws(() => setBackend("webgpu"), /setBackend\("webgpu"\) asks for the webgpu backend, but there is no WebGPU adapter/);
      return;
    }
    const before = getBackend();
    try {
      setBackend("webgpu");
      assert.equal(getBackend().name, "webgpu");
      assert.ok(availableBackends().includes("webgpu"), "listed once it is open");
      const out = new Float32Array(3);
      getBackend().unary("square", Float32Array.from([1, -2, 3]), out);
      assert.deepEqual(Array.from(out), [1, 4, 9]);
    } finally {
      setBackend(before.name);
    }
  });

  test("TSGPT_BACKEND=webgpu selects it in a new process", { skip }, () => {
    const r = child(
      `const out = new Float32Array(2); m.getBackend().unary("neg", Float32Array.from([1, 2]), out); console.log(m.getBackend().name, out.join(","));`,
      {
        TSGPT_BACKEND: "webgpu",
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^webgpu -1,-2$/m);
  });

  const notLinux = process.platform !== "linux" && "the Vulkan loader's variables hide the drivers on Linux only";
  test('without a Vulkan driver, setBackend("webgpu") says there is no WebGPU adapter and why', { skip: notLinux }, () => {
    const none = "/nonexistent/icd.json"; // the Vulkan loader finds no driver: Dawn has no adapter
    const r = child(`try { m.setBackend("webgpu"); console.log("opened"); } catch (e) { console.log(e.message); }`, {
      VK_ICD_FILENAMES: none,
      VK_DRIVER_FILES: none,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /setBackend\("webgpu"\) asks for the webgpu backend, but there is no WebGPU adapter: (no Vulkan|the optional npm package)/,
    );
  });

  test("a call slower than TSGPT_WEBGPU_TIMEOUT_S is a clear error, never a hang", () => {
    const r = child(`try { m.setBackend("webgpu"); console.log("opened"); } catch (e) { console.log(e.message); }`, {
      TSGPT_WEBGPU_TIMEOUT_S: "0.001",
    });
    assert.equal(r.status, 0, r.stderr);
    // Without an adapter the error says so instead; either way it comes back at once.
    assert.match(r.stdout, /did not finish within 0\.001 s \(TSGPT_WEBGPU_TIMEOUT_S\)|no WebGPU adapter/);
  });

  test("TSGPT_WEBGPU_TIMEOUT_S must be a positive number", () => {
    assert.equal(webgpuTimeoutSeconds({}), 300);
    assert.equal(webgpuTimeoutSeconds({ TSGPT_WEBGPU_TIMEOUT_S: "2.5" }), 2.5);
    for (const bad of ["0", "-1", "soon", "Infinity"]) {
      assert.throws(
        () => webgpuTimeoutSeconds({ TSGPT_WEBGPU_TIMEOUT_S: bad }),
        /TSGPT_WEBGPU_TIMEOUT_S must be a positive number of seconds/,
      );
    }
  });

  test("loadWebGPUBackend gives the backend where an adapter exists, else null", async () => {
    const be = await loadWebGPUBackend();
    assert.equal(be !== null, gpu !== null);
    be?.destroy();
  });
});
