/**
 * Class-balanced loss (the ECIR 2025 paper's `cb` / `cb_log` baseline): the cross-entropy of each
 * target position is weighted by the inverse training frequency of its target item, so rare items
 * count more:
 *
 *   class-balanced:      w_i ∝ T / c_i          (c_i = training occurrences of item i, T = Σ c_i)
 *   class-balanced-log:  w_i ∝ log(T / c_i)     (the ECIR code's log-smoothed weights)
 *
 * normalised to mean 1 over the training interactions (Σ_i c_i w_i / T = 1) so the loss keeps the
 * scale of ERM. An item never seen in training is weighted as if seen once (the rarest weight).
 * The counts are `Dataset.itemPopularity` (training sequences only), passed in at construction.
 *
 *   ℓ_b = (1/n_b) Σ_t w_{y_bt} · ce_bt       (mean over the row's n_b target positions, weight inside)
 *   loss = (1/n) Σ_b ℓ_b                     (over the n rows with a target)
 *
 * which is the ECIR code's per-sample loss `-(logprobs · w).sum() / n_active`. The weights live
 * inside the per-position loss, so they reach it as `ctx.forward`'s target weights (with the run's
 * loss kind). Stateless.
 */
import type { Tensor } from '../engine/index.js';
import { checkFiniteLoss } from './erm.js';
import { activeRows, finiteLosses } from './common.js';
import type { Objective, ObjectiveContext } from './objective.js';

export type ClassBalancedVariant = 'class-balanced' | 'class-balanced-log';

/**
 * Per-item weights (length numItems + 1, index 0 = padding = 0) from training item counts
 * `itemCounts` (length numItems + 1, index 0 ignored), mean 1 over the training interactions.
 */
export function classBalancedWeights(itemCounts: ArrayLike<number>, variant: ClassBalancedVariant): Float64Array {
  const V = itemCounts.length;
  if (V < 2) throw new Error(`${variant}: item counts must cover items 1..numItems (length numItems + 1), got length ${V}`);
  let T = 0;
  for (let i = 1; i < V; i++) {
    const c = itemCounts[i]!;
    if (!(Number.isInteger(c) && c >= 0)) throw new Error(`${variant}: the count of item ${i} must be a non-negative integer, got ${c}`);
    T += c;
  }
  if (T === 0) throw new Error(`${variant}: every item count is 0 (no training interaction)`);
  const w = new Float64Array(V);
  let mean = 0;
  for (let i = 1; i < V; i++) {
    const c = itemCounts[i]!;
    const r = T / Math.max(c, 1);
    w[i] = variant === 'class-balanced' ? r : Math.log(r);
    mean += (c * w[i]!) / T;
  }
  if (!(mean > 0)) throw new Error(`${variant}: a single item holds every training interaction, so log(T / c_i) = 0; the log weights are undefined`);
  for (let i = 1; i < V; i++) w[i]! /= mean;
  return w;
}

export class ClassBalancedObjective implements Objective {
  readonly name: ClassBalancedVariant;
  /** w_i per item id (index 0 unused) */
  readonly weights: Float64Array;
  readonly config: Readonly<Record<string, unknown>>;

  constructor(itemCounts: ArrayLike<number>, variant: ClassBalancedVariant = 'class-balanced') {
    if (variant !== 'class-balanced' && variant !== 'class-balanced-log') {
      throw new Error(`ClassBalancedObjective: variant must be 'class-balanced' or 'class-balanced-log', got '${String(variant)}'`);
    }
    this.name = variant;
    this.weights = classBalancedWeights(itemCounts, variant);
    let lo = Infinity, hi = 0;
    for (let i = 1; i < this.weights.length; i++) { lo = Math.min(lo, this.weights[i]!); hi = Math.max(hi, this.weights[i]!); }
    this.config = { numItems: this.weights.length - 1, minWeight: lo, maxWeight: hi };
  }

  /** (B·P) weights of the batch's target positions (0 where there is no target). */
  targetWeights(ctx: ObjectiveContext): Float32Array {
    const t = ctx.batch.targets;
    const out = new Float32Array(t.length);
    for (let r = 0; r < t.length; r++) {
      const y = t[r]!;
      if (y === 0) continue;
      if (!(y > 0 && y < this.weights.length)) {
        throw new Error(`${this.name}: target ${y} at position ${r} is outside the ${this.weights.length - 1} items the weights were counted for`);
      }
      out[r] = this.weights[y]!;
    }
    return out;
  }

  loss(ctx: ObjectiveContext): Tensor {
    const { n } = activeRows(ctx, this.name);
    const { losses } = ctx.forward(undefined, { targetWeights: this.targetWeights(ctx) });
    finiteLosses(this.name, ctx, losses);
    const loss = losses.sum().div(n);
    checkFiniteLoss(this.name, ctx, loss, losses);
    return loss;
  }

  stateDict(): Record<string, unknown> {
    return {};
  }

  loadStateDict(_state: Record<string, unknown>): void {
    // stateless: the weights come from the training data at construction
  }
}
