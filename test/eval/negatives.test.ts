import { describe, expect, it } from 'vitest';
import { preprocess, fullSequence } from '../../src/data/preprocess.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { LogBuilder } from '../../src/data/types.js';
import { candidateLists, negativesFor, sampleNegatives } from '../../src/eval/negatives.js';

const ds = preprocess(generateSynthetic({ seed: 6, numUsers: 300, numItems: 500, maxLen: 60 }).log);

describe('1. sampled negatives', () => {
  for (const strategy of ['uniform', 'popularity'] as const) {
    it(`${strategy}: K distinct items outside the user's sequence, never the targets`, () => {
      const s = sampleNegatives(ds, { strategy, seed: 1 });
      expect(s.numNegatives).toBe(100);
      expect(s.items.length).toBe(ds.numUsers * 100);
      let bad = 0;
      for (let u = 0; u < ds.numUsers; u++) {
        const row = s.items.subarray(u * 100, u * 100 + 100);
        const seq = new Set(fullSequence(ds, u));
        if (new Set(row).size !== 100) bad++;
        for (const i of row) if (i < 1 || i > ds.numItems || seq.has(i) || i === ds.testTarget[u] || i === ds.validTarget[u]) bad++;
      }
      expect(bad).toBe(0);
    });
  }

  it('is reproducible from the seed and per user independent of the others', () => {
    const a = sampleNegatives(ds, { seed: 1 });
    expect([...sampleNegatives(ds, { seed: 1 }).items]).toEqual([...a.items]);
    expect([...sampleNegatives(ds, { seed: 2 }).items]).not.toEqual([...a.items]);
    expect([...sampleNegatives(ds, { seed: 1, strategy: 'popularity' }).items]).not.toEqual([...a.items]);
    const b = negativesFor(a, [7, 2]);
    expect([...b.subarray(0, 100)]).toEqual([...a.items.subarray(700, 800)]);
    expect([...b.subarray(100)]).toEqual([...a.items.subarray(200, 300)]);
    const c = candidateLists(a, [7], [ds.testTarget[7]!]);
    expect(c.length).toBe(101);
    expect(c[0]).toBe(ds.testTarget[7]);
    expect([...c.subarray(1)]).toEqual([...a.items.subarray(700, 800)]);
  });

  it('popularity sampling follows training popularity', () => {
    const s = sampleNegatives(ds, { strategy: 'popularity', seed: 3 });
    const drawn = new Float64Array(ds.numItems + 1);
    for (const i of s.items) drawn[i]!++;
    // the most popular decile is drawn far more often than the least popular half
    const order = Array.from({ length: ds.numItems }, (_, i) => i + 1).sort((a, b) => ds.itemPopularity[b]! - ds.itemPopularity[a]!);
    const mean = (ids: number[]): number => ids.reduce((t, i) => t + drawn[i]!, 0) / ids.length;
    const top = order.slice(0, Math.round(ds.numItems / 10));
    const bottom = order.slice(Math.round(ds.numItems / 2));
    expect(mean(top)).toBeGreaterThan(5 * mean(bottom));
    const zero = order.filter((i) => ds.itemPopularity[i] === 0);
    for (const i of zero) expect(drawn[i]).toBe(0);
  });

  it('fails clearly when a user has too few eligible items', () => {
    const b = new LogBuilder('keep');
    for (let u = 0; u < 2; u++) for (let i = 1; i <= 5; i++) b.add(`u${u}`, String(i + u), i, undefined, 'mem', 0);
    const tiny = preprocess(b.finish('mem', [], new Map()));
    expect(() => sampleNegatives(tiny, { numNegatives: 2 })).toThrow(/has only 1 items outside their sequence, fewer than 2 negatives/);
    const ok = sampleNegatives(tiny, { numNegatives: 1, strategy: 'popularity' });
    expect(ok.items.length).toBe(2);
  });
});
