/**
 * Training batches for the step benchmarks, built from seeded ids (bench/data.ts's Rand) by the
 * library's own batch builders (src/data/batching.ts), so seqfair and the tfjs peers train on
 * exactly the same rows.
 *
 * Every row is a full-length history of L+1 items: all L positions are real items with a target,
 * so there is no padding for seqfair's kernels to skip (the worst case for seqfair, and the shape
 * the PyTorch timings used: (B, L=50) id tensors with a target everywhere).
 */
import { type SequenceBatch, lastItemBatch, nextItemBatch } from '../../src/data/batching.js';
import { Rand } from '../data.js';

function histories(seed: number, B: number, L: number, numItems: number): { rows: Int32Array[]; users: Int32Array } {
  const rand = new Rand(seed);
  const rows = Array.from({ length: B }, () => rand.ints(L + 1, 1, numItems + 1));
  return { rows, users: Int32Array.from({ length: B }, (_, b) => b) };
}

/** (B, L) inputs with the next item as the target of every position (SASRec, A-FSR). */
export function nextBatch(seed: number, B: number, L: number, numItems: number): SequenceBatch {
  const { rows, users } = histories(seed, B, L, numItems);
  return nextItemBatch(rows, users, L);
}

/** (B, L) inputs with one target per row, the item after the input (NARM). */
export function lastBatch(seed: number, B: number, L: number, numItems: number): SequenceBatch {
  const { rows, users } = histories(seed, B, L, numItems);
  return lastItemBatch(rows, users, L);
}

/**
 * Per-position loss weights as seqfair's sequenceLosses applies them: 1/n_b on each of row b's n_b
 * target positions (so a row's weighted sum is its mean loss), 0 where the target is 0; and the
 * number of rows with a target (ERM's mean runs over those). The tfjs peers use these constants.
 */
export function positionWeights(batch: SequenceBatch): { weights: Float32Array; rows: number } {
  const P = batch.targets.length / batch.B;
  const weights = new Float32Array(batch.B * P);
  let rows = 0;
  for (let b = 0; b < batch.B; b++) {
    let n = 0;
    for (let j = 0; j < P; j++) if (batch.targets[b * P + j] !== 0) n++;
    if (n > 0) rows++;
    for (let j = 0; j < P; j++) if (batch.targets[b * P + j] !== 0) weights[b * P + j] = 1 / n;
  }
  return { weights, rows };
}
