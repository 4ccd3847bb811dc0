/**
 * Per-sequence training losses of any SequentialRecommender through the engine's fused output
 * projection + cross-entropy (never the (B·L × V) logits): the loss of sequence b is the mean
 * cross-entropy over its target positions (targets ≠ 0), as FORMAT.md 4.16's seq_loss. DRO
 * methods need these per-sequence values, never only their mean.
 */
import { Tensor, projectionCrossEntropy } from '../engine/index.js';
import { outputProjection } from './output.js';
import type { SequentialRecommender } from './types.js';

const fmt = (s: readonly number[]): string => `(${s.join(',')})`;

/**
 * hidden (B,L',D) from encode and targets i32 (B,L') — or (B) when L' = 1 —
 * → per-sequence losses (B): Σ_t ce[b,t] / #{t : targets[b,t] ≠ 0}, computed over the whole
 * output table (padding row and, for BERT4Rec, the mask token included as classes). A row
 * without any target gets loss 0 and no gradient.
 */
export function sequenceLosses(model: SequentialRecommender, hidden: Tensor, targets: Tensor): Tensor {
  if (hidden.rank !== 3) throw new Error(`sequenceLosses: hidden must be (B,L,D) from encode, got ${fmt(hidden.shape)}`);
  const [B, L, D] = hidden.shape as [number, number, number];
  const okShape = targets.rank === 2 ? targets.shape[0] === B && targets.shape[1] === L : targets.rank === 1 && L === 1 && targets.shape[0] === B;
  if (targets.dtype !== 'i32' || !okShape) {
    throw new Error(`sequenceLosses: hidden is ${fmt(hidden.shape)} so targets must be i32 (${B},${L})${L === 1 ? ` or (${B})` : ''}, got ${targets.dtype} ${fmt(targets.shape)}`);
  }
  const tv = targets.i32();
  const inv = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let t = 0; t < L; t++) if (tv[b * L + t] !== 0) n++;
    inv[b] = n > 0 ? 1 / n : 0;
  }
  const out = outputProjection(model, hidden.reshape([B * L, D]));
  const ce = projectionCrossEntropy(out.rows, out.table, targets.reshape([B * L]), { ignoreIndex: 0 });
  return ce.reshape([B, L]).sum(1).mul(new Tensor(inv, [B]));
}
