/**
 * Tests of src/eval/evaluate.ts and src/eval/groupings.ts with a model whose scores the test
 * controls (FixedScores: score of item j after item i is S[i][j]).
 *
 *   1. full ranking: hand-checked ranks (ties pessimistic), exclusion of seen items, validation split
 *   2. every user's rank equals a brute-force count (full and sampled, uniform and popularity)
 *   3. per-group summaries are the means over the group's users; flat metric records
 *   4. grouping specs
 */
import { describe, expect, it } from 'vitest';
import { evaluate, flatEvaluation, flatMetrics, negativesOf, parseProtocolKey, protocolKey } from '../../src/eval/evaluate.js';
import { parseShares, resolveGrouping } from '../../src/eval/groupings.js';
import { testInput } from '../../src/data/preprocess.js';
import { FixedScores, datasetFrom } from './helpers.js';

const N = 140;
// score of j after i: −(j − (i+1))², so the item after the last one ranks first
const S = Array.from({ length: N + 1 }, (_, i) => Array.from({ length: N + 1 }, (_, j) => -((j - i - 1) ** 2)));
const hand: Record<string, number[]> = {
  u1: [10, 11, 12, 13],
  u2: [20, 21, 22, 24],
  u3: [50, 51, 52, 60],
};
// fillers: every other item, so that items 1..N keep their ids and everyone has 100+ negatives
const used = new Set(Object.values(hand).flat());
const rest = Array.from({ length: N }, (_, i) => i + 1).filter((i) => !used.has(i));
const seqs: Record<string, number[]> = { ...hand };
for (let f = 0; f < 4; f++) seqs[`z${f}`] = rest.filter((_, k) => k % 4 === f);
const attrs: Record<string, Record<string, string>> = Object.fromEntries(
  Object.keys(seqs).map((u, k) => [u, { gender: k % 2 === 0 ? 'F' : 'M' }]));
const ds = datasetFrom(seqs, attrs);
const model = new FixedScores(N, S, 10);
const idx = (u: string): number => ds.userIds.indexOf(u);

