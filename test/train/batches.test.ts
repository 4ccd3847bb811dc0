/**
 * Tests of src/train/batches.ts: the examples of an epoch for last-position models (NARM), as
 * 'next'-style window rows whose target positions are the prefixes they train.
 *
 *   1. prefixBlocks: every target once, blocks of ⌊maxLen/2⌋ from the newest, the oldest block
 *      taking the rest and fitting in maxLen
 *   2. 'all': every (user, prefix) exactly once, windows and targets aligned, a seeded order per epoch
 *   3. 'random': one prefix per user, deterministic in (seed, epoch), varying over epochs; 'last':
 *      the final item of each user
 *   4. other kinds pass through to the data layer's batches
 */
import { describe, expect, it } from 'vitest';
import { trainingBatches } from '../../src/data/batching.js';
import { type LastTargets, epochBatchCount, epochBatches, prefixBlocks } from '../../src/train/batches.js';
import { datasetFrom } from './helpers.js';

// train sequences: a → [1,2,3,4,5,6,7,8] (7 targets), b → [5,6], c → [7] (too short for a target)
const ds = datasetFrom({ a: [1, 2, 3, 4, 5, 6, 7, 8, 12, 9], b: [5, 6, 8, 10], c: [7, 8, 11] });
const base = { batchSize: 2, maxLen: 4, seed: 5, epoch: 0, maskProb: 0.2 };
/** `user:inputs>targets` per row */
const examples = (lastTargets: LastTargets, epoch = 0): string[] => {
  const out: string[] = [];
  for (const b of epochBatches(ds, 'last', { ...base, epoch, lastTargets })) {
    expect(b.kind).toBe('next');
    for (let r = 0; r < b.B; r++) {
      const row = (a: Int32Array): string => [...a.subarray(r * b.L, r * b.L + b.L)].join(',');
      out.push(`${ds.userIds[b.users[r]!]}:${row(b.inputs)}>${row(b.targets)}`);
    }
  }
  return out;
};
// the data set re-indexes items in order of first appearance: a's items are 1..8
const id = (item: number): number => ds.itemIds.indexOf(String(item));

describe('1. prefixBlocks', () => {
  it('blocks of ⌊maxLen/2⌋ targets from the newest; the oldest takes the rest and fits in maxLen', () => {
    expect(prefixBlocks(1, 50)).toEqual([]);
    expect(prefixBlocks(18, 50)).toEqual([[1, 17]]);
    expect(prefixBlocks(98, 50)).toEqual([[73, 97], [48, 72], [1, 47]]);
    expect(prefixBlocks(4, 1)).toEqual([[3, 3], [2, 2], [1, 1]]); // maxLen 1: the per-prefix path
    for (const maxLen of [2, 3, 8, 50]) {
      for (let n = 2; n < 200; n++) {
        const blocks = prefixBlocks(n, maxLen);
        const covered = blocks.flatMap(([f, l]) => Array.from({ length: l - f + 1 }, (_, i) => f + i)).sort((x, y) => x - y);
        expect(covered).toEqual(Array.from({ length: n - 1 }, (_, i) => i + 1));
        const S = Math.max(1, Math.floor(maxLen / 2));
        blocks.slice(0, -1).forEach(([f, l]) => expect(l - f + 1).toBe(S));
        expect(blocks[blocks.length - 1]![1]).toBeLessThanOrEqual(maxLen); // the oldest block is whole prefixes
      }
    }
  });
});

describe('2. all prefixes', () => {
  it("'all': each prefix once, in windows of maxLen with aligned targets", () => {
    const ex = examples('all');
    // a: targets 1..7 in blocks [6,7], [4,5], [1,3]; b: target 1
    const [a1, a2, a3, a4, a5, a6, a7, a8] = [1, 2, 3, 4, 5, 6, 7, 8].map(id);
    const [b5, b6] = [id(5), id(6)];
    expect([...ex].sort()).toEqual([
      `a:0,${a1},${a2},${a3}>0,${a2},${a3},${a4}`,
      `a:${a2},${a3},${a4},${a5}>0,0,${a5},${a6}`,
      `a:${a4},${a5},${a6},${a7}>0,0,${a7},${a8}`,
      `b:0,0,0,${b5}>0,0,0,${b6}`,
    ].sort());
    expect(epochBatchCount(ds, 'last', { batchSize: 2, maxLen: 4, lastTargets: 'all' })).toBe(2);
    expect(examples('all')).toEqual(ex);
    // another epoch, another order (of the same rows)
    const orders = new Set([0, 1, 2, 3, 4].map((e) => examples('all', e).join(' ')));
    expect(orders.size).toBeGreaterThan(1);
  });
});

describe('3. one prefix per user', () => {
  it("'random': one prefix per user, fixed by (seed, epoch)", () => {
    const ex = examples('random', 3);
    expect(ex.map((e) => e.split(':')[0]).sort()).toEqual(['a', 'b']);
    expect(examples('random', 3)).toEqual(ex);
    // one target, at the last position
    for (const e of ex) expect(e.split('>')[1]!.split(',').map(Number).slice(0, -1).every((v) => v === 0)).toBe(true);
    const cutsOfA = new Set([0, 1, 2, 3, 4, 5, 6, 7].map((e) => examples('random', e).find((x) => x.startsWith('a:'))));
    expect(cutsOfA.size).toBeGreaterThan(1);
    expect(epochBatchCount(ds, 'last', { batchSize: 2, maxLen: 4, lastTargets: 'random' })).toBe(1);
  });

  it("'last': the final training item of each user after its last maxLen items", () => {
    const [a4, a5, a6, a7, a8] = [4, 5, 6, 7, 8].map(id);
    expect(examples('last').sort()).toEqual([`a:${a4},${a5},${a6},${a7}>0,0,0,${a8}`, `b:0,0,0,${id(5)}>0,0,0,${id(6)}`]);
  });
});

describe('4. other kinds', () => {
  it("'next' and 'cloze' are the data layer's batches", () => {
    for (const kind of ['next', 'cloze'] as const) {
      const mine = [...epochBatches(ds, kind, { ...base, lastTargets: 'all' })];
      const theirs = [...trainingBatches(ds, kind, base)];
      expect(mine).toEqual(theirs);
    }
  });
});
