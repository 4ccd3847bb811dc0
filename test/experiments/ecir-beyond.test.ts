/**
 * The "beyond the papers" table (src/experiments/ecir-beyond.ts) on hand-made scores: the choice
 * uses validation only (a candidate best on test but not on validation is not chosen), the
 * one-std band on validation overall, the paired differences and the verdict. The training grid
 * is the experiment command, not a test.
 */
import { describe, expect, it } from 'vitest';
import { beyondMarkdown, beyondTable, type SeedScores } from '../../src/experiments/ecir-beyond.js';

const G = ['popularity:3333', 'popularity:2060'];

/** one seed: validation overall/worst and test overall/worst (the same worst on both splits) */
function s(seed: number, vo: number, vw: number, to: number, tw: number): SeedScores {
  return { seed, valid: { overall: vo, worst: { [G[0]!]: vw, [G[1]!]: vw } }, test: { overall: to, worst: { [G[0]!]: tw, [G[1]!]: tw } } };
}

// erm: validation overall 0.120, 0.122, 0.124 (mean 0.122, sd 0.002); test overall 0.125 ± 0.001, worst 0.110, 0.111, 0.112
const erm = [s(1, 0.120, 0.100, 0.124, 0.110), s(2, 0.122, 0.101, 0.125, 0.111), s(3, 0.124, 0.102, 0.126, 0.112)];

describe('beyondTable', () => {
  it('chooses on validation within the one-std band and pairs the test differences with erm by seed', () => {
    const t = beyondTable(erm, [
      // validation overall 0.1195 < 0.122 − 0.002: out of the band, even though its test worst is best
      { name: 'strong', scores: [s(1, 0.119, 0.110, 0.120, 0.130), s(2, 0.119, 0.110, 0.121, 0.131), s(3, 0.120, 0.110, 0.119, 0.129)] },
      // in the band, best validation worst: chosen; test worst +0.002, +0.0025, +0.0015 over erm (mean 0.002, sd 0.0005: t interval ±0.0012)
      { name: 'mild', scores: [s(1, 0.121, 0.104, 0.124, 0.112), s(2, 0.121, 0.104, 0.125, 0.1135), s(3, 0.122, 0.104, 0.125, 0.1135)] },
      { name: 'plain', scores: [s(1, 0.123, 0.101, 0.125, 0.110), s(2, 0.123, 0.101, 0.125, 0.110)] },
      { name: 'not run', scores: [] },
    ], G);
    expect(t.rows.map((r) => r.name)).toEqual(['strong', 'mild', 'plain']);
    expect(t.chosen).toBe('mild');
    const mild = t.rows.find((r) => r.name === 'mild')!;
    expect(mild.vsErm[G[0]!]!.mean).toBeCloseTo(0.002, 10);
    expect(mild.vsErm[G[0]!]!.lo).toBeGreaterThan(0);
    expect(mild.vsErm.overall!.mean).toBeCloseTo((0 + 0 - 0.001) / 3, 10);
    // test overall 0.12467 >= 0.125 − 0.001
    expect(t.verdict).toEqual({ raises: true, significant: true, overallWithinOneStd: true });
    // 'plain' has seeds 1 and 2 only: paired on those
    expect(t.rows.find((r) => r.name === 'plain')!.vsErm[G[0]!]!.mean).toBeCloseTo(-0.0005, 10);
    const md = beyondMarkdown(t);
    expect(md).toContain('| **mild** | 3 |');
    expect(md).toContain('Chosen on validation: **mild**. Raises worst-group ndcg@20 on every popularity split (mean Δ > 0): **yes**');
  });

  it('says so when no candidate is in the band, and refuses an erm of one seed', () => {
    const t = beyondTable(erm, [{ name: 'weak', scores: [s(1, 0.1, 0.2, 0.1, 0.2)] }], G);
    expect(t.chosen).toBeNull();
    expect(beyondMarkdown(t)).toContain('none chosen');
    expect(() => beyondTable(erm.slice(0, 1), [], G)).toThrow(/at least 2 seeds/);
  });
});
