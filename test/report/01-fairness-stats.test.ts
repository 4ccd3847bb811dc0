/**
 * src/eval/fairness-stats.ts against hand computations.
 */
import { describe, expect, it } from 'vitest';
import {
  bootstrapIndices,
  bootstrapMeanInterval,
  groupFairness,
  groupMeansFromRanks,
  groupMeansOf,
  meanStd,
  pairedComparison,
  pairedComparisonOf,
  quantileSorted,
  regularizedIncompleteBeta,
  studentTCdf,
  studentTQuantile,
  summaryFromFlat,
  twoGroupGap,
  unpairedSeeds,
} from '../../src/eval/fairness-stats.js';

describe('1. per-group means and the gap of one run', () => {
  // six users; ranks 0,1,5 for M and 10,10,2 for F; k = 5
  const users = [0, 1, 2, 3, 4, 5];
  const ranks = [0, 1, 5, 10, 10, 2];
  const labels = ['M', 'M', 'M', 'F', 'F', 'F'];

  it('two groups: per-group means from per-user ranks, Φ and the signed gap', () => {
    const g = groupMeansFromRanks(users, ranks, labels, [5]);
    // Recall@5: M = (1 + 1 + 0) / 3, F = (0 + 0 + 1) / 3
    expect(g.groups.M!.recall[5]).toBeCloseTo(2 / 3, 15);
    expect(g.groups.F!.recall[5]).toBeCloseTo(1 / 3, 15);
    // NDCG@5: M = (1 + 1/log2 3 + 0) / 3, F = (0 + 0 + 1/log2 4) / 3
    expect(g.groups.M!.ndcg[5]).toBeCloseTo((1 + 1 / Math.log2(3)) / 3, 15);
    expect(g.groups.F!.ndcg[5]).toBeCloseTo(0.5 / 3, 15);
    // MRR: M = (1 + 1/2 + 1/6) / 3, F = (1/11 + 1/11 + 1/3) / 3
    expect(g.groups.M!.mrr).toBeCloseTo((1 + 1 / 2 + 1 / 6) / 3, 15);
    expect(g.groups.F!.mrr).toBeCloseTo((2 / 11 + 1 / 3) / 3, 15);
    expect(g.overall.recall[5]).toBeCloseTo(0.5, 15);

    const f = groupFairness(g.groups, 'recall@5', ['M', 'F']);
    expect(f.gap).toBeCloseTo(1 / 3, 15); // Φ = |2/3 − 1/3|
    expect(f.signed).toBeCloseTo(1 / 3, 15); // M − F
    expect(f.worst).toBe('F');
    expect(f.worstValue).toBeCloseTo(1 / 3, 15);
    expect(groupFairness(g.groups, 'recall@5', ['F', 'M']).signed).toBeCloseTo(-1 / 3, 15);
    expect(twoGroupGap(0.2, 0.5)).toEqual({ phi: 0.3, signed: -0.3 });
  });

  it('per-group mean of any per-user vector', () => {
    expect(groupMeansOf([1, 2, 3, 10, 20, 40], labels)).toEqual({ F: { count: 3, mean: 70 / 3 }, M: { count: 3, mean: 2 } });
    expect(() => groupMeansOf([1], labels)).toThrow(/1 values but 6 labels/);
  });

  it('three groups: max − min gap and the worst group, from results.json records', () => {
    const groups = {
      niche: { 'recall@5': 0.2, 'ndcg@5': 0.1 },
      diverse: { 'recall@5': 0.35, 'ndcg@5': 0.3 },
      popular: { 'recall@5': 0.5, 'ndcg@5': 0.25 },
    };
    const f = groupFairness(groups, 'recall@5');
    expect(f.gap).toBeCloseTo(0.3, 15);
    expect(f.worst).toBe('niche');
    expect(f.worstValue).toBe(0.2);
    expect(f.best).toBe('popular');
    expect(f.signed).toBeNull();
    const n = groupFairness(groups, 'ndcg@5');
    expect(n.gap).toBeCloseTo(0.2, 15);
    expect(n.best).toBe('diverse');
  });

  it('groups without a value (null in results.json: no users) are left out', () => {
    const f = groupFairness({ a: { 'recall@5': null }, b: { 'recall@5': 0.3 }, c: { 'recall@5': 0.1 } }, 'recall@5', ['a', 'b']);
    expect(f.groups).toEqual(['b', 'c']);
    expect(f.gap).toBeCloseTo(0.2, 15);
    expect(f.signed).toBeNull(); // a has no value
    expect(() => groupFairness({ a: { 'recall@5': null } }, 'recall@5')).toThrow(/no group has a value of recall@5/);
    expect(summaryFromFlat({ 'recall@5': 0.5, 'ndcg@5': null, mrr: 0.25, extra: 3 })).toEqual({ count: Number.NaN, recall: { 5: 0.5 }, ndcg: { 5: Number.NaN }, mrr: 0.25 });
  });
});

