/**
 * Fairness statistics over user groups and over seeds (issue 4, part 3).
 *
 * Per run (one model trained with one seed):
 *   - per-group means of the per-user metric vectors: aggregateMetrics (metrics.ts), here also from
 *     the ranks of a run's per-user side file (`groupMeansFromRanks`);
 *   - the gap Φ of the SIGIR 2024 paper's Eq. 1 for two groups, Φ = |mean_{A1} − mean_{A2}|, and the
 *     SIGNED gap mean_{A1} − mean_{A2} for an explicit order (A1, A2): |Φ| is biased upward by noise
 *     when the true gap is near zero, so the signed gap and its interval over seeds say more;
 *   - for any number of groups, the max − min gap (Φ again for two groups) and the worst group's
 *     value, via groupGap (metrics.ts).
 *
 * Over seeds:
 *   - mean ± std, where std is the SAMPLE standard deviation (divisor n − 1) — the spread a new
 *     seed would show, and what the papers' "± std" columns report; NaN for a single seed;
 *   - a paired comparison of a method against a baseline (`erm`) by seed: d_s = x_method,s − x_erm,s,
 *     the mean difference d̄ with the paired t interval d̄ ± t_{n−1, 1−α/2} · s_d / √n, where the
 *     Student t quantile is computed (regularized incomplete beta + bisection, below), not looked
 *     up; and optionally a seeded percentile bootstrap interval of d̄ (resampling seeds with
 *     replacement, Philox counter-based draws so it reproduces exactly). With the usual 3–5 seeds
 *     the bootstrap can only take a handful of distinct values and is narrower than the t interval
 *     (it ignores the uncertainty in s_d); the t interval is the one the report tables show.
 */
import { philoxBlock, u32ToUniform } from '../engine/philox.js';
import {
  DEFAULT_KS,
  type GroupedMetrics,
  type GroupLabels,
  type MetricName,
  type MetricSummary,
  aggregateMetrics,
  groupGap,
  metricsFromRanks,
} from './metrics.js';

// ---------------------------------------------------------------------------------------------
// Per-group means and gaps of one run

/**
 * Per-group means of a run from its per-user ranks (the `ranks` and `users` of a per-user side
 * file): rebuilds the per-user metric vectors (metricsFromRanks) and averages them per group
 * (aggregateMetrics). Users missing from `labels` are grouped under 'unknown'.
 */
export function groupMeansFromRanks(users: ArrayLike<number>, ranks: ArrayLike<number>, labels: GroupLabels, ks: readonly number[] = DEFAULT_KS): GroupedMetrics {
  return aggregateMetrics(metricsFromRanks(Int32Array.from(users), Int32Array.from(ranks), ks), labels);
}

/** Mean of an arbitrary per-user vector (a loss, a per-user metric from a side file) per group. */
export function groupMeansOf(values: ArrayLike<number>, labels: readonly string[]): Record<string, { count: number; mean: number }> {
  if (values.length !== labels.length) throw new RangeError(`groupMeansOf: ${values.length} values but ${labels.length} labels`);
  const acc = new Map<string, { count: number; sum: number }>();
  for (let i = 0; i < values.length; i++) {
    const l = labels[i]!;
    let a = acc.get(l);
    if (a === undefined) acc.set(l, (a = { count: 0, sum: 0 }));
    a.count++;
    a.sum += values[i]!;
  }
  const out: Record<string, { count: number; mean: number }> = {};
  for (const l of [...acc.keys()].sort()) out[l] = { count: acc.get(l)!.count, mean: acc.get(l)!.sum / acc.get(l)!.count };
  return out;
}

/** Φ and the signed gap of two group means: signed = a − b, phi = |a − b| (SIGIR 2024, Eq. 1). */
export function twoGroupGap(a: number, b: number): { phi: number; signed: number } {
  const signed = a - b;
  return { phi: Math.abs(signed), signed };
}

const METRIC_KEY = /^(recall|ndcg)@(\d+)$/;

/**
 * results.json's flat metric record ({"recall@5": …, "ndcg@5": …, "mrr": …}) as a MetricSummary,
 * so that groupGap and metricValue apply to it. A null or missing value (JSON has no NaN: an empty
 * group's means are written as null) becomes NaN. Keys other than recall@k/hr@k, ndcg@k and mrr
 * are ignored.
 */
