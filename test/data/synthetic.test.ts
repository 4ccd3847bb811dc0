import { describe, expect, it } from 'vitest';
import { generateSynthetic, type Group } from '../../src/data/synthetic.js';
import { evalSplit, preprocess, type Dataset } from '../../src/data/preprocess.js';
import { attributeGroups } from '../../src/data/groups.js';
import { aggregateMetrics, groupGap, metricsFromRanks, rankFull } from '../../src/eval/metrics.js';

const data = generateSynthetic({ seed: 11 });
const { log, truth } = data;

/** events of each raw user in generation (= chronological) order, as item numbers */
function sequences(): Map<string, number[]> {
  const m = new Map<string, number[]>();
  log.users.forEach((u, e) => (m.get(u) ?? m.set(u, []).get(u)!).push(Number(log.items[e])));
  return m;
}

describe('1. determinism', () => {
  it('same seed gives identical data, another seed different data', () => {
    const again = generateSynthetic({ seed: 11 });
    expect(again.log.users).toEqual(log.users);
    expect(again.log.items).toEqual(log.items);
    expect([...again.log.timestamps]).toEqual([...log.timestamps]);
    expect([...again.log.userAttributes]).toEqual([...log.userAttributes]);
    const other = generateSynthetic({ seed: 12 });
    expect(other.log.items).not.toEqual(log.items);
  });

  it('rejects impossible configurations', () => {
    expect(() => generateSynthetic({ numItems: 100, maxLen: 80 })).toThrow(/numItems must be/);
    expect(() => generateSynthetic({ minorityShare: 0 })).toThrow(/minorityShare/);
    expect(() => generateSynthetic({ stepProbs: [0.8, 0.3] })).toThrow(/stepProbs/);
  });
});

describe('2. planted structure', () => {
  const seqs = sequences();

  it('has the configured sizes, minority share and sequence lengths, no repeats, increasing time', () => {
    expect(seqs.size).toBe(1000);
    const groups = [...log.userAttributes.values()].map((a) => a.group);
    expect(groups.filter((g) => g === 'minority').length).toBe(200);
    expect(log.attributeNames).toEqual(['group']);
    const bad = [...seqs.values()].filter((s) => s.length < 10 || s.length > 80 || new Set(s).size !== s.length);
    expect(bad.length).toBe(0);
    const lens = [...seqs.values()].map((s) => s.length);
    expect(lens.filter((l) => l < 30).length).toBeGreaterThan(lens.filter((l) => l >= 60).length); // long tail of lengths
    let notIncreasing = 0;
    for (let e = 1; e < log.users.length; e++) {
      if (log.users[e] === log.users[e - 1] && !(log.timestamps[e]! > log.timestamps[e - 1]!)) notIncreasing++;
    }
    expect(notIncreasing).toBe(0);
  });

  it('each group mostly consumes its own item pool; stereotypical items are shared but majority-dominated', () => {
    const counts: Record<Group, Record<string, number>> = { majority: {}, minority: {} };
    for (const [u, s] of seqs) {
      const g = truth.userGroup.get(u)!;
      for (const i of s) counts[g][truth.itemKind[i]!] = (counts[g][truth.itemKind[i]!] ?? 0) + 1;
    }
    const share = (g: Group, k: string): number => (counts[g][k] ?? 0) / Object.values(counts[g]).reduce((a, b) => a + b, 0);
    expect(share('majority', 'majority')).toBeGreaterThan(0.7);
    expect(share('minority', 'minority')).toBeGreaterThan(0.7);
    expect(share('majority', 'minority')).toBeLessThan(0.1);
    expect(share('minority', 'majority')).toBeLessThan(0.1);
    expect(share('minority', 'stereotype')).toBeGreaterThan(0.08);
    expect(counts.majority.stereotype!).toBeGreaterThan(2 * counts.minority.stereotype!);
  });

  it('items have a long-tailed popularity', () => {
    const pop = new Map<string, number>();
    for (const i of log.items) pop.set(i, (pop.get(i) ?? 0) + 1);
    const sorted = [...pop.values()].sort((a, b) => b - a);
    const top10 = sorted.slice(0, Math.round(sorted.length / 10)).reduce((a, b) => a + b, 0);
    expect(top10 / log.items.length).toBeGreaterThan(0.25);
  });

  it('after a stereotypical item, majority users go to its follow-up and minority users resume their chain', () => {
    const follow: Record<Group, [number, number]> = { majority: [0, 0], minority: [0, 0] };
    const resume: Record<Group, [number, number]> = { majority: [0, 0], minority: [0, 0] };
    for (const [u, s] of seqs) {
      const g = truth.userGroup.get(u)!;
      for (let j = 1; j + 1 < s.length; j++) {
        const it = s[j]!;
        const prev = s[j - 1]!;
        if (truth.itemKind[it] !== 'stereotype' || truth.itemKind[prev] === 'stereotype') continue;
        follow[g][1]++;
        if (s[j + 1] === truth.followUp[it]) follow[g][0]++;
        const c = truth.itemChain[prev]!;
        resume[g][1]++;
        if (truth.itemChain[s[j + 1]!] === c) resume[g][0]++;
      }
    }
    expect(follow.majority[0] / follow.majority[1]).toBeGreaterThan(0.6);
    expect(follow.minority[0] / follow.minority[1]).toBeLessThan(0.05);
    expect(resume.minority[0] / resume.minority[1]).toBeGreaterThan(0.8);
    expect(resume.majority[0] / resume.majority[1]).toBeLessThan(0.35);
  });

  it('items within a chain follow each other: the next item is usually the next chain item', () => {
    let chainSteps = 0;
    let steps = 0;
    for (const s of seqs.values()) {
      for (let j = 1; j < s.length; j++) {
        if (truth.itemKind[s[j - 1]!] === 'stereotype' || truth.itemKind[s[j]!] === 'stereotype') continue;
        steps++;
        const c = truth.itemChain[s[j - 1]!]!;
        const d = truth.chains[c]!.indexOf(s[j]!) - truth.chains[c]!.indexOf(s[j - 1]!);
        if (truth.itemChain[s[j]!] === c && d >= 1 && d <= 2) chainSteps++;
      }
    }
    expect(chainSteps / steps).toBeGreaterThan(0.75);
  });
});