describe('2. mean ± std over seeds', () => {
  it('uses the sample standard deviation (n − 1)', () => {
    const s = meanStd([0.3, 0.32, 0.34]);
    expect(s.mean).toBeCloseTo(0.32, 15);
    // deviations −0.02, 0, 0.02: sum of squares 0.0008; / (3 − 1) = 0.0004 → 0.02 (the population std would be 0.01633)
    expect(s.std).toBeCloseTo(0.02, 15);
    expect(s.n).toBe(3);
  });

  it('one seed has no std; non-finite values are dropped; empty is NaN', () => {
    expect(meanStd([0.5])).toEqual({ mean: 0.5, std: Number.NaN, n: 1 });
    expect(meanStd([1, Number.NaN, 3])).toEqual({ mean: 2, std: Math.SQRT2, n: 2 });
    expect(meanStd([])).toEqual({ mean: Number.NaN, std: Number.NaN, n: 0 });
  });
});

describe('3. Student t quantiles (computed, checked against closed forms)', () => {
  it('df = 1: t_p = tan(π (p − 1/2))', () => {
    for (const p of [0.6, 0.9, 0.975, 0.995]) expect(studentTQuantile(p, 1)).toBeCloseTo(Math.tan(Math.PI * (p - 0.5)), 9);
  });

  it('df = 2: t_p = (2p − 1) / √(2 p (1 − p))', () => {
    for (const p of [0.55, 0.9, 0.975, 0.995]) expect(studentTQuantile(p, 2)).toBeCloseTo((2 * p - 1) / Math.sqrt(2 * p * (1 - p)), 10);
  });

  it('df = 4: the closed-form CDF at the computed quantile is p', () => {
    // F(t) = 1/2 + (3/8) · (t / √(1 + t²/4)) · (1 − t² / (12 (1 + t²/4))); with x = t / √(4 + t²)
    // this is 1/2 + (3/4) x − (1/4) x³
    const cdf4 = (t: number): number => {
      const x = t / Math.sqrt(4 + t * t);
      return 0.5 + 0.75 * x - 0.25 * x ** 3;
    };
    for (const p of [0.8, 0.95, 0.975]) expect(cdf4(studentTQuantile(p, 4))).toBeCloseTo(p, 12);
    expect(studentTQuantile(0.975, 4)).toBeCloseTo(2.7764451, 6);
  });

  it('large df approaches the normal quantile; symmetric; CDF inverts the quantile', () => {
    expect(studentTQuantile(0.975, 1e6)).toBeCloseTo(1.959963984540054, 5);
    expect(studentTQuantile(0.025, 7)).toBeCloseTo(-studentTQuantile(0.975, 7), 12);
    expect(studentTQuantile(0.5, 3)).toBe(0);
    for (const df of [1, 3, 9, 30]) expect(studentTCdf(studentTQuantile(0.9, df), df)).toBeCloseTo(0.9, 12);
    expect(regularizedIncompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 14); // I_x(1,1) = x
    expect(regularizedIncompleteBeta(0.3, 2, 1)).toBeCloseTo(0.09, 14); // I_x(a,1) = x^a
    expect(() => studentTQuantile(1, 3)).toThrow(/p must be in \(0, 1\)/);
  });
});

