/**
 * Config files (src/cli/config.ts): the zod schemas name every bad field with what was expected and
 * what was given; they accept exactly what src/compare/options.ts reads; layering of defaults,
 * file and flags.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { DemoConfigSchema, TrainConfigSchema, UsageError, layer, mergeFlags, parseConfig, readConfig, toFileConfig } from '../../src/cli/config.js';
import { readConfigFile } from '../../src/compare/options.js';
import { tempDir } from '../data/helpers.js';

const tmp = tempDir('seqfair-cli-config-');
afterAll(() => tmp.cleanup());

const problem = (schema: typeof TrainConfigSchema | typeof DemoConfigSchema, raw: unknown): string => {
  try {
    parseConfig(schema, raw, 'c.json');
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
};

const FULL = {
  epochs: 3, batchSize: 32, lr: 0.002, weightDecay: 0, optimizer: 'adam', clipNorm: 5, loss: 'sampled-softmax', numNegatives: 10,
  maskProb: 0.3, lastTargets: 'random', slidingWindow: 0.5, maxLen: 20, validation: { metric: 'recall@10', patience: 2, every: 1 },
  model: { hiddenSize: 8, dropout: 0.1 }, models: { narm: { dropout: 0 } }, methods: { 'cvar-dro': { alpha: 0.5 } },
};

describe('1. config schema', () => {
  it('accepts every documented field, and so does readConfigFile (the two cannot drift apart)', () => {
    expect(parseConfig(TrainConfigSchema, FULL, 'c.json')).toEqual(FULL);
    const file = tmp.write('full.json', JSON.stringify(FULL));
    expect(() => readConfigFile(file)).not.toThrow();
    expect(toFileConfig(readConfig(TrainConfigSchema, file))).toEqual(readConfigFile(file));
  });

  it('names the bad field with what was expected and what was given', () => {
    expect(problem(TrainConfigSchema, { epochs: 'ten' })).toBe('config c.json: epochs: expected an integer >= 1, got "ten"');
    expect(problem(TrainConfigSchema, { lr: -1 })).toBe('config c.json: lr: expected a number > 0, got -1');
    expect(problem(TrainConfigSchema, { optimizer: 'sgd' })).toBe('config c.json: optimizer: expected one of "adamw", "adam", got "sgd"');
    expect(problem(TrainConfigSchema, { validation: { metric: 'ndgc@5' } })).toMatch(/^config c\.json: validation\.metric: expected a metric like "ndcg@5".*got "ndgc@5"$/);
    expect(problem(TrainConfigSchema, { validation: 5 })).toBe('config c.json: validation: expected an object with metric, patience, every, got 5');
    expect(problem(TrainConfigSchema, { model: { hiddenSize: [8] } })).toBe('config c.json: model.hiddenSize: expected a number, boolean or string, got [8]');
    expect(problem(TrainConfigSchema, [1])).toBe('config c.json: (top level): expected a JSON object, got [1]');
  });

  it('names unknown fields with the known ones, at any depth', () => {
    expect(problem(TrainConfigSchema, { epoch: 3 })).toMatch(/^config c\.json: unknown field 'epoch' \(expected epochs, batchSize, lr, .*methods\)$/);
    expect(problem(TrainConfigSchema, { validation: { patiance: 2 } })).toBe("config c.json: unknown field 'validation.patiance' (expected metric, patience, every)");
    expect(problem(TrainConfigSchema, { models: { sasrek: {} } })).toBe("config c.json: models.sasrek: unknown model 'sasrek' (expected sasrec, bert4rec, narm, gru4rec)");
    // synthetic belongs to the demo only
    expect(problem(TrainConfigSchema, { synthetic: { numUsers: 10 } })).toMatch(/unknown field 'synthetic'/);
    expect(problem(DemoConfigSchema, { synthetic: { nUsers: 10 } })).toMatch(/^config c\.json: unknown field 'synthetic\.nUsers' \(expected seed, numUsers, numItems/);
    expect(problem(DemoConfigSchema, { synthetic: { numUsers: 'x' } })).toBe('config c.json: synthetic.numUsers: expected a finite number, got "x"');
  });

  it('lists every problem, one per line', () => {
    // in the schema's field order
    expect(problem(TrainConfigSchema, { lr: 0, batchSize: 0 }).split('\n')).toEqual([
      'config c.json: batchSize: expected an integer >= 1, got 0',
      'config c.json: lr: expected a number > 0, got 0',
    ]);
  });

  it('reports a missing file and a file that is not JSON', () => {
    expect(() => readConfig(TrainConfigSchema, `${tmp.dir}/nope.json`)).toThrow(/config .*nope\.json: cannot be read \(ENOENT\)/);
    const bad = tmp.write('bad.json', '{ "epochs": 3,, }');
    expect(() => readConfig(TrainConfigSchema, bad)).toThrow(/config .*bad\.json: not JSON/);
  });
});

describe('2. layering: defaults < file < flags', () => {
  const base = { train: { epochs: 10, validation: { metric: 'ndcg@10', patience: 0 } }, model: { hiddenSize: 32, maxLen: 30 }, models: {}, methods: { afsr: { lambda: 0.1 } } };

  it('layer() merges field by field', () => {
    const over = { train: { lr: 0.01, validation: { patience: 3 } }, model: { hiddenSize: 8 }, models: { sasrec: { dropout: 0 } }, methods: { afsr: { spanSize: 5 } } };
    expect(layer(base, over)).toEqual({
      train: { epochs: 10, lr: 0.01, validation: { metric: 'ndcg@10', patience: 3 } }, model: { hiddenSize: 8, maxLen: 30 },
      models: { sasrec: { dropout: 0 } }, methods: { afsr: { lambda: 0.1, spanSize: 5 } },
    });
  });

  it('mergeFlags() puts the hyper-parameter flags on top', () => {
    const m = mergeFlags(base, { epochs: 2, patience: 1, hidden: 16 });
    expect(m.train).toEqual({ epochs: 2, validation: { metric: 'ndcg@10', patience: 1 } });
    expect(m.model).toEqual({ hiddenSize: 16, maxLen: 30 });
  });
});
