import { describe, expect, it } from 'vitest';
import {
  clozeBatch,
  epochPermutation,
  evalBatch,
  lastItemBatch,
  nextItemBatch,
  padSequences,
  trainableUsers,
  trainingBatches,
} from '../../src/data/batching.js';
import { preprocess } from '../../src/data/preprocess.js';
import { generateSynthetic } from '../../src/data/synthetic.js';

const I = (...v: number[]): Int32Array => Int32Array.from(v);

describe('1. padding and targets', () => {
  it('left-pads and truncates to the most recent L items', () => {
    expect([...padSequences([I(1, 2, 3, 4, 5), I(7), I()], 3)]).toEqual([3, 4, 5, 0, 0, 7, 0, 0, 0]);
  });

  it('next-item batch: input = seq[:-1], target = seq[1:], aligned and left-padded', () => {
    const b = nextItemBatch([I(1, 2, 3, 4, 5), I(7, 8), I(9)], I(4, 0, 2), 3);
    expect(b.B).toBe(3);
    expect([...b.users]).toEqual([4, 0, 2]);
    expect([...b.inputs]).toEqual([2, 3, 4, 0, 0, 7, 0, 0, 0]);
    expect([...b.targets]).toEqual([3, 4, 5, 0, 0, 8, 0, 0, 0]);
  });

  it('last-position batch (NARM)', () => {
    const b = lastItemBatch([I(1, 2, 3, 4, 5), I(7, 8)], I(0, 1), 3);
    expect([...b.inputs]).toEqual([2, 3, 4, 0, 0, 7]);
    expect([...b.targets]).toEqual([5, 8]);
  });

  it('evaluation batch, with and without the trailing mask token', () => {
    const rows = [I(1, 2, 3, 4), I(5)];
    expect([...evalBatch(rows, I(0, 1), 3).inputs]).toEqual([2, 3, 4, 0, 0, 5]);
    const m = evalBatch(rows, I(0, 1), 3, I(9, 8), 99);
    expect([...m.inputs]).toEqual([3, 4, 99, 0, 5, 99]);
    expect([...m.targets]).toEqual([9, 8]);
    expect(() => evalBatch(rows, I(0), 3)).toThrow(/2 rows but 1 users/);
  });
});

describe('2. cloze masking (BERT4Rec)', () => {
  const maskToken = 1001;
  const rows = Array.from({ length: 2000 }, (_, u) => Int32Array.from({ length: 50 }, (_, j) => 1 + ((u * 7 + j) % 1000)));
  const users = Int32Array.from(rows, (_, u) => u);

  it('masks each real position with the given probability and at least one per row', () => {
    for (const p of [0.15, 0.4]) {
      const b = clozeBatch(rows, users, 50, { maskProb: p, maskToken, seed: 1, epoch: 0 });
      let masked = 0;
      let wrong = 0; // positions whose input/target pair is inconsistent
      let rowsWithoutMask = 0;
      for (let r = 0; r < b.B; r++) {
        let inRow = 0;
        for (let j = 0; j < 50; j++) {
          const x = b.inputs[r * 50 + j]!;
          const t = b.targets[r * 50 + j]!;
          const orig = rows[r]![j]!;
          if (x === maskToken) {
            inRow++;
            if (t !== orig) wrong++;
          } else if (t !== 0 || x !== orig) wrong++;
        }
        if (inRow === 0) rowsWithoutMask++;
        masked += inRow;
      }
      expect(wrong).toBe(0);
      expect(rowsWithoutMask).toBe(0);
      const share = masked / (2000 * 50);
      // binomial sd of the share is sqrt(p(1-p)/1e5) < 0.0016
      expect(Math.abs(share - p)).toBeLessThan(0.006);
    }
  });

  it('always masks one position of short rows, never padding', () => {
    const short = Array.from({ length: 500 }, (_, u) => Int32Array.from({ length: 1 + (u % 3) }, (_, j) => 1 + j));
    const b = clozeBatch(short, Int32Array.from(short, (_, u) => u), 8, { maskProb: 0.05, maskToken, seed: 2, epoch: 3 });
    for (let r = 0; r < b.B; r++) {
      const row = [...b.inputs.subarray(r * 8, r * 8 + 8)];
      const n = short[r]!.length;
      expect(row.slice(0, 8 - n).every((x) => x === 0)).toBe(true);
      expect(row.filter((x) => x === maskToken).length).toBeGreaterThanOrEqual(1);
    }
  });

  it('depends on (seed, epoch, user), not on batch composition', () => {
    const a = clozeBatch(rows.slice(0, 10), users.slice(0, 10), 50, { maskProb: 0.2, maskToken, seed: 1, epoch: 0 });
    const again = clozeBatch(rows.slice(0, 10), users.slice(0, 10), 50, { maskProb: 0.2, maskToken, seed: 1, epoch: 0 });
    expect([...again.inputs]).toEqual([...a.inputs]);
    const alone = clozeBatch([rows[4]!], I(4), 50, { maskProb: 0.2, maskToken, seed: 1, epoch: 0 });
    expect([...alone.inputs]).toEqual([...a.inputs.subarray(4 * 50, 5 * 50)]);
    const nextEpoch = clozeBatch(rows.slice(0, 10), users.slice(0, 10), 50, { maskProb: 0.2, maskToken, seed: 1, epoch: 1 });
    expect([...nextEpoch.inputs]).not.toEqual([...a.inputs]);
    expect(() => clozeBatch(rows, users, 50, { maskProb: 0, maskToken, seed: 1, epoch: 0 })).toThrow(/maskProb/);
  });
});

describe('3. epochs', () => {
  const ds = preprocess(generateSynthetic({ seed: 4, numUsers: 150, numItems: 300, maxLen: 40 }).log);

  it('visits every trainable user once per epoch in a seeded order', () => {
    for (const kind of ['next', 'cloze', 'last'] as const) {
      const seen: number[] = [];
      for (const b of trainingBatches(ds, kind, { batchSize: 32, maxLen: 20, seed: 9, epoch: 2 })) {
        expect(b.kind).toBe(kind);
        expect(b.B).toBeLessThanOrEqual(32);
        expect(b.inputs.length).toBe(b.B * 20);
        expect(b.targets.length).toBe(kind === 'last' ? b.B : b.B * 20);
        seen.push(...b.users);
      }
      expect([...seen].sort((x, y) => x - y)).toEqual([...trainableUsers(ds, kind)]);
    }
    const order = (epoch: number, seed = 9): number[] => [...trainingBatches(ds, 'next', { batchSize: 1000, maxLen: 20, seed, epoch })][0]!.users.slice().reduce<number[]>((a, u) => (a.push(u), a), []);
    expect(order(2)).toEqual(order(2));
    expect(order(3)).not.toEqual(order(2));
    expect(order(2, 10)).not.toEqual(order(2));
    expect([...epochPermutation(5, 1, 0)].sort()).toEqual([0, 1, 2, 3, 4]);
    const cloze = [...trainingBatches(ds, 'cloze', { batchSize: 1000, maxLen: 20, seed: 9, epoch: 0 })][0]!;
    expect(cloze.inputs.some((x) => x === ds.numItems + 1)).toBe(true);
  });
});
