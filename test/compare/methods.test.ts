/**
 * The compare methods (src/compare/methods.ts): every objective of src/fairness is a method;
 * group-aware ones train on the groups their `trainGroups` names (src/compare/train-groups.ts).
 */
import { describe, expect, it } from 'vitest';
import { createMethod, loadDataSpec, methodNames } from '../../src/compare/index.js';
import { groupingLabels, trainingGroups } from '../../src/compare/train-groups.js';
import { OBJECTIVE_NAMES } from '../../src/fairness/index.js';
import { createModel } from '../../src/models/index.js';

describe('compare methods for every objective', () => {
  it('registers every objective; group-aware ones need trainGroups, group-agnostic ones refuse it', async () => {
    for (const name of OBJECTIVE_NAMES) expect(methodNames()).toContain(name);
    const ds = await loadDataSpec('synthetic:numUsers=60,numItems=120,maxLen=20,seed=3');
    expect(() => createMethod('group-dro', { dataset: ds, seed: 1, params: {} })).toThrow(/trainGroups/);
    expect(() => createMethod('cvar-dro', { dataset: ds, seed: 1, params: { trainGroups: 'group' } })).toThrow(/group-agnostic/);
    expect(() => createMethod('no-such', { dataset: ds, seed: 1, params: {} })).toThrow(/unknown method 'no-such'/);
    const gd = createMethod('group-dro', { dataset: ds, seed: 1, params: { trainGroups: 'group', eta: 0.05 } });
    expect(gd.params).toEqual({ eta: 0.05, numGroups: 2, trainGroups: 'group' });
    expect(gd.groups!.numGroups).toBe(2);
    const cv = createMethod('cvar-dro', { dataset: ds, seed: 1, params: {} });
    expect(cv.params).toEqual({ alpha: 0.2 });
    expect(cv.groups).toBeNull();
    // afsr refreshes once per epoch: ceil(60 trainable users / batch)
    expect(createMethod('afsr', { dataset: ds, seed: 1, params: {}, batchSize: 32 }).params).toMatchObject({ refreshEvery: 2, lambda: 0.1 });
    expect(createMethod('afsr', { dataset: ds, seed: 1, params: {} }).params).toMatchObject({ refreshEvery: 1 });
    // adv's adversary reads the model's hidden size
    const model = createModel('sasrec', { numItems: ds.numItems, hiddenSize: 16, heads: 2 });
    const adv = createMethod('adv', { dataset: ds, seed: 1, params: { trainGroups: 'random:group' }, model });
    expect(adv.groups!.numGroups).toBe(2);
  });

  it('training groups: the grouping, its intersection, and a seeded permutation with the same sizes', async () => {
    const ds = await loadDataSpec('synthetic:numUsers=60,numItems=120,maxLen=20,seed=3');
    const real = trainingGroups(ds, 'group', 1);
    expect(real.names).toEqual(['majority', 'minority']);
    const rnd = trainingGroups(ds, 'random:group', 1);
    const count = (ids: Int32Array, g: number): number => ids.filter((x) => x === g).length;
    expect(count(rnd.ids, 1)).toBe(count(real.ids, 1));
    expect([...rnd.ids]).not.toEqual([...real.ids]);
    expect([...trainingGroups(ds, 'random:group', 1).ids]).toEqual([...rnd.ids]);
    const both = groupingLabels(ds, 'group×length');
    const len = groupingLabels(ds, 'length');
    const grp = groupingLabels(ds, 'group');
    expect(both).toEqual(grp.map((g, u) => `${g}×${len[u]}`));
    expect(trainingGroups(ds, 'group×length', 1).numGroups).toBe(new Set(both).size);
    expect(() => groupingLabels(ds, 'group×length×popularity')).toThrow(/two joined by '×'/);
  });
});
