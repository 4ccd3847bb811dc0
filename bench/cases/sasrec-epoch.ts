/**
 * sasrec-epoch-ml100k: one SASRec training epoch over MovieLens-100K through the library's own
 * trainer, as a user runs it: train(model, data, { epochs: 1, batchSize: 64, validation: false })
 * with its defaults otherwise (AdamW lr 1e-3, weight decay 0.01, full-softmax cross-entropy,
 * maxLen 50, shuffled batches of every user's training sequence). SASRec at the model defaults
 * (D = 64, 2 blocks, 2 heads, dropout 0.2). Each call trains one more epoch of the same model.
 *
 * seqfair only: the same-model comparison with tfjs is sasrec-step-b64 (one batch of this epoch's
 * shape). Data: <root>/ml-100k with <root> = $SEQFAIR_DATA, else ../shared/datasets next to the
 * repository (the tests' and examples' convention); without it the case is skipped.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setBackend } from '../../src/backend/index.js';
import { loadDataset } from '../../src/api.js';
import { Generator, Streams } from '../../src/engine/index.js';
import { datasetsRoot } from '../../src/experiments/common.js';
import { createModel } from '../../src/models/index.js';
import { train } from '../../src/train/trainer.js';
import type { BenchCase } from '../case.js';

export function ml100kDir(): string {
  return path.join(datasetsRoot(), 'ml-100k');
}

export const BATCH = 64;

export const sasrecEpochCase: BenchCase = {
  name: 'sasrec-epoch-ml100k',
  summary: `one SASRec epoch over ML-100K with the trainer (batch ${BATCH})`,
  infeasible: {
    'tfjs-cpu': 'seqfair only (the trainer end to end); the tfjs comparison is sasrec-step-b64',
    'tfjs-wasm': 'seqfair only (the trainer end to end); the tfjs comparison is sasrec-step-b64',
  },
  unavailable() {
    const dir = ml100kDir();
    return existsSync(path.join(dir, 'u.data')) ? null : `ML-100K absent (no u.data in ${dir}; set SEQFAIR_DATA to the folder holding ml-100k/)`;
  },
  async seqfair(be) {
    const data = await loadDataset(`ml-100k:${ml100kDir()}`);
    setBackend(be);
    const model = createModel('sasrec', { numItems: data.numItems }, new Generator(5005, Streams.init));
    const epoch = () => train(model, data, { epochs: 1, batchSize: BATCH, seed: 1, validation: false });
    return {
      run: () => { epoch(); },
      outputs: () => ({ loss: Float32Array.of(epoch().history[0]!.train_loss) }),
      dispose: () => {},
    };
  },
  tfjs() {
    throw new Error('sasrec-epoch-ml100k has no tfjs peer');
  },
};
