/**
 * The objectives inside the real trainer (src/train/trainer.ts) with the real backbones, on the
 * planted-bias synthetic data (src/data generateSynthetic + preprocess):
 *
 *   1. every objective trains SASRec, BERT4Rec, NARM and GRU4Rec for an epoch without NaN, and
 *      the weights move
 *   2. a run interrupted after epoch 1 and resumed from its checkpoint ends with exactly the
 *      weights of an uninterrupted run, for the stateful objectives (their state dicts go
 *      through the trainer's JSON checkpoint)
 *   3. pooling the kernel outputs between steps (buffer-pool.ts) gives bit-identical weights
 *   4. ERM's and A-FSR's first pass's output-layer gradients, computed in the forward
 *      (presumedGrad), are the ones used, and are the bits of the plain backward
 */
import { afterAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { Generator, Streams } from '../../src/engine/index.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { preprocess } from '../../src/data/preprocess.js';
import { attributeGroups } from '../../src/data/groups.js';
import { encodeGroups } from '../../src/data/user-groups.js';
import { type ModelName, createModel } from '../../src/models/index.js';
import { OBJECTIVE_NAMES, createObjective } from '../../src/fairness/index.js';
import { train } from '../../src/train/trainer.js';
import { poolStats, setPooling } from '../../src/backend/buffer-pool.js';
import { getBackend } from '../../src/backend/index.js';
import { epochBatchCount, epochBatches } from '../../src/train/batches.js';
import { makeContext } from '../../src/train/context.js';
import { targetRows } from '../../src/train/losses.js';
import { setBackend } from '../../src/backend/index.js';
import { type KernelTime, timedBackend } from '../../bench/timed-backend.js';
import { tempDir } from '../data/helpers.js';

const { log } = generateSynthetic({ seed: 7, numUsers: 96, numItems: 80, minLen: 8, maxLen: 24, chainLength: 8 });
const ds = preprocess(log, { name: 'synthetic-train' });
const groups = encodeGroups(attributeGroups(ds, 'group'), ['majority', 'minority']);
const batchSize = 32;
const tmp = tempDir('seqfair-fairness-');
afterAll(() => tmp.cleanup());

function model(name: ModelName, seed = 1) {
  return createModel(name, { numItems: ds.numItems, maxLen: 12, hiddenSize: 16, layers: 1, heads: 2, dropout: 0.1 }, new Generator(seed, Streams.init));
}

function objective(name: string, m: ReturnType<typeof model>, options: Record<string, unknown> = {}) {
  const stepsPerEpoch = epochBatchCount(ds, m.targetKind, { batchSize, maxLen: 12, lastTargets: 'all' });
  return createObjective(name, options, { model: m, dataset: ds, groups, stepsPerEpoch, seed: 3 });
}

describe('1. every objective trains every backbone without NaN', () => {
  for (const backbone of ['sasrec', 'bert4rec', 'narm', 'gru4rec'] as const) {
    for (const name of OBJECTIVE_NAMES) {
      it(`${backbone} / ${name}`, () => {
        const m = model(backbone);
        const before = m.stateDict();
        const r = train(m, ds, { objective: objective(name, m), epochs: 1, seed: 4, batchSize, validation: false, groups });
        const loss = r.history[0]!.train_loss;
        expect(Number.isFinite(loss), `train loss ${loss}`).toBe(true);
        // the trainer's defaults: every prefix of every user for 'last' models (NARM), sliding windows for BERT4Rec
        expect(r.steps).toBe(epochBatchCount(ds, m.targetKind, { batchSize, maxLen: 12, lastTargets: 'all', slidingWindow: m.defaultSlidingWindow }));
        let moved = 0;
        for (const [k, v] of m.stateDict()) {
          const b = before.get(k)!.f32();
          const a = v.f32();
          expect(a.every(Number.isFinite), `${k} is not finite`).toBe(true);
          for (let i = 0; i < a.length; i++) moved = Math.max(moved, Math.abs(a[i]! - b[i]!));
        }
        expect(moved, 'no weight moved').toBeGreaterThan(0);
      });
    }
  }
});

describe('2. checkpoint and resume', () => {
  for (const name of ['group-dro', 'streaming-dro', 'adv', 'afsr'] as const) {
    it(`${name}: interrupted after epoch 1 and resumed = uninterrupted`, () => {
      const cfg = { epochs: 3, seed: 5, batchSize, validation: false as const, groups };
      // afsr: a refresh every 2 of the 3 steps per epoch, so the resumed run must use the table
      // from its checkpoint (built at step 2) for its first step (3)
      const opts = name === 'afsr' ? { refreshEvery: 2 } : {};
      const full = model('sasrec', 2);
      train(full, ds, { ...cfg, objective: objective(name, full, opts) });
      const dir = path.join(tmp.dir, name);
      const part = model('sasrec', 2);
      train(part, ds, { ...cfg, epochs: 1, objective: objective(name, part, opts), checkpointDir: dir });
      const resumed = model('sasrec', 2);
      const r = train(resumed, ds, { ...cfg, objective: objective(name, resumed, opts), checkpointDir: dir });
      expect(r.resumedFrom).toBe(1);
      for (const [k, v] of full.stateDict()) expect(Array.from(resumed.stateDict().get(k)!.f32()), k).toEqual(Array.from(v.f32()));
    });
  }
});

describe('3. the trainer\'s per-step scope (recycled kernel outputs) changes no result', () => {
  for (const backbone of ['sasrec', 'bert4rec', 'narm', 'gru4rec'] as const) {
    it(`${backbone}: erm, afsr, adv and streaming-dro end with the same weights with and without pooling`, () => {
      for (const name of ['erm', 'afsr', 'adv', 'streaming-dro']) {
        const run = (pooled: boolean) => {
          setPooling(pooled);
          try {
            const m = model(backbone, 2);
            const r = train(m, ds, { objective: objective(name, m), epochs: 2, seed: 5, batchSize, validation: false, groups });
            // the pooled run did recycle: the pool holds the last step's outputs
            if (pooled && getBackend().name !== 'reference') expect(poolStats().arrays).toBeGreaterThan(0);
            return { weights: m.stateDict(), loss: r.history.map((h) => h.train_loss) };
          } finally {
            setPooling(true);
          }
        };
        const a = run(true), b = run(false);
        expect(a.loss, name).toEqual(b.loss);
        for (const [k, v] of a.weights) expect(Buffer.from(v.f32().buffer).equals(Buffer.from(b.weights.get(k)!.f32().buffer)), `${name}: ${k}`).toBe(true);
      }
    });
  }
});

describe('4. output-layer gradients from the forward (presumedGrad): used, and the bits of the plain backward', () => {
  /** fn's projCe kernel calls, by bench/timed-backend.ts key */
  function projCeCalls(fn: () => void): Record<string, number> {
    const be = getBackend(), times = new Map<string, KernelTime>();
    setBackend(timedBackend(be, times));
    try {
      fn();
    } finally {
      setBackend(be);
    }
    return Object.fromEntries([...times.values()].filter((t) => t.kernel.startsWith('projCe')).map((t) => [t.kernel, t.calls]));
  }

  function firstBatch(m: ReturnType<typeof model>) {
    return epochBatches(ds, m.targetKind, { batchSize, maxLen: 12, seed: 5, epoch: 0, lastTargets: 'all' }).next().value!;
  }

  for (const backbone of ['sasrec', 'bert4rec', 'narm', 'gru4rec'] as const) {
    it(`${backbone}: erm's step runs no separate output-layer backward, and its gradients equal the plain mean's`, () => {
      const m = model(backbone, 2);
      m.eval(); // no dropout: the two passes below see the same network
      const batch = firstBatch(m);
      const ctx = makeContext(m, batch, 0, null);
      const calls = projCeCalls(() => createObjective('erm', {}).loss(ctx).backward());
      expect(calls).toEqual({ projCeForwardBackward: 1 });
      const hinted = m.parameters().map((p) => p.grad!.f32().slice());
      m.zeroGrad();
      const n = targetRows(batch).reduce((a, r) => a + r, 0);
      const plain = projCeCalls(() => ctx.sequenceLosses().sum().div(n).backward());
      expect(plain).toEqual({ projCeForward: 1, projCeBackward: 1 });
      m.parameters().forEach((p, i) => expect(Buffer.from(p.grad!.f32().buffer).equals(Buffer.from(hinted[i]!.buffer)), `${backbone} parameter ${i}`).toBe(true));
    });
  }

  it('afsr: the first pass takes ∂L/∂z from its forward, the second pass runs the usual backward', () => {
    const m = model('sasrec', 2);
    m.train();
    const ctx = makeContext(m, firstBatch(m), 0, groups);
    const calls = projCeCalls(() => objective('afsr', m).loss(ctx).backward());
    expect(calls).toEqual({ 'projCeForwardBackward (dHidden only)': 1, projCeForward: 1, projCeBackward: 1 });
  });
});
