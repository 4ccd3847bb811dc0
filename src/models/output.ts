/**
 * The output layer every training loss and the scorer share: hidden rows (N,D) against the
 * model's output table (V,D), plus an optional per-item bias (V) for models that have one
 * (BERT4Rec's original output layer: logits = h·Eᵀ + b).
 *
 * The fused projection + cross-entropy kernel has no bias input, so a bias is folded in as one
 * more column: [h, 1] · [E, b]ᵀ = h·Eᵀ + b. The gradient of b arrives through concat like any
 * other parameter's; models without a bias pass their rows and table through untouched.
 */
import { type Tensor, concat, ones } from '../engine/index.js';
import type { SequentialRecommender } from './types.js';

export interface OutputProjection {
  /** (N, D) or (N, D+1) with a trailing column of ones */
  rows: Tensor;
  /** (V, D) or (V, D+1) with the bias as the last column */
  table: Tensor;
}

/** rows (N,D) → the operands of logits = rows·tableᵀ (+ bias), ready for projectionCrossEntropy. */
export function outputProjection(model: SequentialRecommender, rows: Tensor): OutputProjection {
  const table = model.outputTable();
  const bias = model.outputBias?.() ?? null;
  if (bias === null) return { rows, table };
  const [N] = rows.shape as [number];
  const [V] = table.shape as [number];
  return { rows: concat([rows, ones([N, 1])], 1), table: concat([table, bias.reshape([V, 1])], 1) };
}
