/**
 * Tests of src/train/batches.ts: the examples of an epoch for last-position models.
 *
 *   1. 'all': every (user, prefix) exactly once, inputs are the prefixes, a seeded order per epoch
 *   2. 'random': one prefix per user, deterministic in (seed, epoch), varying over epochs
 *   3. other kinds pass through to the data layer's batches
 */
import { describe, expect, it } from 'vitest';
import { trainingBatches } from '../../src/data/batching.js';
import { epochBatchCount, epochBatches } from '../../src/train/batches.js';
import { datasetFrom } from './helpers.js';

// train sequences: a → [1,2,3,4], b → [5,6], c → [7] (too short for a last-item target)
const ds = datasetFrom({ a: [1, 2, 3, 4, 8, 9], b: [5, 6, 8, 10], c: [7, 8, 11] });
const base = { batchSize: 2, maxLen: 3, seed: 5, epoch: 0, maskProb: 0.2 };
const examples = (lastTargets: 'all' | 'random', epoch = 0): string[] => {
  const out: string[] = [];
  for (const b of epochBatches(ds, 'last', { ...base, epoch, lastTargets })) {
    for (let r = 0; r < b.B; r++) out.push(`${ds.userIds[b.users[r]!]}:${[...b.inputs.subarray(r * b.L, r * b.L + b.L)].join(',')}>${b.targets[r]}`);
  }
  return out;
};

describe('prefix examples', () => {
  it("'all': every prefix once, left-padded to maxLen", () => {
    const ex = examples('all');
    expect([...ex].sort()).toEqual(['a:0,0,1>2', 'a:0,1,2>3', 'a:1,2,3>4', 'b:0,0,5>6'].sort());
    expect(epochBatchCount(ds, 'last', { batchSize: 2, lastTargets: 'all' })).toBe(2);
    expect(examples('all')).toEqual(ex);
    // another epoch, another order (of the same examples)
    const orders = new Set([0, 1, 2, 3, 4].map((e) => examples('all', e).join(' ')));
    expect(orders.size).toBeGreaterThan(1);
  });

  it("'random': one prefix per user, fixed by (seed, epoch)", () => {
    const ex = examples('random', 3);
    expect(ex.map((e) => e.split(':')[0]).sort()).toEqual(['a', 'b']);
    expect(examples('random', 3)).toEqual(ex);
    const cutsOfA = new Set([0, 1, 2, 3, 4, 5, 6, 7].map((e) => examples('random', e).find((x) => x.startsWith('a:'))));
    expect(cutsOfA.size).toBeGreaterThan(1);
    expect(epochBatchCount(ds, 'last', { batchSize: 2, lastTargets: 'random' })).toBe(1);
  });

  it("'last' and the other kinds are the data layer's batches", () => {
    for (const kind of ['next', 'cloze', 'last'] as const) {
      const mine = [...epochBatches(ds, kind, { ...base, lastTargets: 'last' })];
      const theirs = [...trainingBatches(ds, kind, base)];
      expect(mine).toEqual(theirs);
    }
  });
});
