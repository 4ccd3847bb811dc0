import { describe, expect, it } from 'vitest';
import { LogBuilder, type InteractionLog } from '../../src/data/types.js';
import { compareIds, evalSplit, filterToFixedPoint, fullSequence, preprocess, testInput } from '../../src/data/preprocess.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { attributeGroups, popularItemRatio, popularityGroups, quantileGroups, sequenceLengthGroups } from '../../src/data/groups.js';

/** A log from [user, item, time] triples, in file order. */
function logOf(events: [string, string, number][], attrs: Record<string, Record<string, string>> = {}, ratings?: number[]): InteractionLog {
  const b = new LogBuilder('keep', ratings !== undefined);
  events.forEach(([u, i, t], e) => b.add(u, i, t, ratings?.[e], 'mem', e + 1));
  const names = Object.values(attrs)[0] ? Object.keys(Object.values(attrs)[0]!) : [];
  return b.finish('mem', names, new Map(Object.entries(attrs)));
}

describe('1. ordering and re-indexing', () => {
  it('sorts each user chronologically, keeping file order for equal timestamps', () => {
    const log = logOf([
      ['a', '30', 5],
      ['a', '10', 1],
      ['a', '20', 5],
      ['a', '40', 5],
      ['a', '50', 9],
    ]);
    const ds = preprocess(log);
    const raw = Array.from(fullSequence(ds, 0), (i) => ds.itemIds[i]);
    expect(raw).toEqual(['10', '30', '20', '40', '50']);
  });

  it('re-indexes items 1..N and users 0..U-1 in raw-id order (numeric when ids are integers)', () => {
    expect(['10', '9', 'b', '2', 'a'].sort(compareIds)).toEqual(['2', '9', '10', 'a', 'b']);
    const log = logOf([
      ['10', '100', 1],
      ['10', '20', 2],
      ['10', '3', 3],
      ['9', '3', 1],
      ['9', '20', 2],
      ['9', '100', 3],
    ]);
    const ds = preprocess(log);
    expect(ds.userIds).toEqual(['9', '10']);
    expect(ds.itemIds).toEqual(['', '3', '20', '100']);
    expect(ds.numItems).toBe(3);
    expect([...fullSequence(ds, 1)]).toEqual([3, 2, 1]);
  });
});

describe('2. leave-one-out split', () => {
  const { log } = generateSynthetic({ seed: 3, numUsers: 300, numItems: 400, maxLen: 40 });

  it('puts the last item in test, the second-to-last in validation, the rest in train', () => {
    const ds = preprocess(log);
    const byUser = new Map<string, string[]>();
    log.users.forEach((u, e) => (byUser.get(u) ?? byUser.set(u, []).get(u)!).push(log.items[e]!));
    for (let u = 0; u < ds.numUsers; u++) {
      const raw = byUser.get(ds.userIds[u]!)!; // synthetic events are generated in time order
      const n = raw.length;
      expect(ds.itemIds[ds.testTarget[u]!]).toBe(raw[n - 1]);
      expect(ds.itemIds[ds.validTarget[u]!]).toBe(raw[n - 2]);
      expect(Array.from(ds.train[u]!, (i) => ds.itemIds[i])).toEqual(raw.slice(0, n - 2));
      // no user repeats an item in the synthetic data, so the targets are never in training input
      expect(ds.train[u]!.includes(ds.testTarget[u]!)).toBe(false);
      expect(ds.train[u]!.includes(ds.validTarget[u]!)).toBe(false);
      expect(testInput(ds, u).includes(ds.testTarget[u]!)).toBe(false);
    }
    expect(ds.validationUsers.length).toBe(ds.numUsers);
  });

  it('validates a seeded subset; other users train on their second-to-last item (ECIR setting)', () => {
    const all = preprocess(log);
    const ds = preprocess(log, { validation: { fraction: 0.1 }, seed: 7 });
    expect(ds.validationUsers.length).toBe(Math.round(0.1 * ds.numUsers));
    const isValid = new Set(ds.validationUsers);
    for (let u = 0; u < ds.numUsers; u++) {
      const full = fullSequence(all, u);
      const n = full.length;
      expect([...fullSequence(ds, u)]).toEqual([...full]);
      expect(ds.testTarget[u]).toBe(full[n - 1]);
      if (isValid.has(u)) {
        expect(ds.validTarget[u]).toBe(full[n - 2]);
        expect(ds.train[u]!.length).toBe(n - 2);
      } else {
        expect(ds.validTarget[u]).toBe(0);
        expect(ds.train[u]!.length).toBe(n - 1);
        expect(ds.train[u]![n - 2]).toBe(full[n - 2]);
      }
      expect(ds.train[u]!.includes(ds.testTarget[u]!)).toBe(false);
    }
    const valid = evalSplit(ds, 'valid');
    expect([...valid.users]).toEqual([...ds.validationUsers]);
    valid.users.forEach((u, j) => expect(valid.inputs[j]).toBe(ds.train[u]));
    const test = evalSplit(ds, 'test');
    expect(test.users.length).toBe(ds.numUsers);
    test.users.forEach((u, j) => expect([...test.inputs[j]!, test.targets[j]]).toEqual([...fullSequence(ds, u)]));
    // the subset is a function of the seed
    expect([...preprocess(log, { validation: { fraction: 0.1 }, seed: 7 }).validationUsers]).toEqual([...ds.validationUsers]);
    expect([...preprocess(log, { validation: { fraction: 0.1 }, seed: 8 }).validationUsers]).not.toEqual([...ds.validationUsers]);
    expect(preprocess(log, { validation: { count: 5 } }).validationUsers.length).toBe(5);
  });

  it('counts popularity on training sequences only', () => {
    const ds = preprocess(
      logOf([
        ['a', '1', 1],
        ['a', '2', 2],
        ['a', '3', 3],
        ['a', '9', 4],
        ['b', '1', 1],
        ['b', '2', 2],
        ['b', '9', 3],
      ]),
    );
    // item '9' only appears as a test target, '2' once as a validation target
    expect([...ds.itemPopularity]).toEqual([0, 2, 1, 0, 0]);
    const total = ds.train.reduce((s, t) => s + t.length, 0);
    expect(ds.itemPopularity.reduce((s, c) => s + c, 0)).toBe(total);
  });

  it('drops short users, filters ratings and rejects bad settings', () => {
    const log2 = logOf(
      [
        ['a', '1', 1],
        ['a', '2', 2],
        ['b', '1', 1],
        ['b', '2', 2],
        ['b', '3', 3],
        ['b', '4', 4],
      ],
      {},
      [5, 5, 5, 1, 5, 5],
    );
    expect(preprocess(log2).userIds).toEqual(['b']);
    const rated = preprocess(log2, { minRating: 4 });
    expect(rated.numItems).toBe(3);
    expect(rated.stats.eventsBelowMinRating).toBe(1);
    expect(() => preprocess(log2, { minSeqLen: 2 })).toThrow(/minSeqLen must be an integer >= 3/);
    expect(() => preprocess(log2, { minSeqLen: 5 })).toThrow(/no user of mem survives/);
    expect(() => preprocess(logOf([['a', '1', 1]]), { minRating: 3 })).toThrow(/has no ratings/);
  });
});

