import { describe, expect, it } from 'vitest';
import {
  aggregateMetrics,
  DEFAULT_KS,
  groupGap,
  metricsFromRanks,
  metricValue,
  RankAccumulator,
  rankCandidates,
  rankFull,
  rankSampled,
} from '../../src/eval/metrics.js';

const I = (...v: number[]): Int32Array => Int32Array.from(v);
const F = (...v: number[]): Float32Array => Float32Array.from(v);

describe('1. ranks (pessimistic ties)', () => {
  // 5 items; column 0 is padding and column 6 (a mask token) must be ignored
  //            pad  1    2    3    4    5    mask
  const row0 = [99, 0.1, 0.9, 0.5, 0.5, 0.2, 100];
  const row1 = [99, 0.3, 0.3, 0.3, 0.3, 0.3, 100];
  const scores = F(...row0, ...row1);

  it('counts strictly greater and tied candidates before the target', () => {
    // row 0, target 3 (0.5): item 2 (0.9) is above, item 4 (0.5) ties -> rank 2
    // row 1, all tied: every other item is before the target -> rank 4
    expect([...rankFull(scores, 7, I(3, 2), { numItems: 5 })]).toEqual([2, 4]);
    expect([...rankFull(scores, 7, I(2, 1), { numItems: 5 })]).toEqual([0, 4]);
    expect([...rankFull(scores, 7, I(1, 5), { numItems: 5 })]).toEqual([4, 4]);
  });

  it('excludes seen items but never the target, and ignores repeats in the list', () => {
    // row 0 target 3 excluding 2 and 4: nothing before it
    expect([...rankFull(scores, 7, I(3, 2), { numItems: 5, exclude: [I(2, 4, 4, 3), I(1, 1, 0)] })]).toEqual([0, 3]);
    // excluding items below the target does not change its rank
    expect([...rankFull(scores, 7, I(3, 2), { numItems: 5, exclude: [I(1, 5), undefined] })]).toEqual([2, 4]);
  });

  it('treats NaN pessimistically', () => {
    const s = F(0, NaN, 1, 2, /* row 1 */ 0, 1, NaN, 0.5);
    expect([...rankFull(s, 4, I(1, 1))]).toEqual([2, 0]); // NaN target last; NaN candidate never above
    expect([...rankSampled(s, 4, I(1, 1), I(2, 3, 2, 3), 2)]).toEqual([2, 0]);
  });

  it('sampled ranking, from full rows or from compact candidate scores', () => {
    // target 3 (0.5) vs negatives 2 (0.9), 4 (0.5 tie), 1 (0.1)
    expect([...rankSampled(scores, 7, I(3, 2), I(2, 4, 1, 1, 3, 4), 3)]).toEqual([2, 3]);
    expect([...rankCandidates(F(0.5, 0.9, 0.5, 0.1, /* row 1 */ 0.7, 0.1, 0.2, 0.3), 4)]).toEqual([2, 0]);
  });

  it('validates shapes and targets', () => {
    expect(() => rankFull(scores, 6, I(3, 2))).toThrow(/expected 2 rows x 6 columns/);
    expect(() => rankFull(scores, 7, I(0, 2), { numItems: 5 })).toThrow(/target of row 0 is 0/);
    expect(() => rankFull(scores, 7, I(6, 2), { numItems: 5 })).toThrow(/target of row 0 is 6/);
    expect(() => rankSampled(scores, 7, I(3, 2), I(1, 2), 3)).toThrow(/negatives has 2 ids/);
  });
});

describe('2. per-user metrics', () => {
  it('matches hand-computed values', () => {
    const m = metricsFromRanks(I(10, 11, 12, 13), I(0, 2, 4, 30));
    expect(m.ks).toEqual([...DEFAULT_KS]);
    expect([...m.recall[3]!]).toEqual([1, 1, 0, 0]);
    expect([...m.recall[5]!]).toEqual([1, 1, 1, 0]);
    expect([...m.recall[20]!]).toEqual([1, 1, 1, 0]);
    expect(m.ndcg[3]![0]).toBe(1);
    expect(m.ndcg[3]![1]).toBeCloseTo(1 / Math.log2(4), 15); // 0.5
    expect(m.ndcg[3]![2]).toBe(0);
    expect(m.ndcg[5]![2]).toBeCloseTo(1 / Math.log2(6), 15);
    expect(m.ndcg[20]![3]).toBe(0);
    expect([...m.mrr]).toEqual([1, 1 / 3, 1 / 5, 1 / 31]);
  });

  it('allows k larger than the candidate list (every user is a hit)', () => {
    const ranks = rankCandidates(F(0.1, 0.9, 0.8, /* row 1 */ 0.5, 0.4, 0.3), 3); // [2, 0]
    const m = metricsFromRanks(I(0, 1), ranks, [1, 200]);
    expect([...m.recall[200]!]).toEqual([1, 1]);
    expect([...m.recall[1]!]).toEqual([0, 1]);
    expect(m.ndcg[200]![0]).toBeCloseTo(0.5, 15);
    expect(() => metricsFromRanks(I(0), I(0), [0])).toThrow(/positive integer/);
  });

  it('accumulates ranks over batches', () => {
    const acc = new RankAccumulator();
    acc.add(I(5, 3), I(0, 1));
    acc.add([9], [7]);
    const m = acc.finish([1]);
    expect([...m.users]).toEqual([5, 3, 9]);
    expect([...m.recall[1]!]).toEqual([1, 0, 0]);
  });
});

describe('3. aggregation overall and per group', () => {
  const m = metricsFromRanks(I(0, 1, 2, 3, 4), I(0, 1, 5, 0, 25), [1, 10]);

  it('averages overall and per group label (array or map)', () => {
    const byArray = aggregateMetrics(m, ['a', 'b', 'a', 'b', 'a']);
    expect(byArray.overall.count).toBe(5);
    expect(byArray.overall.recall[10]).toBeCloseTo(4 / 5, 15);
    expect(Object.keys(byArray.groups)).toEqual(['a', 'b']);
    expect(byArray.groups.a!.count).toBe(3);
    expect(byArray.groups.a!.recall[1]).toBeCloseTo(1 / 3, 15);
    expect(byArray.groups.a!.ndcg[10]).toBeCloseTo((1 + 1 / Math.log2(7) + 0) / 3, 15);
    expect(byArray.groups.b!.mrr).toBeCloseTo((1 / 2 + 1) / 2, 15);
    const byMap = aggregateMetrics(m, new Map([[0, 'x'], [1, 'x']]));
    expect(byMap.groups.x!.count).toBe(2);
    expect(byMap.groups.unknown!.count).toBe(3);
    expect(aggregateMetrics(m).groups).toEqual({});
  });

  it('reports the best-worst gap (Φ for two groups)', () => {
    const g = aggregateMetrics(m, ['a', 'b', 'a', 'b', 'a']);
    const gap = groupGap(g, 'recall', 10);
    expect(gap.best).toBe('b');
    expect(gap.worst).toBe('a');
    expect(gap.gap).toBeCloseTo(1 - 2 / 3, 15);
    expect(metricValue(g.overall, 'mrr')).toBe(g.overall.mrr);
    expect(() => metricValue(g.overall, 'ndcg', 3)).toThrow(/ndcg@3 was not computed/);
  });
});