/** Full-ranking NDCG@10 of a first-order Markov model trained naively on the training sequences. */
function markovGap(ds: Dataset): { majority: number; minority: number; gap: number } {
  const N = ds.numItems;
  const trans = new Map<number, Map<number, number>>();
  for (const s of ds.train) {
    for (let j = 1; j < s.length; j++) {
      const m = trans.get(s[j - 1]!) ?? trans.set(s[j - 1]!, new Map()).get(s[j - 1]!)!;
      m.set(s[j]!, (m.get(s[j]!) ?? 0) + 1);
    }
  }
  const split = evalSplit(ds, 'test');
  const scores = new Float32Array(split.users.length * (N + 1));
  split.inputs.forEach((h, b) => {
    const row = b * (N + 1);
    for (let i = 1; i <= N; i++) scores[row + i] = 1e-6 * ds.itemPopularity[i]!; // popularity breaks ties
    for (const [i, c] of trans.get(h[h.length - 1]!) ?? []) scores[row + i]! += c;
  });
  const ranks = rankFull(scores, N + 1, split.targets, { exclude: split.inputs });
  const agg = aggregateMetrics(metricsFromRanks(split.users, ranks), attributeGroups(ds, 'group'));
  return { majority: agg.groups.majority!.ndcg[10]!, minority: agg.groups.minority!.ndcg[10]!, gap: groupGap(agg, 'ndcg', 10).gap };
}

describe('3. the planted bias hurts the minority under naive training', () => {
  it('a naive Markov model ranks the minority clearly worse (NDCG@10 gap > 0.1)', () => {
    const r = markovGap(preprocess(log));
    expect(r.majority).toBeGreaterThan(0.5); // the sequential structure is learnable
    expect(r.minority).toBeLessThan(r.majority - 0.1);
    expect(r.gap).toBeCloseTo(r.majority - r.minority, 12);
  });
});