export function summaryFromFlat(rec: Readonly<Record<string, number | null | undefined>>, count = Number.NaN): MetricSummary {
  const s: MetricSummary = { count, recall: {}, ndcg: {}, mrr: Number.NaN };
  for (const [key, v] of Object.entries(rec)) {
    const x = typeof v === 'number' ? v : Number.NaN;
    const name = key.toLowerCase().replace(/^hr@/, 'recall@');
    if (name === 'mrr') s.mrr = x;
    const m = METRIC_KEY.exec(name);
    if (m) s[m[1] as 'recall' | 'ndcg'][Number(m[2])] = x;
  }
  return s;
}

/** Splits a metric key 'recall@5' / 'ndcg@20' / 'mrr' into the (metric, k) of metrics.ts. */
export function metricKey(name: string): { metric: MetricName; k?: number } {
  const s = name.toLowerCase().replace(/^hr@/, 'recall@');
  if (s === 'mrr') return { metric: 'mrr' };
  const m = METRIC_KEY.exec(s);
  if (!m || Number(m[2]) < 1) throw new RangeError(`metric must be recall@k, hr@k, ndcg@k or mrr, got '${name}'`);
  return { metric: m[1] as MetricName, k: Number(m[2]) };
}

export interface GroupFairness {
  /** groups with a finite value, in the order given */
  groups: string[];
  /** max − min over groups; Φ of Eq. 1 for two groups */
  gap: number;
  worst: string;
  worstValue: number;
  best: string;
  bestValue: number;
  /** value(order[0]) − value(order[1]) when an order of two groups is given and both have values */
  signed: number | null;
}

/**
 * Fairness of one run on one grouping and metric, from per-group means (a label → metric record
 * as in results.json, or a MetricSummary). Groups whose value is missing/NaN (no users) are left
 * out. `order` = [A1, A2] orients the signed gap. Throws when no group has a value.
 */
export function groupFairness(groups: Readonly<Record<string, Readonly<Record<string, number | null | undefined>> | MetricSummary>>, metric: string, order?: readonly [string, string]): GroupFairness {
  const { metric: name, k } = metricKey(metric);
  const g: GroupedMetrics = { overall: summaryFromFlat({}), groups: {} };
  for (const [label, rec] of Object.entries(groups)) {
    const s = isSummary(rec) ? rec : summaryFromFlat(rec);
    const v = name === 'mrr' ? s.mrr : s[name][k!];
    if (typeof v === 'number' && Number.isFinite(v)) g.groups[label] = { ...s, count: 1 };
  }
  if (Object.keys(g.groups).length === 0) throw new RangeError(`groupFairness: no group has a value of ${metric} (groups: ${Object.keys(groups).join(', ') || 'none'})`);
  const gg = groupGap(g, name, k);
  let signed: number | null = null;
  if (order !== undefined) {
    const a = g.groups[order[0]], b = g.groups[order[1]];
    if (a !== undefined && b !== undefined) signed = twoGroupGap(read(a, name, k), read(b, name, k)).signed;
  }
  return { groups: Object.keys(g.groups), gap: gg.gap, worst: gg.worst, worstValue: gg.worstValue, best: gg.best, bestValue: gg.bestValue, signed };
}

function isSummary(x: unknown): x is MetricSummary {
  return typeof x === 'object' && x !== null && 'recall' in x && typeof (x as MetricSummary).recall === 'object';
}

function read(s: MetricSummary, name: MetricName, k: number | undefined): number {
  return name === 'mrr' ? s.mrr : s[name][k!]!;
}

// ---------------------------------------------------------------------------------------------
// Over seeds

export interface MeanStd {
  mean: number;
  /** sample standard deviation (n − 1); NaN when n < 2 */
  std: number;
  n: number;
}

/** Mean and sample standard deviation (divisor n − 1) of the finite values; NaN fields when empty. */
export function meanStd(values: readonly number[]): MeanStd {
  const v = values.filter((x) => Number.isFinite(x));
  const n = v.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN, n: 0 };
  const mean = v.reduce((s, x) => s + x, 0) / n;
  const std = n > 1 ? Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1)) : Number.NaN;
  return { mean, std, n };
}