describe('3. k-core filtering', () => {
  /** brute force: remove one violating user or item at a time until none is left */
  function bruteCore(seqs: Map<string, number[]>, k: number): Map<string, number[]> {
    const cur = new Map([...seqs].map(([u, s]) => [u, [...s]]));
    for (;;) {
      const counts = new Map<number, number>();
      for (const s of cur.values()) for (const i of s) counts.set(i, (counts.get(i) ?? 0) + 1);
      const badItem = [...counts].find(([, c]) => c < k)?.[0];
      if (badItem !== undefined) {
        for (const [u, s] of cur) cur.set(u, s.filter((i) => i !== badItem));
        continue;
      }
      const badUser = [...cur].find(([, s]) => s.length < k)?.[0];
      if (badUser === undefined) return cur;
      cur.delete(badUser);
    }
  }

  it('iterates to the fixed point (a cascade needs several rounds)', () => {
    // Removing item 9 (2 < 3 uses) drops user c below 3, which drops item 5 below 3, which drops user b.
    const seqs = new Map<string, Int32Array>([
      ['a', Int32Array.from([1, 2, 3, 4])],
      ['b', Int32Array.from([1, 2, 5])],
      ['c', Int32Array.from([5, 9, 9])],
      ['d', Int32Array.from([5, 1, 2, 3, 4])],
      ['e', Int32Array.from([1, 2, 3, 4])],
    ]);
    const { seqs: out, rounds } = filterToFixedPoint(seqs, 3, 3);
    expect(rounds).toBeGreaterThanOrEqual(3);
    const expected = bruteCore(new Map([...seqs].map(([u, s]) => [u, [...s]])), 3);
    expect(new Map([...out].map(([u, s]) => [u, [...s]]))).toEqual(expected);
    expect([...out.keys()].sort()).toEqual(['a', 'd', 'e']);
  });

  it('leaves every user and item with at least k events (synthetic data, k = 10)', () => {
    const { log } = generateSynthetic({ seed: 5, numUsers: 400 });
    const ds = preprocess(log, { kCore: 10 });
    const counts = new Int32Array(ds.numItems + 1);
    for (let u = 0; u < ds.numUsers; u++) {
      const s = fullSequence(ds, u);
      expect(s.length).toBeGreaterThanOrEqual(10);
      for (const i of s) counts[i]!++;
    }
    for (let i = 1; i <= ds.numItems; i++) expect(counts[i]).toBeGreaterThanOrEqual(10);
    expect(ds.numItems).toBeLessThan(ds.stats.rawItems);
    const k = preprocess(log, { kCore: { user: 12, item: 1 } });
    expect(Math.min(...Array.from({ length: k.numUsers }, (_, u) => fullSequence(k, u).length))).toBeGreaterThanOrEqual(12);
  });
});

describe('4. user groups', () => {
  it('reads attribute groups and cuts quantile groups', () => {
    const { log, truth } = generateSynthetic({ seed: 2, numUsers: 200, numItems: 300, maxLen: 40 });
    const ds = preprocess(log);
    const g = attributeGroups(ds, 'group');
    ds.userIds.forEach((id, u) => expect(g[u]).toBe(truth.userGroup.get(id)));
    expect(() => attributeGroups(ds, 'gender')).toThrow(/no attribute "gender"/);
    expect(quantileGroups([5, 1, 3, 2, 4, 6], [1 / 3, 2 / 3], ['lo', 'mid', 'hi'])).toEqual(['hi', 'lo', 'mid', 'lo', 'mid', 'hi']);
    // ties share a group
    expect(quantileGroups([1, 1, 1, 2], [0.5], ['a', 'b'])).toEqual(['a', 'a', 'a', 'b']);
    const len = sequenceLengthGroups(ds);
    const lens = ds.train.map((s) => s.length);
    const maxShort = Math.max(...lens.filter((_, u) => len[u] === 'short'));
    const minLong = Math.min(...lens.filter((_, u) => len[u] === 'long'));
    expect(maxShort).toBeLessThan(minLong);
    const ratio = popularItemRatio(ds);
    ratio.forEach((r) => expect(r >= 0 && r <= 1).toBe(true));
    expect(new Set(popularityGroups(ds))).toEqual(new Set(['niche', 'diverse', 'popular']));
  });
});
