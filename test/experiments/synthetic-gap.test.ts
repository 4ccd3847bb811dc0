/**
 * The arithmetic of issue 4's synthetic planted-gap gate (src/experiments/synthetic-gap.ts
 * gapGate) on hand-made results: signed gaps, the paired interval, the 2-std accuracy floor, the
 * Markdown verdict. The gate itself (15 trainings) is the experiment command
 * `npx tsx src/experiments/synthetic-gap.ts`, not a test: its outcome is reported in issue 4.
 */
import { describe, expect, it } from 'vitest';
import type { ResultEntry } from '../../src/compare/index.js';
import { SYNTHETIC_GAP, gapGate, gateMarkdown } from '../../src/experiments/synthetic-gap.js';

function entry(method: string, seed: number, overall: number, majority: number, minority: number): ResultEntry {
  return {
    model: 'sasrec', method, seed, dataset: 'synthetic', protocol: 'full-unseen', exclude_seen: true,
    test: { overall: { 'recall@5': overall }, groups: { group: { majority: { 'recall@5': majority }, minority: { 'recall@5': minority } } } },
  };
}

describe('1. gate arithmetic', () => {
  const settings = { ...SYNTHETIC_GAP, methods: ['erm', 'a', 'b'] };
  // erm gaps 0.20, 0.22, 0.18; a narrows by exactly 0.10 ± 0.01; b narrows only in two seeds
  const entries = [
    entry('erm', 1, 0.70, 0.80, 0.60), entry('erm', 2, 0.72, 0.82, 0.60), entry('erm', 3, 0.71, 0.78, 0.60),
    entry('a', 1, 0.70, 0.75, 0.65), entry('a', 2, 0.71, 0.77, 0.66), entry('a', 3, 0.70, 0.73, 0.64),
    entry('b', 1, 0.60, 0.70, 0.60), entry('b', 2, 0.72, 0.82, 0.60), entry('b', 3, 0.71, 0.70, 0.62),
  ];
  const g = gapGate(entries, settings);

  it('reads the signed gaps and checks that erm serves the minority worse in every seed', () => {
    expect(g.erm.gap.map((x) => +x.toFixed(10))).toEqual([0.2, 0.22, 0.18]);
    expect(g.erm.minorityWorseEverySeed).toBe(true);
    expect(gapGate([...entries.slice(0, 2), entry('erm', 3, 0.7, 0.6, 0.61)], settings).erm.minorityWorseEverySeed).toBe(false);
  });

  it('reduction = gap(erm) − gap(method), paired, with a t interval; the floor is erm mean − 2 std', () => {
    const a = g.methods.find((m) => m.method === 'a')!;
    // reductions 0.10, 0.11, 0.09: mean 0.10, sd 0.01, t(0.975, 2) = 4.302653
    expect(a.reduction.mean).toBeCloseTo(0.1, 10);
    expect(a.reduction.hi - a.reduction.mean).toBeCloseTo(4.302653 * 0.01 / Math.sqrt(3), 5);
    expect(a.narrows).toBe(true);
    // erm overall 0.70, 0.72, 0.71: mean 0.71, sd 0.01, floor 0.69; a's mean 0.7033 is above it
    expect(a.overallFloor).toBeCloseTo(0.69, 10);
    expect(a.withinTwoStd).toBe(true);
    expect(a.pass).toBe(true);
    const b = g.methods.find((m) => m.method === 'b')!;
    expect(b.reduction.mean).toBeCloseTo((0.1 + 0 + 0.1) / 3, 10);
    expect(b.narrows).toBe(false); // the interval reaches below 0
    expect(b.withinTwoStd).toBe(false); // mean 0.6767 < 0.69
    expect(gateMarkdown(g)).toMatch(/\| b \|.*\*\*FAIL\*\*/);
  });
});
