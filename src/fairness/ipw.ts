/**
 * IPW — inverse propensity weighting by group (Liang et al. 2016, the SIGIR 2024 paper's IPW
 * baseline; the ECIR 2025 paper's `ipw` / `ipw_log`). Each sequence's loss is weighted by the
 * inverse frequency of its user's group in the training data:
 *
 *   ipw:      w_g ∝ N / n_g                 (n_g training users in group g, N = Σ_g n_g)
 *   ipw-log:  w_g ∝ log(N / n_g)            (the ECIR code's `log_ipweights`: a milder tilt)
 *
 * normalised to mean 1 over the training set (Σ_g n_g w_g / N = 1), so the loss has the scale of
 * ERM (the ECIR code leaves ipw at mean G; only the scale differs, which Adam mostly ignores).
 *
 *   loss = (1/n) Σ_b w_{g_b} ℓ_b        over the n batch rows with a target
 *
 * Dividing by n rather than by Σ_b w_{g_b} (as the ECIR code does) keeps the loss an unbiased
 * estimate of the reweighted risk: a self-normalised batch would cancel the weights whenever a
 * batch holds a single group. The frequencies are counted once, from the training users, and
 * passed in at construction (createObjective derives them from the run's groups); the objective
 * carries no state between batches.
 */
import type { Tensor } from '../engine/index.js';
import { checkFiniteLoss } from './erm.js';
import { activeRows, finiteLosses, requireGroups, weightedSum } from './common.js';
import type { Objective, ObjectiveContext } from './objective.js';

export type IpwVariant = 'ipw' | 'ipw-log';

/** Per-group weights from training group counts (see the file comment), mean 1 over the users. */
export function ipwWeights(groupCounts: ArrayLike<number>, variant: IpwVariant): Float64Array {
  const G = groupCounts.length;
  if (G === 0) throw new Error(`${variant}: no groups given`);
  let N = 0;
  for (let g = 0; g < G; g++) {
    const c = groupCounts[g]!;
    if (!(Number.isInteger(c) && c >= 0)) throw new Error(`${variant}: group count ${g} must be a non-negative integer, got ${c}`);
    N += c;
  }
  if (N === 0) throw new Error(`${variant}: every group count is 0 (no training user has a group)`);
  const raw = new Float64Array(G);
  let mean = 0;
  for (let g = 0; g < G; g++) {
    const c = groupCounts[g]!;
    if (c === 0) continue; // never seen in training: no row of a training batch can carry it
    raw[g] = variant === 'ipw' ? N / c : Math.log(N / c);
    mean += (c * raw[g]!) / N;
  }
  if (!(mean > 0)) {
    throw new Error(`${variant}: every training user is in one group, so log(N / n_g) = 0 for all of them; the log weights are undefined (use ipw or another grouping)`);
  }
  for (let g = 0; g < G; g++) raw[g]! /= mean;
  return raw;
}

export class IpwObjective implements Objective {
  readonly name: IpwVariant;
  /** w_g, mean 1 over the training users */
  readonly weights: Float64Array;
  /** n_g: training users per group */
  readonly counts: Int32Array;
  readonly config: Readonly<Record<string, unknown>>;

  constructor(groupCounts: ArrayLike<number>, variant: IpwVariant = 'ipw') {
    if (variant !== 'ipw' && variant !== 'ipw-log') throw new Error(`IpwObjective: variant must be 'ipw' or 'ipw-log', got '${String(variant)}'`);
    this.name = variant;
    this.weights = ipwWeights(groupCounts, variant);
    this.counts = Int32Array.from(groupCounts);
    this.config = { groupCounts: Array.from(groupCounts), groupWeights: Array.from(this.weights) };
  }

  loss(ctx: ObjectiveContext): Tensor {
    const groups = requireGroups(ctx, this.name, this.weights.length);
    const { rows, n } = activeRows(ctx, this.name);
    const losses = ctx.sequenceLosses();
    finiteLosses(this.name, ctx, losses);
    const c = new Float64Array(ctx.batch.B);
    for (let b = 0; b < c.length; b++) {
      if (!rows[b]) continue;
      if (this.counts[groups[b]!] === 0) {
        throw new Error(`${this.name}: row ${b} (user ${ctx.batch.users[b]}) is in group ${groups[b]}, which had no training user when the weights were counted`);
      }
      c[b] = this.weights[groups[b]!]! / n;
    }
    const loss = weightedSum(losses, c);
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
