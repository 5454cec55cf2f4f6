// f16 / bf16 conversions: exhaustive over all 65536 f16 bit patterns against numpy, rounding
// cases (ties, overflow, subnormals) against numpy, bf16 against an independent nearest-even oracle.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bf16ToF32, bf16ToFloat, f16ToF32, f32ToBf16, f32ToF16, floatToBf16, floatToHalf, halfToFloat } from "../../src/tensor/half.js";
import { runPython, skipUnlessNumpy } from "../formats/python.js";

const skip = skipUnlessNumpy();

function allHalfBits(): Uint16Array {
  const bits = new Uint16Array(65536);
  for (let i = 0; i < 65536; i++) bits[i] = i;
  return bits;
}

/** A small seeded xorshift32, so failures reproduce. */
function randomBits(n: number, seed = 12345): Uint32Array {
  const out = new Uint32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s;
  }
  return out;
}

/** Asserts two f32 arrays have identical bits, except that NaN only has to match NaN. */
function assertSameF32(actual: Float32Array, expected: Float32Array, inputs: ArrayLike<number>, what: string): void {
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(expected[i]!)) {
      assert.ok(Number.isNaN(actual[i]!), `${what}: input ${inputs[i]} should give NaN`);
    } else if (a[i] !== e[i]) {
      assert.fail(`${what}: input ${inputs[i]} gave bits 0x${a[i]!.toString(16)}, numpy 0x${e[i]!.toString(16)}`);
    }
  }
}

/** Asserts two f16 bit arrays are equal, NaN (exponent all ones, mantissa non-zero) matching NaN. */
function assertSameF16(actual: Uint16Array, expected: Uint16Array, inputs: ArrayLike<number>, what: string): void {
  const isNaN16 = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!,
      e = expected[i]!;
    if (isNaN16(e) ? !isNaN16(a) : a !== e) {
      assert.fail(`${what}: input ${inputs[i]} gave 0x${a.toString(16)}, numpy 0x${e.toString(16)}`);
    }
  }
}