describe('1. full ranking, hand-checked', () => {
  it('keeps item ids (fixture sanity)', () => {
    expect(ds.numItems).toBe(N);
    expect(ds.itemIds.slice(1).map(Number)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
  });

  it('ranks the test targets as designed (ties count against the target)', () => {
    const ev = evaluate(model, ds, { protocols: [{ protocol: 'full' }, { protocol: 'full', excludeSeen: true }] });
    const full = ev.protocols.full!.perUser.ranks;
    const unseen = ev.protocols['full-unseen']!.perUser.ranks;
    // u1: 13 follows 12 → 0. u2: 23 above, 21 ties (both at distance 1) → 2; 21 was seen → 1.
    // u3: |j − 53| < 7 for 47..59 (13 items), 46 ties → 14; 50, 51, 52 seen → 11.
    expect([full[idx('u1')], full[idx('u2')], full[idx('u3')]]).toEqual([0, 2, 14]);
    expect([unseen[idx('u1')], unseen[idx('u2')], unseen[idx('u3')]]).toEqual([0, 1, 11]);
    const m = ev.protocols.full!.perUser;
    expect(m.ndcg[5]![idx('u2')]).toBeCloseTo(1 / Math.log2(4), 12);
    expect(m.recall[10]![idx('u3')]).toBe(0);
    expect(m.recall[20]![idx('u3')]).toBe(1);
    expect(m.mrr[idx('u3')]).toBeCloseTo(1 / 15, 12);
  });

  it('validation inputs stop before the validation target', () => {
    const ev = evaluate(model, ds, { split: 'valid', protocols: { protocol: 'full' } });
    const r = ev.protocols.full!.perUser.ranks;
    // u2 valid: input [20, 21], target 22 → rank 0; u3: input [50, 51], target 52 → 0
    expect([r[idx('u1')], r[idx('u2')], r[idx('u3')]]).toEqual([0, 0, 0]);
    // and the per-user loss is the full-softmax cross-entropy of the target
    const row = S[21]!;
    const lse = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
    expect(ev.loss[idx('u2')]).toBeCloseTo(lse - row[22]!, 4);
  });
});

describe('2. ranks equal brute-force counts', () => {
  const last = (u: number): number => {
    const h = testInput(ds, u);
    return h[h.length - 1]!;
  };
  const bruteRank = (u: number, candidates: number[]): number => {
    const i = last(u), t = ds.testTarget[u]!;
    return candidates.filter((j) => j !== t && S[i]![j]! >= S[i]![t]!).length;
  };

  it('full ranking, with and without seen items, in batches of 2', () => {
    const ev = evaluate(model, ds, { batchSize: 2, protocols: [{ protocol: 'full' }, { protocol: 'full', excludeSeen: true }] });
    for (let u = 0; u < ds.numUsers; u++) {
      const all = Array.from({ length: N }, (_, k) => k + 1);
      const seen = new Set(testInput(ds, u));
      expect(ev.protocols.full!.perUser.ranks[u]).toBe(bruteRank(u, all));
      expect(ev.protocols['full-unseen']!.perUser.ranks[u]).toBe(bruteRank(u, all.filter((j) => !seen.has(j))));
    }
  });

  for (const negatives of ['uniform', 'popularity'] as const) {
    it(`sampled ranking against 100 ${negatives} negatives drawn once per user and seed`, () => {
      const ev = evaluate(model, ds, { seed: 4, protocols: { protocol: 'sampled', negatives } });
      const samples = negativesOf(ds, negatives, 100, 4);
      expect(negativesOf(ds, negatives, 100, 4)).toBe(samples); // cached, so validation reuses them
      for (let u = 0; u < ds.numUsers; u++) {
        const negs = [...samples.items.subarray(u * 100, u * 100 + 100)];
        expect(ev.protocols[`sampled-${negatives}`]!.perUser.ranks[u]).toBe(bruteRank(u, negs));
      }
      // another seed draws other negatives
      expect(negativesOf(ds, negatives, 100, 5).items).not.toEqual(samples.items);
    });
  }
});

describe('3. group summaries and flat records', () => {
  it('means per group equal the means over their members', () => {
    const labels = ds.userAttributes.map((a) => a.gender!);
    const ev = evaluate(model, ds, { protocols: { protocol: 'full' }, groupings: { gender: labels } });
    const p = ev.protocols.full!;
    for (const g of ['F', 'M']) {
      const members = [...p.perUser.users].map((u, i) => [u, i] as const).filter(([u]) => labels[u] === g).map(([, i]) => i);
      const mean = members.reduce((s, i) => s + p.perUser.ndcg[5]![i]!, 0) / members.length;
      expect(p.groups.gender![g]!.ndcg[5]).toBeCloseTo(mean, 12);
      expect(p.groups.gender![g]!.count).toBe(members.length);
    }
    const flat = flatEvaluation(p);
    expect(Object.keys(flat.overall)).toEqual(['recall@3', 'ndcg@3', 'recall@5', 'ndcg@5', 'recall@10', 'ndcg@10', 'recall@20', 'ndcg@20', 'mrr']);
    expect(flat.groups.gender!.F!['ndcg@5']).toBe(p.groups.gender!.F!.ndcg[5]);
    expect(flatMetrics(p.overall).mrr).toBe(p.overall.mrr);
  });

  it('protocol keys round-trip', () => {
    for (const k of ['full', 'full-unseen', 'sampled-popularity', 'sampled-uniform', 'sampled-uniform-50']) {
      expect(protocolKey(parseProtocolKey(k))).toBe(k);
    }
    expect(() => parseProtocolKey('sampled-zipf')).toThrow(/unknown protocol 'sampled-zipf'/);
  });

  it('rejects a model of another catalogue', () => {
    const other = new FixedScores(N - 1, S.slice(0, N).map((r) => r.slice(0, N)), 10);
    expect(() => evaluate(other, ds)).toThrow(/the model has 139 items but the data set mem has 140/);
  });
});

describe('4. grouping specs', () => {
  it('parses shares', () => {
    expect(parseShares('2060', 'x')).toEqual([0.2, 0.8]);
    expect(parseShares('10/80/10', 'x')).toEqual([0.1, 0.9]);
    expect(parseShares('33-33-33', 'x')).toEqual([1 / 3, 2 / 3]);
    expect(() => parseShares('20/20/20', 'x')).toThrow(/sum to 100/);
    expect(() => parseShares('abc', 'x')).toThrow(/must look like/);
  });

  it('resolves attributes, popularity and length groupings with clear errors', () => {
    expect(resolveGrouping(ds, 'gender').labels[idx('u1')]).toBe('F');
    for (const l of resolveGrouping(ds, 'popularity').labels) expect(['niche', 'diverse', 'popular']).toContain(l);
    expect(resolveGrouping(ds, 'length:2060').labels[idx('u1')]).toBe('short');
    expect(() => resolveGrouping(ds, 'occupation')).toThrow(/unknown grouping 'occupation': mem has 'gender', 'popularity', 'length'/);
    expect(() => resolveGrouping(ds, 'gender:2060')).toThrow(/only popularity and length take shares/);
  });
});
