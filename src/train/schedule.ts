// Learning-rate schedule: linear warmup, then cosine decay to a floor (nanoGPT's get_lr).
//
//   step < warmup            lr · (step + 1) / (warmup + 1)
//   warmup ≤ step ≤ decay    minLr + ½ (1 + cos(π · progress)) · (lr − minLr)
//   step > decay             minLr
//
// `step` counts optimizer updates from 0; `decaySteps` is where the cosine reaches minLr
// (usually the total number of steps).
import { nonNegativeInt, numberInRange, positiveNumber } from "../util/validate.js";

export interface ScheduleOptions {
  lr: number;
  minLr: number;
  warmupSteps: number;
  decaySteps: number;
}

export function learningRate(step: number, o: ScheduleOptions): number {
  if (step < o.warmupSteps) return (o.lr * (step + 1)) / (o.warmupSteps + 1);
  if (step > o.decaySteps) return o.minLr;
  const span = o.decaySteps - o.warmupSteps;
  const progress = span <= 0 ? 1 : (step - o.warmupSteps) / span;
  const coeff = 0.5 * (1 + Math.cos(Math.PI * progress));
  return o.minLr + coeff * (o.lr - o.minLr);
}

/** Checks the options once, with messages naming the setting. */
export function checkSchedule(o: ScheduleOptions): ScheduleOptions {
  positiveNumber("lr", o.lr);
  numberInRange("minLr", o.minLr, 0, o.lr);
  nonNegativeInt("warmupSteps", o.warmupSteps);
  nonNegativeInt("decaySteps", o.decaySteps);
  return o;
}
