/**
 * Learning-rate schedules: plain functions of the 0-based index of the update about to be made
 * (step 0 is the first optimiser.step()). An optimiser given `lr: schedule` evaluates it before
 * every update; they can also be called by hand (`opt.lr = schedule(opt.stepCount)`).
 */
export type LrSchedule = (step: number) => number;

function checkNonNegative(what: string, v: number): void {
  if (!(v >= 0) || !Number.isFinite(v)) throw new Error(`${what} must be a finite number >= 0, got ${v}`);
}

/** The same learning rate at every step. */
export function constantLr(lr: number): LrSchedule {
  checkNonNegative('constantLr: lr', lr);
  return () => lr;
}

export interface LinearWarmupDecayOptions {
  /** learning rate at the end of warm-up */
  peak: number;
  /** updates spent rising linearly to `peak` (0 = start at peak) */
  warmupSteps: number;
  /** the update index where the decay reaches `final`; omit for warm-up then constant */
  totalSteps?: number;
  /** learning rate from `totalSteps` on (default 0) */
  final?: number;
}

/**
 * Linear warm-up then linear decay. Warm-up gives step s the rate peak·(s+1)/warmupSteps, so the
 * first update already moves (a rate of exactly 0 at step 0, as some libraries use, wastes a
 * batch) and `peak` is reached at step warmupSteps−1. From warmupSteps the rate falls linearly
 * to `final` at totalSteps and stays there.
 */
export function linearWarmupDecay(o: LinearWarmupDecayOptions): LrSchedule {
  checkNonNegative('linearWarmupDecay: peak', o.peak);
  const final = o.final ?? 0;
  checkNonNegative('linearWarmupDecay: final', final);
  if (!Number.isInteger(o.warmupSteps) || o.warmupSteps < 0) {
    throw new Error(`linearWarmupDecay: warmupSteps must be an integer >= 0, got ${o.warmupSteps}`);
  }
  const total = o.totalSteps;
  if (total !== undefined && (!Number.isInteger(total) || total < o.warmupSteps)) {
    throw new Error(`linearWarmupDecay: totalSteps must be an integer >= warmupSteps (${o.warmupSteps}), got ${total}`);
  }
  return (step: number) => {
    if (step < o.warmupSteps) return (o.peak * (step + 1)) / o.warmupSteps;
    if (total === undefined) return o.peak;
    if (step >= total) return final;
    const frac = (step - o.warmupSteps) / (total - o.warmupSteps);
    return o.peak + (final - o.peak) * frac;
  };
}
