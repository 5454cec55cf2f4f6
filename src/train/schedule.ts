// Learning-rate schedule: linear warmup, then cosine decay to a floor (nanoGPT's get_lr).
//
//   step < warmup            lr · (step + 1) / (warmup + 1)
//   warmup ≤ step ≤ decay    minLr + ½ (1 + cos(π · progress)) · (lr − minLr)
//   step > decay             minLr
//
// `step` counts optimizer updates from 0; `decaySteps` is where the cosine reaches minLr
// (usually the total number of steps).

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
  if (!(o.lr > 0) || !Number.isFinite(o.lr)) throw new RangeError(`lr must be a positive number, got ${o.lr}`);
  if (!(o.minLr >= 0) || o.minLr > o.lr) throw new RangeError(`minLr must be in [0, lr=${o.lr}], got ${o.minLr}`);
  if (!Number.isInteger(o.warmupSteps) || o.warmupSteps < 0) throw new RangeError(`warmupSteps must be a non-negative integer, got ${o.warmupSteps}`);
  if (!Number.isInteger(o.decaySteps) || o.decaySteps < 0) throw new RangeError(`decaySteps must be a non-negative integer, got ${o.decaySteps}`);
  return o;
}
