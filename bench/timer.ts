/**
 * A median timer for calls from ~0.1 ms to minutes.
 *
 * Why not the `benchmark` package (Benchmark.js), which the issue suggested: it was archived in
 * April 2024 (last release 2.1.4, 2017) and its model fits micro-benchmarks, not these calls.
 * It reports the mean and relative margin of error of cycle means, not the median and minimum of
 * single calls; it first runs calibration cycles to pick how many calls a cycle makes, then keeps
 * sampling until minSamples (default 5) and maxTime (default 5 s) are both met — for a tfjs-cpu
 * call of 45 s that is five or more calls (minutes per row) with no way to say "one call, and
 * say so"; and async work needs its `defer` mode, which adds deferred-resolution scheduling to
 * every cycle. Every call here is synchronous (seqfair's kernels and tfjs's cpu/wasm backends run
 * eagerly), so a plain performance.now() loop measures exactly one call per sample.
 *
 * Policy (printed in the table footer):
 * - The first call is timed. If it took at least `slowMs`, the call is slow: it counts as the
 *   first sample (a warm-up would double the cost and JIT warm-up is negligible at that length),
 *   and more calls are made only while the total stays within `slowBudgetMs` (≤ `slowReps`).
 * - Otherwise it was warm-up; warm-up continues until `warmupMs` have passed (≤ 10 calls), then
 *   timed calls run until `maxReps`, or `budgetMs` of timed work once `minReps` are done.
 */

export interface TimerOptions {
  maxReps: number;
  minReps: number;
  budgetMs: number;
  warmupMs: number;
  slowMs: number;
  slowReps: number;
  slowBudgetMs: number;
}

export const defaultTimer: TimerOptions = {
  maxReps: 20,
  minReps: 3,
  budgetMs: 2_000,
  warmupMs: 250,
  slowMs: 2_000,
  slowReps: 3,
  slowBudgetMs: 12_000,
};

export interface Timing {
  median_ms: number;
  min_ms: number;
  /** timed calls */
  runs: number;
  /** true when the first (cold) call is one of the samples: the slow-call path */
  cold: boolean;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function timeOnce(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

export function measure(fn: () => void, o: TimerOptions = defaultTimer): Timing {
  const first = timeOnce(fn);
  const samples: number[] = [];
  let cold = false;
  if (first >= o.slowMs) {
    cold = true;
    samples.push(first);
    let total = first;
    // another call only if it is expected to fit in the budget
    while (samples.length < o.slowReps && total + total / samples.length <= o.slowBudgetMs) {
      const t = timeOnce(fn);
      samples.push(t);
      total += t;
    }
  } else {
    let warm = first;
    for (let i = 1; i < 10 && warm < o.warmupMs; i++) warm += timeOnce(fn);
    let total = 0;
    while (samples.length < o.maxReps && (samples.length < o.minReps || total < o.budgetMs)) {
      const t = timeOnce(fn);
      samples.push(t);
      total += t;
    }
  }
  return { median_ms: median(samples), min_ms: Math.min(...samples), runs: samples.length, cold };
}
