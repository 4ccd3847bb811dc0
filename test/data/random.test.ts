import { describe, expect, it } from 'vitest';
import { uniformAt } from '../../src/engine/philox.js';
import { BLOCK, SeededRandom, UniformStream, cumulative } from '../../src/data/random.js';

describe('1. SeededRandom over Philox', () => {
  it('draw i is uniformAt(key, offset + i), across block boundaries', () => {
    const key = { seed: 42, stream: 7, offset: 3 };
    const r = new SeededRandom(key);
    for (let i = 0; i < 23; i++) expect(r.uniform()).toBe(uniformAt(key, 3 + i));
    expect(r.drawn).toBe(23);
    const s = new UniformStream(42, 7);
    for (const e of [0, 5, 4, 3, 1000, 17]) expect(s.get(e)).toBe(uniformAt(key, e));
    const b = SeededRandom.at(42, 7, 2);
    expect(b.uniform()).toBe(uniformAt(key, 2 * BLOCK));
  });

  it('is deterministic from the seed and differs across seeds and streams', () => {
    const a = SeededRandom.at(1, 5).permutation(50);
    expect([...SeededRandom.at(1, 5).permutation(50)]).toEqual([...a]);
    expect([...SeededRandom.at(2, 5).permutation(50)]).not.toEqual([...a]);
    expect([...SeededRandom.at(1, 6).permutation(50)]).not.toEqual([...a]);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('int covers its range uniformly and weighted follows the weights', () => {
    const r = SeededRandom.at(3, 1);
    const counts = new Array(5).fill(0);
    for (let i = 0; i < 20000; i++) counts[r.int(5)]++;
    for (const c of counts) expect(Math.abs(c - 4000)).toBeLessThan(250);
    const cum = cumulative([1, 0, 3]);
    const w = [0, 0, 0];
    for (let i = 0; i < 20000; i++) w[r.weighted(cum)]++;
    expect(w[1]).toBe(0);
    expect(Math.abs(w[2]! / 20000 - 0.75)).toBeLessThan(0.02);
    expect(() => r.int(0)).toThrow(/positive integer/);
    expect(() => cumulative([1, -1])).toThrow(/weight 1/);
    expect(() => SeededRandom.at(-1, 0)).toThrow(RangeError);
  });
});