function asBytes(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Inputs for f32 → f16 rounding: every f16 value, every midpoint between neighbours, ±1 f32 ulp around each, random bits. */
function roundingInputs(): Float32Array {
  const values = f16ToF32(allHalfBits());
  const u = new Uint32Array(values.buffer);
  const extra: number[] = [];
  for (let h = 0; h < 0x7c00; h++) {
    // Midpoint of h and h+1 (same sign): needs 12 significant bits, exact in f32.
    const lo = values[h]!,
      hi = halfToFloat(h + 1);
    const mid = Math.fround((lo + hi) / 2);
    extra.push(mid, -mid);
  }
  const mids = new Float32Array(extra);
  const mu = new Uint32Array(mids.buffer);
  const around = new Uint32Array(mu.length * 2);
  for (let i = 0; i < mu.length; i++) {
    around[2 * i] = mu[i]! + 1;
    around[2 * i + 1] = mu[i]! - 1;
  }
  const rnd = randomBits(200_000);
  const all = new Uint32Array(u.length + mu.length + around.length + rnd.length);
  all.set(u, 0);
  all.set(mu, u.length);
  all.set(around, u.length + mu.length);
  all.set(rnd, u.length + mu.length + around.length);
  return new Float32Array(all.buffer);
}

describe("half precision", { skip }, () => {
  test("f16ToF32 matches numpy for all 65536 bit patterns", () => {
    const bits = allHalfBits();
    const ref = runPython(
      "import sys, numpy as np; sys.stdout.buffer.write(np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float32).tobytes())",
    );
    const expected = new Float32Array(new Uint8Array(ref).buffer);
    assertSameF32(f16ToF32(bits), expected, bits, "f16ToF32");
    for (let h = 0; h < 65536; h += 1) {
      const v = halfToFloat(h);
      if (Number.isNaN(expected[h]!)) assert.ok(Number.isNaN(v));
      else assert.equal(v, expected[h]!, `halfToFloat(0x${h.toString(16)})`);
    }
  });

  test("f32ToF16 rounds like numpy (ties to even, overflow, subnormals)", () => {
    const x = roundingInputs();
    const ref = runPython(
      "import sys, numpy as np; x = np.frombuffer(sys.stdin.buffer.read(), dtype=np.float32); sys.stdout.buffer.write(x.astype(np.float16).view(np.uint16).tobytes())",
      asBytes(x),
    );
    const expected = new Uint16Array(new Uint8Array(ref).buffer);
    assert.equal(expected.length, x.length);
    assertSameF16(f32ToF16(x), expected, x, "f32ToF16");
    // The out parameter is filled in place.
    const out = new Uint16Array(x.length);
    assert.equal(f32ToF16(x, out), out);
    assertSameF16(out, expected, x, "f32ToF16(out)");
  });

  test("floatToHalf rounds a double once, like np.float16(x)", () => {
    const xs = [
      0,
      -0,
      1,
      65504,
      65519.99,
      65520,
      1e6,
      -1e-8,
      5.96e-8,
      2.98e-8,
      2.9802322387695312e-8,
      1 + 2 ** -11,
      1 + 2 ** -11 + 2 ** -40,
      1 + 3 * 2 ** -11,
      1 + 3 * 2 ** -11 - 2 ** -40,
      Math.PI,
      -Math.E,
      6.1035156e-5,
      6.103515625e-5 - 2 ** -30,
      Infinity,
      -Infinity,
      1e-300,
      3.0517578125e-5 + 2 ** -40,
    ];
    const rnd = randomBits(20_000, 99);
    for (let i = 0; i < rnd.length; i += 2) {
      // Doubles spread over the f16 range: mantissa random, exponent in [-27, 17].
      xs.push((1 + rnd[i]! / 2 ** 32 + rnd[i + 1]! / 2 ** 64) * 2 ** ((rnd[i + 1]! % 45) - 27) * (rnd[i]! & 1 ? -1 : 1));
    }
    const x = new Float64Array(xs);
    const ref = runPython(
      "import sys, numpy as np; x = np.frombuffer(sys.stdin.buffer.read(), dtype=np.float64); sys.stdout.buffer.write(x.astype(np.float16).view(np.uint16).tobytes())",
      asBytes(x),
    );
    const expected = new Uint16Array(new Uint8Array(ref).buffer);
    const actual = Uint16Array.from(xs, floatToHalf);
    assertSameF16(actual, expected, xs, "floatToHalf");
    assert.ok(Number.isNaN(halfToFloat(floatToHalf(NaN))));
  });
});

describe("bfloat16", () => {
  /** Value of a bf16 magnitude pattern, treating 0x7f80 as 2^128 (the next step after the largest finite). */
  function magnitude(b: number): number {
    return b === 0x7f80 ? 2 ** 128 : Math.abs(bf16ToFloat(b));
  }

  test("bf16ToF32 puts the bits in the high half", () => {
    const bits = allHalfBits();
    const f = bf16ToF32(bits);
    const u = new Uint32Array(f.buffer);
    for (let i = 0; i < 65536; i++) assert.equal(u[i], i * 65536);
  });

  test("f32ToBf16 is round-to-nearest-even (independent oracle)", () => {
    const u = randomBits(100_000, 7);
    // Add exact ties and near-overflow values.
    const extra = [0x3f808000, 0x3f818000, 0x7f7fffff, 0x7f7f8000, 0x7f7f7fff, 0xff7f8000, 0x00008000, 0x00018000];
    const all = new Uint32Array(u.length + extra.length);
    all.set(u);
    all.set(extra, u.length);
    const x = new Float32Array(all.buffer);
    const got = f32ToBf16(x);
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      if (Number.isNaN(v)) {
        assert.equal(got[i], 0x7fc0);
        continue;
      }
      const sign = (all[i]! >>> 16) & 0x8000;
      const down = (all[i]! >>> 16) & 0x7fff; // truncation toward zero
      const up = down + 1;
      const a = Math.abs(v);
      const dDown = a - magnitude(down),
        dUp = magnitude(up) - a;
      let want = dDown < dUp ? down : dUp < dDown ? up : down & 1 ? up : down;
      if (dDown === 0) want = down;
      assert.equal(got[i], sign | want, `f32ToBf16(${v}) bits 0x${all[i]!.toString(16)}`);
      assert.equal(floatToBf16(v), sign | want);
    }
  });

  test("out buffers of the wrong length are rejected", () => {
    assert.throws(() => f16ToF32(new Uint16Array(3), new Float32Array(2)), /expected 3/);
    assert.throws(() => f32ToBf16(new Float32Array(3), new Uint16Array(4)), /expected 3/);
  });
});