// ---------------------------------------------------------------------------------------------
// Student's t distribution

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; ~1e-15 relative). */
export function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta (modified Lentz; Numerical Recipes' betacf). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) return h;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b), a, b > 0, 0 <= x <= 1. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0 && b > 0)) throw new RangeError(`regularizedIncompleteBeta: a and b must be > 0, got a = ${a}, b = ${b}`);
  if (!(x >= 0 && x <= 1)) throw new RangeError(`regularizedIncompleteBeta: x must be in [0, 1], got ${x}`);
  if (x === 0 || x === 1) return x;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x));
  // the continued fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(T <= t) for Student's t with `df` > 0 degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`studentTCdf: df must be > 0, got ${df}`);
  if (Number.isNaN(t)) return Number.NaN;
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  const tail = 0.5 * regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5); // P(T > |t|)
  return t >= 0 ? 1 - tail : tail;
}

/**
 * The p-quantile of Student's t with `df` degrees of freedom, 0 < p < 1: bisection on studentTCdf
 * to the last bit (closed forms exist for df = 1 and 2 only; the tests check against them).
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`studentTQuantile: p must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new RangeError(`studentTQuantile: df must be > 0, got ${df}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  const key = `${p}:${df}`;
  let q = quantileCache.get(key);
  if (q === undefined) {
    q = solveTQuantile(p, df);
    if (quantileCache.size > 256) quantileCache.clear();
    quantileCache.set(key, q);
  }
  return q;
}

// a report asks for the same few quantiles (one level, a few seed counts) hundreds of times
const quantileCache = new Map<string, number>();

function solveTQuantile(p: number, df: number): number {
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) {
    lo = hi;
    hi *= 2;
    if (hi > 1e300) return Infinity;
  }
  for (let i = 0; i < 200 && hi - lo > 1e-15 * Math.max(1, hi); i++) {
    const mid = 0.5 * (lo + hi);
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

// ---------------------------------------------------------------------------------------------
// Paired comparison across seeds

/** Philox stream of the bootstrap draws (apart from the engine's streams, which are < 200). */
export const BOOTSTRAP_STREAM = 200;

export interface BootstrapOptions {
  /** resamples (default 10000) */
  samples?: number;
  /** Philox seed of the draws (default 0) */
  seed?: number;
}

export interface PairedOptions {
  /** two-sided confidence level (default 0.95) */
  level?: number;
  /** also compute a percentile bootstrap interval (false: none) */
  bootstrap?: BootstrapOptions | false;
}

export interface PairedComparison {
  /** seeds present in both, ascending */
  seeds: number[];
  n: number;
  /** mean of d_s = method_s − baseline_s */
  mean: number;
  /** sample std of the differences (n − 1) */
  std: number;
  /** std / √n */
  se: number;
  df: number;
  level: number;
  /** t statistic d̄ / se (±Infinity when every difference is equal and non-zero) */
  t: number;
  /** two-sided p-value of H0: mean difference 0 */
  p: number;
  /** paired t interval; NaN when n < 2 */
  lo: number;
  hi: number;
  /** the t interval lies entirely above or below zero */
  excludesZero: boolean;
  bootstrap?: { lo: number; hi: number; samples: number; seed: number };
}

/** Seeds present in only one of the two sides (they are left out of the pairing). */
export function unpairedSeeds(method: ReadonlyMap<number, number>, baseline: ReadonlyMap<number, number>): number[] {
  const out = new Set<number>();
  for (const s of method.keys()) if (!baseline.has(s)) out.add(s);
  for (const s of baseline.keys()) if (!method.has(s)) out.add(s);
  return [...out].sort((a, b) => a - b);
}

const bootIndexCache = new Map<string, Uint32Array>();

/**
 * Resample indices for `samples` bootstrap draws of n items: row b is n indices in [0, n). Drawn
 * from Philox (seed, BOOTSTRAP_STREAM) element b·n + j, so a bootstrap reproduces from its seed;
 * the same matrix serves every comparison with the same n (common random numbers), which also
 * keeps a report with many comparisons fast.
 */
