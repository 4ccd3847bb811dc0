/**
 * 1. Every model computes the same forward and backward on the reference backend (plain TS, the
 *    oracle) and the native cpu backend: the hidden states, the per-sequence losses of the fused
 *    projection cross-entropy, and every parameter's gradient, within 1e-4 relative.
 *    1.x.1 with dropout 0 (eval-equivalent); 1.x.2 in training mode with dropout 0.3 drawn from
 *    the same seeded generator on both backends (Philox masks are backend-independent), which
 *    also pins that dropout is applied identically.
 */
import { describe, expect, it } from 'vitest';
import { type Backend, referenceBackend, withBackend } from '../../src/backend/index.js';
import { Generator, Streams, type Tensor } from '../../src/engine/index.js';
import { MODEL_NAMES, type ModelName, type RecommenderBase, sequenceLosses } from '../../src/models/index.js';
import { cpuOrNull, cpuSkipNote, expectNormClose, maxAbsDiff, tinyBatch, tinyModel } from './helpers.js';

interface Run {
  hidden: Float32Array;
  seq: Float32Array;
  loss: number;
  grads: Map<string, Float32Array>;
}

function runOn(be: Backend, model: RecommenderBase, dropoutGen: Generator | null): Run {
  return withBackend(be, () => {
    if (dropoutGen) dropoutGen.position = 0; // the same masks on every backend
    model.zeroGrad();
    const { ids, targets } = tinyBatch(model);
    const hidden: Tensor = model.forward(ids);
    const seq = sequenceLosses(model, hidden, targets);
    const loss = seq.mean();
    loss.backward();
    const grads = new Map<string, Float32Array>();
    for (const [n, p] of model.namedParameters()) grads.set(n, p.grad ? p.grad.f32().slice() : new Float32Array(p.size));
    return { hidden: hidden.f32().slice(), seq: seq.f32().slice(), loss: loss.item(), grads };
  });
}

function compare(ref: Run, cpu: Run): void {
  expect(Math.abs(cpu.loss - ref.loss), `loss ${cpu.loss} vs ${ref.loss}`).toBeLessThanOrEqual(1e-4 * Math.abs(ref.loss));
  expectNormClose('seq losses', cpu.seq, ref.seq, 1e-4);
  expectNormClose('hidden', cpu.hidden, ref.hidden, 1e-4);
  for (const [n, g] of ref.grads) {
    // atol: gradients that are exactly zero in exact arithmetic (SASRec's key bias) are f32 noise
    expectNormClose(`grad ${n}`, cpu.grads.get(n)!, g, 1e-4, 1e-7);
  }
}

describe.skipIf(cpuOrNull === null)(`1. reference and cpu backends agree${cpuSkipNote}`, () => {
  MODEL_NAMES.forEach((name: ModelName, i) => {
    it(`1.${i + 1}.1 ${name}: forward, losses and every gradient, dropout 0`, () => {
      const model = tinyModel(name, 3);
      const ref = runOn(referenceBackend, model, null);
      const cpu = runOn(cpuOrNull!, model, null);
      expect(ref.loss).toBeGreaterThan(0);
      // every parameter takes part: a zero gradient would hide a dead path
      for (const [n, g] of ref.grads) {
        if (/attn\.k\.bias$/.test(n)) continue; // softmax-invariant: its gradient is zero
        expect(g.some((v) => v !== 0), `grad of ${n} is all zero`).toBe(true);
      }
      compare(ref, cpu);
    });

    it(`1.${i + 1}.2 ${name}: training mode, dropout 0.3 from the same seed`, () => {
      const dropoutGen = new Generator(77, Streams.dropout);
      const model = tinyModel(name, 4, { dropout: 0.3, dropoutGen });
      model.train();
      const ref = runOn(referenceBackend, model, dropoutGen);
      const cpu = runOn(cpuOrNull!, model, dropoutGen);
      compare(ref, cpu);
      // dropout is really on: eval mode gives other hidden states
      model.eval();
      const evalRun = runOn(referenceBackend, model, dropoutGen);
      expect(maxAbsDiff(evalRun.hidden, ref.hidden)).toBeGreaterThan(1e-2);
    });
  });
});
