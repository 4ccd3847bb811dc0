/**
 * What every model-step case builds on both sides: the seqfair model (seeded, so the seqfair row
 * and the tfjs rows, which copy its weights, start from identical models), the batch, and the
 * batch as tfjs constants.
 */
import { Generator, Streams } from '../../src/engine/index.js';
import type { SequenceBatch } from '../../src/data/batching.js';
import { createModel } from '../../src/models/index.js';
import type { Narm } from '../../src/models/narm.js';
import type { Sasrec } from '../../src/models/sasrec.js';
import type { Tf } from '../tfjs.js';
import { lastBatch, nextBatch, positionWeights } from './batch.js';

type T = import('@tensorflow/tfjs').Tensor;

export interface StepSize {
  B: number;
  /** sequence length (default 50, also the model's maxLen) */
  L?: number;
  numItems: number;
  /** other model options (hiddenSize, heads, …; the models' defaults otherwise) — tests shrink them */
  model?: Record<string, number>;
}

const MODEL_SEED = 5005;
const BATCH_SEED = 6006;

export function sasrecModel(s: StepSize): Sasrec {
  return createModel('sasrec', { numItems: s.numItems, maxLen: s.L ?? 50, ...s.model }, new Generator(MODEL_SEED, Streams.init));
}

export function narmModel(s: StepSize): Narm {
  return createModel('narm', { numItems: s.numItems, maxLen: s.L ?? 50, ...s.model }, new Generator(MODEL_SEED, Streams.init));
}

export function stepBatch(kind: 'next' | 'last', s: StepSize): SequenceBatch {
  return (kind === 'next' ? nextBatch : lastBatch)(BATCH_SEED + s.B, s.B, s.L ?? 50, s.numItems);
}

/** The batch as tfjs constants: ids and key mask (B,L) int32, flat targets int32, position weights. */
export interface TfBatch {
  ids: T;
  keyMask: T;
  targets: T;
  weights: T;
  /** rows with a target (ERM's denominator) */
  rows: number;
  all: T[];
}

export function tfBatch(tf: Tf, batch: SequenceBatch): TfBatch {
  const { B, L } = batch;
  const { weights, rows } = positionWeights(batch);
  const ids = tf.tensor2d(batch.inputs, [B, L], 'int32');
  const keyMask = tf.tensor2d(Int32Array.from(batch.inputs, (id) => (id !== 0 ? 1 : 0)), [B, L], 'int32');
  const targets = tf.tensor1d(batch.targets, 'int32');
  const w = tf.tensor1d(weights);
  return { ids, keyMask, targets, weights: w, rows, all: [ids, keyMask, targets, w] };
}