export function bootstrapIndices(n: number, samples: number, seed: number): Uint32Array {
  const key = `${n}:${samples}:${seed}`;
  let idx = bootIndexCache.get(key);
  if (idx === undefined) {
    idx = new Uint32Array(n * samples);
    // element e is word e % 4 of Philox block e / 4 (what uniformAt(key, e) reads), a block at a time
    for (let e = 0; e < idx.length; e += 4) {
      const block = philoxBlock(seed, e / 4, BOOTSTRAP_STREAM, 0);
      for (let w = 0; w < 4 && e + w < idx.length; w++) idx[e + w] = Math.min(n - 1, Math.floor(u32ToUniform(block[w]!) * n));
    }
    if (bootIndexCache.size > 64) bootIndexCache.clear();
    bootIndexCache.set(key, idx);
  }
  return idx;
}

/** Quantile of sorted values with linear interpolation between order statistics (R's type 7). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** Percentile bootstrap interval of the mean of `d`. */
export function bootstrapMeanInterval(d: readonly number[], level = 0.95, opts: BootstrapOptions = {}): { lo: number; hi: number; samples: number; seed: number } {
  const samples = opts.samples ?? 10_000;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(samples) || samples < 1) throw new RangeError(`bootstrap: samples must be a positive integer, got ${samples}`);
  const n = d.length;
  if (n === 0) return { lo: Number.NaN, hi: Number.NaN, samples, seed };
  const idx = bootstrapIndices(n, samples, seed);
  const means = new Float64Array(samples);
  for (let b = 0; b < samples; b++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += d[idx[b * n + j]!]!;
    means[b] = s / n;
  }
  means.sort();
  const alpha = 1 - level;
  return { lo: quantileSorted(means, alpha / 2), hi: quantileSorted(means, 1 - alpha / 2), samples, seed };
}

/**
 * Paired comparison of a method against a baseline over the seeds both have (see the file
 * comment): values by seed; non-finite values drop their seed.
 */
export function pairedComparison(method: ReadonlyMap<number, number>, baseline: ReadonlyMap<number, number>, opts: PairedOptions = {}): PairedComparison {
  const level = opts.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new RangeError(`pairedComparison: level must be in (0, 1), got ${level}`);
  const seeds = [...method.keys()].filter((s) => baseline.has(s) && Number.isFinite(method.get(s)!) && Number.isFinite(baseline.get(s)!)).sort((a, b) => a - b);
  const d = seeds.map((s) => method.get(s)! - baseline.get(s)!);
  const { mean, std, n } = meanStd(d);
  const df = n - 1;
  const se = std / Math.sqrt(n);
  let lo = Number.NaN, hi = Number.NaN, t = Number.NaN, p = Number.NaN;
  if (n >= 2) {
    if (std === 0) {
      // every difference equal: no spread to test against
      lo = hi = mean;
      t = mean === 0 ? 0 : Math.sign(mean) * Infinity;
      p = mean === 0 ? 1 : 0;
    } else {
      const q = studentTQuantile(1 - (1 - level) / 2, df);
      lo = mean - q * se;
      hi = mean + q * se;
      t = mean / se;
      p = 2 * (1 - studentTCdf(Math.abs(t), df));
    }
  }
  const out: PairedComparison = { seeds, n, mean, std, se, df, level, t, p, lo, hi, excludesZero: lo > 0 || hi < 0 };
  if (opts.bootstrap !== false && opts.bootstrap !== undefined) out.bootstrap = bootstrapMeanInterval(d, level, opts.bootstrap);
  return out;
}

/** Convenience: paired comparison from two arrays aligned by seed list. */
export function pairedComparisonOf(seeds: readonly number[], method: readonly number[], baseline: readonly number[], opts: PairedOptions = {}): PairedComparison {
  if (seeds.length !== method.length || seeds.length !== baseline.length) {
    throw new RangeError(`pairedComparisonOf: ${seeds.length} seeds, ${method.length} method values and ${baseline.length} baseline values`);
  }
  return pairedComparison(new Map(seeds.map((s, i) => [s, method[i]!])), new Map(seeds.map((s, i) => [s, baseline[i]!])), opts);
}
