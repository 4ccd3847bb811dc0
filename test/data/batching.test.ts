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
  trainingRowCount,
  windowStarts,
  windowStep,
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

describe('4. sliding windows (slidingWindow > 0)', () => {
  const ds = preprocess(generateSynthetic({ seed: 4, numUsers: 150, numItems: 300, maxLen: 40 }).log);
  const L = 10;

  it('window starts: newest first, every step back, the oldest at 0', () => {
    expect(windowStarts(10, 4, 2)).toEqual([6, 4, 2, 0]);
    expect(windowStarts(11, 4, 3)).toEqual([7, 4, 1, 0]);
    expect(windowStarts(5, 4, 3)).toEqual([1, 0]);
    expect(windowStarts(4, 4, 1)).toEqual([0]);
    expect(windowStarts(2, 4, 1)).toEqual([0]);
    expect(() => windowStarts(10, 4, 0)).toThrow(/step/);
    expect(windowStep(0.5, 50)).toBe(25);
    expect(windowStep(0.001, 50)).toBe(1);
    expect(windowStep(0, 50)).toBe(0);
    expect(() => windowStep(1.5, 50)).toThrow(/slidingWindow/);
  });

  it('next-item rows cover every transition of every training sequence, as contiguous slices', () => {
    const pairs = new Map<number, Set<string>>();
    let rows = 0;
    for (const b of trainingBatches(ds, 'next', { batchSize: 64, maxLen: L, seed: 3, epoch: 1, slidingWindow: 0.5 })) {
      rows += b.B;
      for (let r = 0; r < b.B; r++) {
        const u = b.users[r]!;
        const seq = ds.train[u]!;
        const row = [...b.inputs.subarray(r * L, r * L + L)].filter((x) => x !== 0);
        const start = seq.indexOf(row[0]!);
        expect(row).toEqual([...seq.subarray(start, start + row.length)]);
        for (let j = 0; j < L; j++) {
          const t = b.targets[r * L + j]!;
          if (t !== 0) (pairs.get(u) ?? pairs.set(u, new Set()).get(u)!).add(`${b.inputs[r * L + j]}>${t}`);
        }
      }
    }
    const pool = trainableUsers(ds, 'next');
    expect(rows).toBe(trainingRowCount(ds, 'next', pool, L, 0.5));
    expect(rows).toBeGreaterThan(pool.length); // the data has sequences longer than L + 1
    for (const u of pool) {
      const seq = ds.train[u]!;
      const want = new Set(Array.from(seq.subarray(1), (t, i) => `${seq[i]}>${t}`));
      expect(pairs.get(u)).toEqual(want);
    }
  });

  it('cloze: every training item is in some row; the newest window masks as without windows', () => {
    const opts = { batchSize: 1000, maxLen: L, seed: 3, epoch: 2 };
    const plain = [...trainingBatches(ds, 'cloze', opts)][0]!;
    const plainRow = new Map<number, number[]>();
    plain.users.forEach((u, r) => plainRow.set(u, [...plain.inputs.subarray(r * L, r * L + L)]));
    const items = new Map<number, Set<number>>();
    const maskToken = ds.numItems + 1;
    const batch = [...trainingBatches(ds, 'cloze', { ...opts, slidingWindow: 0.3 })][0]!;
    let newestMatched = 0;
    for (let r = 0; r < batch.B; r++) {
      const u = batch.users[r]!;
      const seq = ds.train[u]!;
      const input = [...batch.inputs.subarray(r * L, r * L + L)];
      const restored = input.map((x, j) => (x === maskToken ? batch.targets[r * L + j]! : x));
      for (const it of restored) if (it !== 0) (items.get(u) ?? items.set(u, new Set()).get(u)!).add(it);
      if (restored.at(-1) !== seq.at(-1)) continue; // only the newest window ends at the last item
      expect(input).toEqual(plainRow.get(u)); // and it draws the same coins as without windows
      newestMatched++;
    }
    expect(newestMatched).toBe(plain.B);
    for (const u of trainableUsers(ds, 'cloze')) expect(items.get(u)).toEqual(new Set(ds.train[u]!));
    const again = [...trainingBatches(ds, 'cloze', { ...opts, slidingWindow: 0.3 })][0]!;
    expect([...again.inputs]).toEqual([...batch.inputs]);
    const other = [...trainingBatches(ds, 'cloze', { ...opts, epoch: 3, slidingWindow: 0.3 })][0]!;
    expect([...other.inputs]).not.toEqual([...batch.inputs]);
    expect(() => clozeBatch([ds.train[0]!], I(0), L, { maskProb: 0.2, maskToken, seed: 1, epoch: 0, windows: I(0, 1) })).toThrow(/window indices/);
  });
});
