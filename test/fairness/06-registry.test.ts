/**
 * The registry and what every objective owes the trainer, on a small model and synthetic data:
 *
 *   1. names, needsGroups, unknown names and missing setup are clear errors
 *   2. every objective: a finite loss and a backward pass that reaches the parameters, on a
 *      'next', a 'cloze' and a 'last' model; a JSON-serialisable state that loads into a fresh
 *      instance
 *   3. a non-finite loss raises an error naming the objective
 *   4. the user-groups glue (src/data/user-groups.ts)
 */
import { describe, expect, it } from 'vitest';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { preprocess } from '../../src/data/preprocess.js';
import { trainingBatches, trainableUsers } from '../../src/data/batching.js';
import { attributeGroups } from '../../src/data/groups.js';
import { encodeGroups, groupCounts, intersectGroups, randomGroupLabels } from '../../src/data/user-groups.js';
import { OBJECTIVE_NAMES, createObjective, isObjectiveName, needsGroups } from '../../src/fairness/index.js';
import type { TargetKind } from '../../src/models/types.js';
import { PrefixMean, modelContext } from './helpers.js';

const { log } = generateSynthetic({ seed: 5, numUsers: 60, numItems: 60, minLen: 8, maxLen: 20, chainLength: 8 });
const ds = preprocess(log, { name: 'synthetic-small' });
const labels = attributeGroups(ds, 'group');
const groups = encodeGroups(labels, ['majority', 'minority']);

function firstBatch(kind: TargetKind) {
  return trainingBatches(ds, kind, { batchSize: 16, maxLen: 10, seed: 1, epoch: 0 }).next().value!;
}

describe('1. registry', () => {
  it('names and which need groups', () => {
    expect([...OBJECTIVE_NAMES]).toEqual([
      'erm', 'ipw', 'ipw-log', 'class-balanced', 'class-balanced-log', 'reg', 'adv', 'group-dro', 'streaming-dro', 'cvar-dro',
      'afsr', 'afsr-no-dns', 'afsr-no-dro',
    ]);
    expect(OBJECTIVE_NAMES.filter(needsGroups)).toEqual(['ipw', 'ipw-log', 'reg', 'adv', 'group-dro', 'streaming-dro']);
    expect(isObjectiveName('afsr')).toBe(true);
    expect(isObjectiveName('dro')).toBe(false);
    expect(() => needsGroups('dro')).toThrow(/unknown objective 'dro'/);
    expect(() => createObjective('dro')).toThrow(/unknown objective 'dro' \(known: erm, ipw/);
  });

  it('missing setup and unknown options are clear errors', () => {
    expect(() => createObjective('ipw')).toThrow(/createObjective\('ipw'\): needs setup.groups/);
    expect(() => createObjective('class-balanced')).toThrow(/needs setup.dataset/);
    expect(() => createObjective('adv', {}, { groups })).toThrow(/needs setup.model/);
    expect(() => createObjective('group-dro')).toThrow(/needs setup.groups/);
    expect(() => createObjective('erm', { lambda: 1 })).toThrow(/erm: unknown option\(s\) lambda/);
    expect(() => createObjective('cvar-dro', { alpha: 2 })).toThrow(/alpha must be in \(0, 1\]/);
  });

  it('ipw counts group frequencies over the trainable users', () => {
    const obj = createObjective('ipw', {}, { dataset: ds, groups, model: new PrefixMean({ numItems: ds.numItems }) }) as unknown as { counts: Int32Array };
    expect(Array.from(obj.counts)).toEqual(Array.from(groupCounts(groups.ids, 2, trainableUsers(ds, 'next'))));
  });
});

describe('2. every objective trains: finite loss, backward, state', () => {
  for (const kind of ['next', 'cloze', 'last'] as const) {
    for (const name of OBJECTIVE_NAMES) {
      it(`${name} on a '${kind}' model`, () => {
        const model = new PrefixMean({ numItems: ds.numItems, hidden: 8, maxLen: 10, targetKind: kind, seed: 2 });
        const setup = { model, dataset: ds, groups, stepsPerEpoch: 4, seed: 1 };
        const obj = createObjective(name, {}, setup);
        expect(obj.name).toBe(name);
        const batch = firstBatch(kind);
        for (let step = 0; step < 2; step++) {
          model.zeroGrad();
          const loss = obj.loss(modelContext(model, batch, groups, step));
          expect(Number.isFinite(loss.item())).toBe(true);
          loss.backward();
          const g = model.items.weight.grad;
          expect(g).not.toBeNull();
          expect(g!.toArray().every(Number.isFinite)).toBe(true);
          expect(g!.toArray().some((x) => x !== 0)).toBe(true);
        }
        const state = JSON.parse(JSON.stringify(obj.stateDict())) as Record<string, unknown>;
        const fresh = createObjective(name, {}, setup);
        fresh.loadStateDict(state);
        expect(JSON.stringify(fresh.stateDict())).toBe(JSON.stringify(obj.stateDict()));
      });
    }
  }
});

describe('3. non-finite losses', () => {
  for (const name of OBJECTIVE_NAMES) {
    it(`${name} raises a clear error`, () => {
      const model = new PrefixMean({ numItems: ds.numItems, hidden: 8, maxLen: 10, seed: 2 });
      const obj = createObjective(name, {}, { model, dataset: ds, groups });
      model.out.values[5 * 8] = Number.NaN; // the score of item 5: every row's log-sum-exp is NaN
      const ctx = modelContext(model, firstBatch('next'), groups, 7);
      expect(() => obj.loss(ctx)).toThrow(new RegExp(`^${name}: .*(not finite|is NaN).*step 7`));
    });
  }
});

describe('4. user groups', () => {
  it('encodeGroups: given order or sorted labels; unknown labels are errors', () => {
    expect(encodeGroups(['b', 'a', 'b', 'c'])).toEqual({ ids: Int32Array.from([1, 0, 1, 2]), numGroups: 3, names: ['a', 'b', 'c'] });
    expect(encodeGroups(['F', 'M', 'M'], ['M', 'F', 'X'])).toEqual({ ids: Int32Array.from([1, 0, 0]), numGroups: 3, names: ['M', 'F', 'X'] });
    expect(() => encodeGroups(['F', 'Z'], ['M', 'F'])).toThrow(/user 1 has label "Z"/);
  });

  it('groupCounts over all users or a subset', () => {
    const ids = Int32Array.from([0, 1, 1, 2, 1]);
    expect(Array.from(groupCounts(ids, 3))).toEqual([1, 3, 1]);
    expect(Array.from(groupCounts(ids, 4, [1, 3, 4]))).toEqual([0, 2, 1, 0]);
  });

  it('randomGroupLabels: the same group sizes, a seeded reassignment', () => {
    const r = randomGroupLabels(labels, 3);
    const count = (ls: string[], v: string): number => ls.filter((l) => l === v).length;
    expect(count(r, 'minority')).toBe(count(labels, 'minority'));
    expect(r).toEqual(randomGroupLabels(labels, 3));
    expect(r).not.toEqual(labels);
    expect(randomGroupLabels(labels, 4)).not.toEqual(r);
  });

  it('intersectGroups', () => {
    expect(intersectGroups(['niche', 'popular'], ['short', 'long'])).toEqual(['niche×short', 'popular×long']);
    expect(() => intersectGroups(['a'], [])).toThrow(/one per user/);
  });
});
