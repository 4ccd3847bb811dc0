/**
 * Reg — ERM plus a penalty on the gap between group mean losses (the SIGIR 2024 paper's Reg
 * baseline, after Yao & Huang 2017, "Beyond parity", who regularise a group-gap measure):
 *
 *   loss = ERM + λ · Σ_{g<h, both in the batch} | L̄_g − L̄_h |
 *
 * with L̄_g the mean per-sequence loss of group g's rows in the batch. Two groups give exactly
 * λ·|L̄_1 − L̄_2|; more groups give the sum of pairwise gaps. A pair with a group absent from the
 * batch adds nothing that step (so a batch with one group is plain ERM).
 *
 * |x| has gradient sign(x)·∇x, and 0 at x = 0 (the subgradient a framework's abs gives), so the
 * penalty is the linear combination Σ sign(L̄_g − L̄_h)·(L̄_g − L̄_h) of per-sequence losses with
 * constant signs: one weighted sum with the ERM term.
 *
 * λ (default 0.1; neither paper gives Reg's value): each row's effective weight in the gradient is
 * 1/n ± λ·(pairs)/n_g, so for two groups of about half a batch λ = 0.1 moves a row's weight by
 * about ±20 % — a real push towards equal group losses that stays below the point (λ ≳ 0.5) where
 * the better-off group's rows get negative weight, i.e. where lowering the gap means raising that
 * group's loss. Stateless.
 */
import type { Tensor } from '../engine/index.js';
import { checkFiniteLoss } from './erm.js';
import { checkOptionKeys, groupBatch, numberOption, weightedSum } from './common.js';
import type { Objective, ObjectiveContext } from './objective.js';

export interface RegOptions {
  /** weight of the gap penalty (default 0.1) */
  lambda?: number;
}

export const REG_DEFAULTS = { lambda: 0.1 } as const;

export class RegObjective implements Objective {
  readonly name = 'reg';
  readonly lambda: number;
  readonly config: Readonly<Record<string, unknown>>;
  /** the last batch's penalty (before λ), for logs */
  lastPenalty = 0;

  constructor(readonly numGroups: number, options: RegOptions = {}) {
    if (!(Number.isInteger(numGroups) && numGroups >= 1)) throw new Error(`reg: numGroups must be a positive integer, got ${numGroups}`);
    checkOptionKeys('reg', options, ['lambda']);
    this.lambda = numberOption('reg', 'lambda', options.lambda, REG_DEFAULTS.lambda, (x) => x >= 0, 'a number >= 0');
    this.config = { lambda: this.lambda, numGroups };
  }

  loss(ctx: ObjectiveContext): Tensor {
    const G = this.numGroups;
    const { groups, rows, n, losses, means, counts } = groupBatch(ctx, this.name, G);
    // d penalty / d L̄_g = Σ_{h present, h≠g} sign(L̄_g − L̄_h)
    const slope = new Float64Array(G);
    let penalty = 0;
    for (let g = 0; g < G; g++) {
      if (counts[g] === 0) continue;
      for (let h = g + 1; h < G; h++) {
        if (counts[h] === 0) continue;
        const gap = means[g]! - means[h]!;
        penalty += Math.abs(gap);
        const s = Math.sign(gap);
        slope[g]! += s;
        slope[h]! -= s;
      }
    }
    this.lastPenalty = penalty;
    const c = new Float64Array(ctx.batch.B);
    for (let b = 0; b < c.length; b++) {
      if (rows[b]) c[b] = 1 / n + (this.lambda * slope[groups[b]!]!) / counts[groups[b]!]!;
    }
    const loss = weightedSum(losses, c);
    checkFiniteLoss(this.name, ctx, loss, losses);
    return loss;
  }

  stateDict(): Record<string, unknown> {
    return {};
  }

  loadStateDict(_state: Record<string, unknown>): void {
    // stateless
  }
}
