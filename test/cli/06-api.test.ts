/** The library API (src/api.ts through src/index.ts): the names it promises, and a small round trip. */
import { describe, expect, it } from 'vitest';
import * as seqfair from '../../src/index.js';

describe('library API', () => {
  it('exports the functions the command line is built on', () => {
    for (const f of ['loadDataset', 'train', 'trainRun', 'evaluate', 'compare', 'writeReport', 'loadCheckpoint', 'evaluateCheckpoint', 'auditCheckpoint', 'auc', 'runDemo', 'registerMethod', 'methodNames', 'resolveGroupings'] as const) {
      expect(typeof seqfair[f], f).toBe('function');
    }
    expect(seqfair.models.names).toEqual(['sasrec', 'bert4rec', 'narm', 'gru4rec']);
    expect(seqfair.objectives.names).toContain('afsr');
    expect(seqfair.objectives.create('cvar-dro', { alpha: 0.5 }).name).toBe('cvar-dro');
    expect(() => seqfair.objectives.create('cvar-dro', { alfa: 0.5 })).toThrow(/alfa/);
    // the engine beside it
    expect(typeof seqfair.nn.Linear).toBe('function');
    expect(typeof seqfair.optim.AdamW).toBe('function');
    // compare knows the objectives that need no groups
    for (const m of ['erm', 'cvar-dro', 'afsr', 'afsr-no-dns', 'afsr-no-dro', 'class-balanced']) expect(seqfair.methodNames()).toContain(m);
  });

  it('loadDataset → models.create → train → evaluate', async () => {
    const data = await seqfair.loadDataset({ kind: 'synthetic', options: { numUsers: 40, numItems: 150, maxLen: 20, seed: 2 }, name: 'tiny' });
    expect(data.name).toBe('tiny');
    expect((await seqfair.loadDataset({ kind: 'synthetic', options: { numUsers: 20, numItems: 150, maxLen: 20, seed: 2 } })).name).toBe('synthetic');
    expect((await seqfair.loadDataset('synthetic:numUsers=20,numItems=150,maxLen=20,seed=2')).numUsers).toBe(20);
    const model = seqfair.models.create('gru4rec', { numItems: data.numItems, hiddenSize: 8, maxLen: 10 });
    const r = seqfair.train(model, data, { epochs: 1, seed: 1, validation: false, objective: seqfair.objectives.create('afsr') });
    expect(r.epochsTrained).toBe(1);
    const ev = seqfair.evaluate(model, data, { protocols: { protocol: 'sampled' } });
    expect(ev.protocols['sampled-popularity']!.overall.count).toBe(40);
  });
});
