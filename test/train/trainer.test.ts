/**
 * Tests of src/train/trainer.ts, checkpoint.ts and safetensors.ts on small synthetic data with
 * the TinyMarkov model of helpers.ts (so they do not depend on the real backbones).
 *
 *   1. ERM training lowers the validation loss and raises NDCG; the JSON-lines log
 *   2. early stopping stops, and the restored model scores exactly the best logged value
 *   3. safetensors layout and checkpoint round trip (identical scores; another shape is an error)
 *   4. an interrupted and resumed run equals an uninterrupted one (next/ce and cloze/bce)
 *   5. option checks
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluate, readMetric } from '../../src/eval/evaluate.js';
import { type EpochRecord, type TrainConfig, resolveTrainConfig, train } from '../../src/train/trainer.js';
import { createModel } from '../../src/models/index.js';
import { epochBatchCount } from '../../src/train/batches.js';
import { loadModel, saveModel } from '../../src/train/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/train/safetensors.js';
import { tempDir } from '../data/helpers.js';
import { TinyMarkov, type TinyOptions, smallSynthetic } from './helpers.js';

const tmp = tempDir('seqfair-train-');
afterAll(() => tmp.cleanup());
const ds = smallSynthetic(3);
const tiny = (o: Partial<TinyOptions> = {}): TinyMarkov => new TinyMarkov({ numItems: ds.numItems, hidden: 24, maxLen: 20, seed: 5, ...o });
const uniformValid = { protocol: 'sampled', negatives: 'uniform' } as const;

describe('1. training', () => {
  it('ERM lowers the validation loss and raises validation NDCG@5; every epoch is logged', () => {
    const model = tiny();
    const before = evaluate(model, ds, { split: 'valid', protocols: uniformValid, seed: 1 });
    const logFile = path.join(tmp.dir, 'logs', 'train.jsonl');
    const r = train(model, ds, { epochs: 6, seed: 1, lr: 5e-3, validation: { protocol: uniformValid, patience: 0 }, log: logFile });
    const after = evaluate(model, ds, { split: 'valid', protocols: uniformValid, seed: 1 });
    expect(after.meanLoss).toBeLessThan(before.meanLoss - 0.5);
    const n0 = readMetric(before.protocols['sampled-uniform']!.overall, 'ndcg@5');
    const n1 = readMetric(after.protocols['sampled-uniform']!.overall, 'ndcg@5');
    expect(n1).toBeGreaterThan(n0 + 0.1);
    const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EpochRecord);
    expect(lines.map((l) => l.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const l of lines) {
      for (const k of ['step', 'train_loss', 'valid', 'valid_loss', 'best_epoch', 'best_value', 'lr', 'time_s', 'items_per_s']) expect(l).toHaveProperty(k);
      expect(l.valid!['ndcg@5']).toBeTypeOf('number');
    }
    expect(lines[5]!.train_loss).toBeLessThan(lines[0]!.train_loss);
    expect(r.epochsTrained).toBe(6);
    expect(r.history).toEqual(lines);
  });
});

describe('2. early stopping', () => {
  it('stops after `patience` validations without improvement and restores the best weights', () => {
    const model = tiny({ hidden: 32 });
    // a large learning rate on a small model: validation peaks early, then degrades or wobbles
    const r = train(model, ds, { epochs: 40, seed: 2, lr: 0.05, validation: { protocol: uniformValid, patience: 2 }, log: () => {} });
    expect(r.stoppedEarly).toBe(true);
    expect(r.epochsTrained).toBeLessThan(40);
    const last = r.history[r.history.length - 1]!;
    expect(last.epoch - r.bestEpoch!).toBe(2);
    const best = r.history.find((h) => h.epoch === r.bestEpoch)!;
    expect(best.valid!['ndcg@5']).toBe(r.bestValue);
    expect(Math.max(...r.history.map((h) => h.valid!['ndcg@5']!))).toBe(r.bestValue);
    // the model now holds the best epoch's weights: re-evaluating gives exactly the logged value
    const again = evaluate(model, ds, { split: 'valid', protocols: uniformValid, seed: 2 });
    expect(readMetric(again.protocols['sampled-uniform']!.overall, 'ndcg@5')).toBe(r.bestValue);
    expect(again.meanLoss).toBeCloseTo(best.valid_loss!, 10);
  });
});

describe('3. checkpoints', () => {
  it('safetensors: header, alignment, dtypes, metadata', () => {
    const buf = encodeSafetensors(new Map([
      ['a.weight', { shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6.5) }],
      ['ids', { shape: [2], data: Int32Array.of(-7, 9) }],
    ]), { epoch: '3' });
    const n = Number(buf.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(buf.subarray(8, 8 + n).toString()) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
    expect(header['a.weight']).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    expect(header.ids).toEqual({ dtype: 'I32', shape: [2], data_offsets: [24, 32] });
    const back = decodeSafetensors(buf);
    expect([...back.tensors.get('a.weight')!.data]).toEqual([1, 2, 3, 4, 5, 6.5]);
    expect([...back.tensors.get('ids')!.data]).toEqual([-7, 9]);
    expect(back.metadata).toEqual({ epoch: '3' });
    expect(() => decodeSafetensors(buf.subarray(0, buf.length - 4), 'x.safetensors')).toThrow(/x.safetensors: tensor 'ids' .* do not fit/);
    expect(() => decodeSafetensors(Buffer.from('not a file'), 'y')).toThrow(/y: header length/);
  });

  it('a saved and reloaded model gives identical scores; another shape is a clear error', () => {
    const a = tiny({ seed: 11 });
    train(a, ds, { epochs: 1, seed: 3, validation: false });
    const file = path.join(tmp.dir, 'ck', 'model.safetensors');
    saveModel(a, file);
    const b = tiny({ seed: 99 });
    loadModel(b, file);
    const ea = evaluate(a, ds, { protocols: { protocol: 'full' } });
    const eb = evaluate(b, ds, { protocols: { protocol: 'full' } });
    expect(eb.loss).toEqual(ea.loss);
    expect(eb.protocols.full!.perUser.ranks).toEqual(ea.protocols.full!.perUser.ranks);
    const wider = tiny({ hidden: 8 });
    expect(() => loadModel(wider, file)).toThrow(/does not fit this model .*items\.weight: the model has shape \(\d+,8\) but the state dict has \(\d+,24\)/);
  });
});

describe('4. resume', () => {
  const cases: { name: string; o: Partial<TinyOptions>; c: Partial<TrainConfig> }[] = [
    { name: 'next-item targets, full softmax, dropout', o: {}, c: {} },
    { name: 'cloze masks, BCE with 2 negatives, Adam, clipping', o: { targetKind: 'cloze' }, c: { loss: 'bce', numNegatives: 2, optimizer: 'adam', clipNorm: 1 } },
    { name: 'last-position targets, random prefixes, sampled softmax', o: { targetKind: 'last' }, c: { lastTargets: 'random', loss: 'sampled-softmax', numNegatives: 20 } },
  ];
  for (const { name, o, c } of cases) {
    it(`an interrupted run resumed from its checkpoint ends as the uninterrupted run (${name})`, () => {
      const cfg = (dir: string): TrainConfig => ({
        epochs: 5, seed: 7, lr: 3e-3, batchSize: 48, validation: { protocol: uniformValid, patience: 0 }, checkpointDir: path.join(tmp.dir, dir), ...c,
      });
      const whole = tiny(o);
      const rWhole = train(whole, ds, cfg(`whole-${name}`));

      // the same run dies in the middle of epoch 4 (after the checkpoint of epoch 3)
      const first = tiny(o);
      const log = path.join(tmp.dir, `part-${name}.jsonl`);
      expect(() => train(first, ds, {
        ...cfg(`part-${name}`), log,
        onProgress: (p) => { if (p.phase === 'batch' && p.epoch === 4 && p.batch === 2) throw new Error('power cut'); },
      })).toThrow('power cut');
      // a new process: a freshly built model, resumed from the checkpoint directory
      const second = tiny(o);
      const rPart = train(second, ds, { ...cfg(`part-${name}`), log });
      expect(rPart.resumedFrom).toBe(3);
      const strip = (h: EpochRecord[]) => h.map(({ epoch, step, train_loss, valid, valid_loss, best_epoch, best_value }) => ({ epoch, step, train_loss, valid, valid_loss, best_epoch, best_value }));
      expect(strip(rPart.history)).toEqual(strip(rWhole.history));
      expect(second.stateDict()).toEqual(whole.stateDict());
      // the log file holds each epoch once
      expect(readFileSync(log, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as EpochRecord).epoch)).toEqual([1, 2, 3, 4, 5]);
      // a finished run called again returns at once with the best weights
      const third = tiny(o);
      const rDone = train(third, ds, cfg(`part-${name}`));
      expect(rDone.history.length).toBe(5);
      expect(third.stateDict()).toEqual(whole.stateDict());
    });
  }

  it('refuses to resume with another config, naming the fields', () => {
    const dir = path.join(tmp.dir, 'mismatch');
    train(tiny(), ds, { epochs: 1, seed: 1, checkpointDir: dir, validation: false });
    expect(() => train(tiny(), ds, { epochs: 2, seed: 1, lr: 0.1, checkpointDir: dir, validation: false }))
      .toThrow(/made with another config \(lr: checkpoint 0.001, now 0.1\)/);
    // more epochs with the same config is fine (it continues)
    const r = train(tiny(), ds, { epochs: 2, seed: 1, checkpointDir: dir, validation: false });
    expect(r.resumedFrom).toBe(1);
    expect(r.epochsTrained).toBe(2);
  });

  it('a corrupt state file is an error that names it', () => {
    const dir = path.join(tmp.dir, 'corrupt');
    train(tiny(), ds, { epochs: 1, seed: 1, checkpointDir: dir, validation: false });
    writeFileSync(path.join(dir, 'last', 'state.json'), '{');
    expect(() => train(tiny(), ds, { epochs: 2, seed: 1, checkpointDir: dir, validation: false })).toThrow(/last\/state.json: cannot be read/);
  });
});

describe('5. option checks', () => {
  const m = tiny();
  it.each([
    [{ epochs: 0 }, /epochs must be a positive integer, got 0/],
    [{ batchSize: 2.5 }, /batchSize must be a positive integer, got 2.5/],
    [{ lr: -1 }, /lr must be a finite number >= 0, got -1/],
    [{ optimizer: 'sgd' }, /optimizer must be 'adamw' or 'adam', got "sgd"/],
    [{ maxLen: 50 }, /maxLen must be an integer in \[1, 20\]/],
    [{ loss: 'hinge' }, /loss must be 'ce' \| 'sampled-softmax' \| 'bce', got "hinge"/],
    [{ validation: { metric: 'auc' } }, /metric must be recall@k, hr@k, ndcg@k or mrr, got 'auc'/],
    [{ validation: { patience: -1 } }, /validation.patience must be an integer >= 0/],
    [{ clipNorm: 0 }, /clipNorm must be a finite number > 0/],
    [{ slidingWindow: 1.5 }, /slidingWindow must be a number in \[0, 1\], got 1.5/],
  ] as [Partial<TrainConfig>, RegExp][])('%o', (bad, msg) => {
    expect(() => resolveTrainConfig(m, { epochs: 1, seed: 1, ...bad } as TrainConfig)).toThrow(msg);
  });
  it('slidingWindow: recorded only when on, refused for last-position models', () => {
    expect(resolveTrainConfig(m, { epochs: 1, seed: 1 }).slidingWindow).toBeUndefined();
    expect(resolveTrainConfig(m, { epochs: 1, seed: 1, slidingWindow: 0.5 }).slidingWindow).toBe(0.5);
    // BERT4Rec's default is the original's windows; an explicit 0 turns them off
    const bert = createModel('bert4rec', { numItems: ds.numItems, maxLen: 20, hiddenSize: 8, layers: 1, heads: 2 });
    expect(resolveTrainConfig(bert, { epochs: 1, seed: 1 }).slidingWindow).toBe(0.5);
    expect(resolveTrainConfig(bert, { epochs: 1, seed: 1, slidingWindow: 0 }).slidingWindow).toBeUndefined();
    expect(() => resolveTrainConfig(tiny({ targetKind: 'last' }), { epochs: 1, seed: 1, slidingWindow: 0.5 })).toThrow(/slidingWindow must be 0 for a last-position model/);
    const steps = (slidingWindow: number): number => train(tiny(), ds, { epochs: 1, seed: 1, batchSize: 16, validation: false, slidingWindow }).steps;
    const windowed = steps(0.5);
    expect(windowed).toBe(epochBatchCount(ds, 'next', { batchSize: 16, maxLen: 20, lastTargets: 'last', slidingWindow: 0.5 }));
    expect(windowed).toBeGreaterThan(steps(0));
  });
});
