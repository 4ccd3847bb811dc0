/**
 * 2. Each model memorises a tiny data set on the cpu backend: 16 sequences of 3..9 items over 20
 *    items (every prefix determines its next item, tinySequences), per-sequence mean
 *    cross-entropy through the fused projection loss, Adam lr 1e-2, dropout 0, D = 16, two
 *    blocks / GRU layers. The untrained loss is near (or, for the tied transformers, above) the
 *    uniform baseline ln(vocab) ≈ 3; random next items can only be memorised, so the loss falls
 *    far below it only if every gradient path works together. Bounds leave ~5× room over the
 *    values reached (listed in each title; the trace is in the failure message).
 */
import { describe, expect, it } from 'vitest';
import { withBackend } from '../../src/backend/index.js';
import { noGrad } from '../../src/engine/index.js';
import { type ModelName, sequenceLosses } from '../../src/models/index.js';
import { Adam } from '../../src/optim/index.js';
import { cpuOrNull, cpuSkipNote, tinyBatch, tinyModel } from './helpers.js';

const STEPS = 60;

/** model → [bound on the mean per-sequence loss after STEPS steps, the value seen when written] */
const BOUNDS: Record<ModelName, [number, string]> = {
  sasrec: [0.25, '0.02'],
  bert4rec: [0.25, '0.06'],
  narm: [0.25, '0.04'], // every prefix (it learned the last position only before: 1e-4)
  gru4rec: [0.25, '0.007'],
};

describe.skipIf(cpuOrNull === null)(`2. overfitting 16 tiny sequences on the cpu backend${cpuSkipNote}`, () => {
  for (const [name, [bound, seen]] of Object.entries(BOUNDS) as [ModelName, [number, string]][]) {
    it(`2 ${name}: mean per-sequence loss < ${bound} after ${STEPS} Adam steps (≈ ${seen} reached)`, () => withBackend(cpuOrNull!, () => {
      const model = tinyModel(name, 5);
      const { ids, targets } = tinyBatch(model);
      const opt = new Adam(model.parameters(), { lr: 1e-2 });
      const lossNow = () => sequenceLosses(model, model.forward(ids), targets).mean();
      const losses: number[] = [];
      for (let s = 0; s < STEPS; s++) {
        opt.zeroGrad();
        const loss = lossNow();
        losses.push(loss.item());
        loss.backward();
        opt.step();
      }
      const final = noGrad(lossNow).item();
      const trace = `losses every 10 steps: ${losses.filter((_, i) => i % 10 === 0).map((v) => v.toFixed(3)).join(' ')}; final ${final.toFixed(4)}`;
      expect(losses[0]!, trace).toBeGreaterThan(Math.log(model.vocabSize) - 0.5);
      expect(final, trace).toBeLessThan(bound);
    }));
  }
});
