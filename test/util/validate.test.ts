// src/util/validate.ts: the numeric checks of library code. Each passes the value through, and
// refuses with "NAME must be EXPECTED, got VALUE": a TypeError for a non-number, a RangeError
// for a number outside the allowed set.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  finiteNumber,
  intAtLeast,
  intInRange,
  nonNegativeInt,
  numberAtLeast,
  numberInRange,
  positiveInt,
  positiveNumber,
} from "../../src/util/validate.js";

/** Asserts fn throws exactly `type` with exactly `message`. */
function refuses(fn: () => unknown, type: typeof RangeError | typeof TypeError, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.equal((e as Error).constructor, type, `${(e as Error).constructor.name}: ${(e as Error).message}`);
    assert.equal((e as Error).message, message);
    return true;
  });
}

test("positiveInt and nonNegativeInt pass integers through and name the setting when refusing", () => {
  assert.equal(positiveInt("steps", 1), 1);
  assert.equal(nonNegativeInt("seed", 0), 0);
  refuses(() => positiveInt("steps", 0), RangeError, "steps must be a positive integer, got 0");
  refuses(() => positiveInt("steps", 2.5), RangeError, "steps must be a positive integer, got 2.5");
  refuses(() => positiveInt("steps", NaN), RangeError, "steps must be a positive integer, got NaN");
  refuses(() => positiveInt("steps", 2 ** 53), RangeError, `steps must be a positive integer, got ${2 ** 53}`);
  refuses(() => positiveInt("steps", "3"), TypeError, "steps must be a positive integer, got '3'");
  refuses(() => positiveInt("steps", undefined), TypeError, "steps must be a positive integer, got undefined");
  refuses(() => nonNegativeInt("seed", -1), RangeError, "seed must be a non-negative integer, got -1");
});

test("intAtLeast and intInRange state their bounds", () => {
  assert.equal(intAtLeast("contextLength", 2, 2), 2);
  refuses(() => intAtLeast("contextLength", 1, 2), RangeError, "contextLength must be an integer ≥ 2, got 1");
  assert.equal(intInRange("numThreads", 1024, 1, 1024), 1024);
  refuses(() => intInRange("numThreads", 1025, 1, 1024), RangeError, "numThreads must be an integer in [1, 1024], got 1025");
  refuses(() => intInRange("numThreads", 1.5, 1, 1024), RangeError, "numThreads must be an integer in [1, 1024], got 1.5");
});

test("numberInRange honours open and closed ends", () => {
  assert.equal(numberInRange("p", 0, 0, 1), 0);
  assert.equal(numberInRange("p", 1, 0, 1), 1);
  refuses(() => numberInRange("p", 1, 0, 1, { includeHigh: false }), RangeError, "p must be in [0, 1), got 1");
  refuses(() => numberInRange("p", 0, 0, 1, { includeLow: false }), RangeError, "p must be in (0, 1], got 0");
  refuses(() => numberInRange("p", NaN, 0, 1), RangeError, "p must be in [0, 1], got NaN");
  refuses(() => numberInRange("p", null, 0, 1), TypeError, "p must be in [0, 1], got null");
});

test("finiteNumber, positiveNumber and numberAtLeast", () => {
  assert.equal(finiteNumber("alpha", -3), -3);
  refuses(() => finiteNumber("alpha", Infinity), RangeError, "alpha must be a finite number, got Infinity");
  assert.equal(positiveNumber("lr", 1e-4), 1e-4);
  refuses(() => positiveNumber("lr", 0), RangeError, "lr must be a positive finite number, got 0");
  refuses(() => positiveNumber("lr", Infinity), RangeError, "lr must be a positive finite number, got Infinity");
  assert.equal(numberAtLeast("gradClip", Infinity, 0), Infinity);
  refuses(() => numberAtLeast("gradClip", -0.5, 0), RangeError, "gradClip must be ≥ 0, got -0.5");
  refuses(() => numberAtLeast("gradClip", NaN, 0), RangeError, "gradClip must be ≥ 0, got NaN");
});
