/**
 * `npm run test:gpu`: a SASRec training run on the cuda backend follows the cpu one: the product
 * model (src/models/sasrec.ts) with dropout 0.2 on embeddings and attention weights (the same
 * Philox streams on both backends), the fused projection + cross-entropy loss, 3 Adam steps.
 * Losses and every parameter after the steps agree to float32 accumulation-order noise — except
 * blocks.*.attn.k.bias, whose true gradient is 0 (softmax is shift-invariant per query), so Adam
 * moves it by normalised rounding noise that differs between any two backends (FORMAT.md 4.16
 * leaves it out of the golden case for the same reason).
 */
import { describe, expect, it } from 'vitest';

import type { Backend } from '../../src/backend/backend.js';
import { withBackend } from '../../src/backend/index.js';
import { Generator, tensor } from '../../src/engine/index.js';
import { Sasrec, sequenceLosses } from '../../src/models/index.js';
import { Adam } from '../../src/optim/index.js';
import { expectClose, randInt } from './suite/helpers.js';
import { cpuOrNull, cuda, haveGpu, skipReason } from './suite/gpu.js';

function train(backend: Backend, steps: number) {
  return withBackend(backend, () => {
    const B = 8, L = 12, numItems = 50;
    const model = new Sasrec({ numItems, maxLen: L, hiddenSize: 16, layers: 2, heads: 2, dropout: 0.2, dropoutGen: new Generator(8) }, new Generator(7));
    model.train();
    const ids = randInt(B * L, 1, numItems + 1, 3);
    const targets = randInt(B * L, 1, numItems + 1, 4);
    for (let b = 0; b < B; b++) for (let t = 0; t < b; t++) { ids[b * L + t] = 0; targets[b * L + t] = 0; } // left padding
    const idsT = tensor(ids, [B, L], { dtype: 'i32' }), targetsT = tensor(targets, [B, L], { dtype: 'i32' });
    const opt = new Adam(model.parameters(), { lr: 1e-2 });
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) {
      opt.zeroGrad();
      const loss = sequenceLosses(model, model.forward(idsT), targetsT).mean();
      losses.push(loss.item());
      loss.backward();
      opt.step();
    }
    return { losses, params: model.namedParameters().map(([n, p]) => [n, Float32Array.from(p.values)] as const) };
  });
}

describe.skipIf(!haveGpu || !cpuOrNull())(`SASRec training on cuda${haveGpu ? '' : ` (skipped: ${skipReason})`}`, () => {
  it('1. three Adam steps with dropout agree with the cpu backend', () => {
    const a = train(cuda(), 3), b = train(cpuOrNull()!, 3);
    expectClose(a.losses, b.losses, 1e-4, 1e-5, 'losses');
    expect(a.params.map(([n]) => n)).toEqual(b.params.map(([n]) => n));
    for (let i = 0; i < a.params.length; i++) {
      if (/attn\.k\.bias$/.test(a.params[i]![0])) continue;
      expectClose(a.params[i]![1], b.params[i]![1], 1e-3, 1e-4, `param ${a.params[i]![0]}`);
    }
  });
});
