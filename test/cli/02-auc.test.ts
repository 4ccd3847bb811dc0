/** The AUC of `seqfair audit` (src/cli/commands/audit.ts) against pair counts done by hand. */
import { describe, expect, it } from 'vitest';
import { auc } from '../../src/cli/commands/audit.js';

/** P(s_pos > s_neg) + ½ P(tie) over every (positive, negative) pair: the definition, O(n²). */
function byPairs(scores: number[], pos: boolean[]): number {
  let s = 0, n = 0;
  scores.forEach((a, i) => scores.forEach((b, j) => {
    if (!pos[i] || pos[j]) return;
    s += a > b ? 1 : a === b ? 0.5 : 0;
    n++;
  }));
  return s / n;
}

describe('AUC with ties', () => {
  it('1. hand-counted cases', () => {
    // positives 0.9, 0.5, 0.5; negatives 0.5, 0.1: pairs (0.9,0.5)=1 (0.9,0.1)=1 (0.5,0.5)=½ (0.5,0.1)=1, twice for the two 0.5s → 5/6
    expect(auc([0.9, 0.5, 0.5, 0.5, 0.1], [true, true, true, false, false])).toBeCloseTo(5 / 6, 12);
    expect(auc([3, 4, 1, 2], [true, true, false, false])).toBe(1);
    expect(auc([3, 4, 1, 2], [false, false, true, true])).toBe(0);
    expect(auc([7, 7, 7, 7], [true, false, true, false])).toBe(0.5); // all tied: no separation
    // one positive, ranked 2nd of 4: beats 2 of 3 negatives
    expect(auc([0.2, 0.8, 0.5, 0.9], [false, false, true, false])).toBeCloseTo(1 / 3, 12);
    // the order of rows does not matter
    expect(auc([0.1, 0.5, 0.5, 0.9, 0.5], [false, false, true, true, true])).toBeCloseTo(5 / 6, 12);
  });

  it('2. agrees with the pair count on random data with many ties', () => {
    let x = 12345;
    const rnd = (): number => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let t = 0; t < 20; t++) {
      const n = 2 + Math.floor(rnd() * 40);
      const scores = Array.from({ length: n }, () => Math.floor(rnd() * 5) / 4); // 5 levels: ties everywhere
      const pos = Array.from({ length: n }, (_, i) => (i === 0 ? true : i === 1 ? false : rnd() < 0.3));
      expect(auc(scores, pos)).toBeCloseTo(byPairs(scores, pos), 12);
    }
  });

  it('3. NaN when a class is empty or a score is NaN; a length mismatch throws', () => {
    expect(auc([1, 2], [true, true])).toBeNaN();
    expect(auc([1, 2], [false, false])).toBeNaN();
    expect(auc([1, Number.NaN], [true, false])).toBeNaN();
    expect(() => auc([1, 2], [true])).toThrow(/auc: 2 scores but 1 labels/);
  });
});