describe('4. paired comparison against erm across seeds', () => {
  it('paired t interval on a hand-made example', () => {
    // method − erm per seed: 0.02, 0.03, 0.01 → mean 0.02, sample std 0.01, se 0.01/√3, df 2
    const c = pairedComparisonOf([1, 2, 3], [0.3, 0.32, 0.34], [0.28, 0.29, 0.33]);
    const t975 = 0.95 / Math.sqrt(2 * 0.975 * 0.025); // closed form for df = 2: 4.302652729749…
    expect(c.n).toBe(3);
    expect(c.df).toBe(2);
    expect(c.mean).toBeCloseTo(0.02, 14);
    expect(c.std).toBeCloseTo(0.01, 14);
    expect(c.se).toBeCloseTo(0.01 / Math.sqrt(3), 14);
    expect(c.lo).toBeCloseTo(0.02 - t975 * 0.01 / Math.sqrt(3), 10); // −0.004841…
    expect(c.hi).toBeCloseTo(0.02 + t975 * 0.01 / Math.sqrt(3), 10); // 0.044841…
    expect(c.excludesZero).toBe(false);
    expect(c.t).toBeCloseTo(2 * Math.sqrt(3), 10);
    // df = 2: two-sided p = 1 − t / √(2 + t²)
    expect(c.p).toBeCloseTo(1 - (2 * Math.sqrt(3)) / Math.sqrt(14), 10);
    expect(c.bootstrap).toBeUndefined();
  });

  it('pairs by seed, leaves out unpaired seeds, and an interval that excludes zero says so', () => {
    const method = new Map([[1, 0.5], [2, 0.52], [3, 0.55], [4, 0.53], [9, 0.9]]);
    const erm = new Map([[1, 0.4], [2, 0.41], [3, 0.43], [4, 0.44], [7, 0.1]]);
    expect(unpairedSeeds(method, erm)).toEqual([7, 9]);
    const c = pairedComparison(method, erm);
    expect(c.seeds).toEqual([1, 2, 3, 4]);
    // differences 0.10, 0.11, 0.12, 0.09: mean 0.105, sample std √(0.0005/3)
    expect(c.mean).toBeCloseTo(0.105, 14);
    expect(c.std).toBeCloseTo(Math.sqrt(0.0005 / 3), 14);
    expect(c.excludesZero).toBe(true);
    expect(c.lo).toBeGreaterThan(0);
  });

  it('degenerate cases: one pair has no interval; equal differences give a zero-width one', () => {
    const one = pairedComparisonOf([1], [0.5], [0.4]);
    expect(one.n).toBe(1);
    expect(one.mean).toBeCloseTo(0.1, 15);
    expect(Number.isNaN(one.lo) && Number.isNaN(one.hi)).toBe(true);
    const same = pairedComparisonOf([1, 2], [0.5, 0.6], [0.4, 0.5]);
    expect(same.lo).toBeCloseTo(0.1, 15);
    expect(same.hi).toBeCloseTo(0.1, 15);
    expect(same.p).toBe(0);
  });

  it('seeded bootstrap interval: reproducible, inside the range of the differences, exact for constant differences', () => {
    const d = [0.02, 0.03, 0.01, 0.05, -0.01];
    const a = bootstrapMeanInterval(d, 0.95, { samples: 4000, seed: 7 });
    const b = bootstrapMeanInterval(d, 0.95, { samples: 4000, seed: 7 });
    expect(a).toEqual(b);
    expect(a.lo).toBeGreaterThanOrEqual(-0.01);
    expect(a.hi).toBeLessThanOrEqual(0.05);
    expect(a.lo).toBeLessThan(0.02);
    expect(a.hi).toBeGreaterThan(0.02);
    const flat = bootstrapMeanInterval([0.1, 0.1, 0.1], 0.95, { samples: 100, seed: 1 });
    expect(flat.lo).toBeCloseTo(0.1, 15);
    expect(flat.hi).toBeCloseTo(0.1, 15);
    expect(bootstrapMeanInterval(d, 0.95, { samples: 4000, seed: 8 })).not.toEqual(a);
    // indices uniform on [0, n): mean close to (n − 1) / 2
    const idx = bootstrapIndices(5, 4000, 7);
    expect(Math.max(...idx)).toBe(4);
    expect(idx.reduce((s, x) => s + x, 0) / idx.length).toBeCloseTo(2, 1);
    const c = pairedComparisonOf([1, 2, 3], [0.3, 0.32, 0.34], [0.28, 0.29, 0.33], { bootstrap: { samples: 2000, seed: 3 } });
    expect(c.bootstrap!.samples).toBe(2000);
    expect(c.bootstrap!.lo).toBeGreaterThanOrEqual(0.01 - 1e-12);
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
  });
});
