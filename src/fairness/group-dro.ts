/**
 * Group DRO (Sagawa et al., ICLR 2020, Algorithm 1 as in their code; the ECIR 2025 paper's
 * `group_dro`): group weights w on the simplex, updated by exponentiated gradient on the batch's
 * group mean losses, and the loss is the weighted sum of those means with the *updated* weights:
 *
 *   ℓ̄_g  = mean per-sequence loss of group g's rows in the batch (0 when g is absent)
 *   w_t  = w_{t−1} ⊙ exp(η · ℓ̄) / Σ(·)            (an absent group keeps its weight's ratio:
 *                                                    its factor is exp(0) = 1)
 *   loss = Σ_g w_t[g] · ℓ̄_g                         (w_t constant for the backward pass)
 *
 * (exponentiatedStep / robustLoss in group-weights.ts, golden FORMAT.md 4.14.) w_0 is uniform.
 * η default 0.01: Sagawa et al.'s robust step size, also the ECIR code's `gdro_stepsize` default.
 * State: w (checkpointed, so a resumed run continues the same weights).
 */
import type { Tensor } from '../engine/index.js';
import { checkFiniteLoss } from './erm.js';
import {
  checkOptionKeys, checkStateKind, groupBatch, groupMeanCoefficients, numberOption,
  stateNumbers, weightedSum,
} from './common.js';
import { exponentiatedStep } from './group-weights.js';
import type { Objective, ObjectiveContext } from './objective.js';

export interface GroupDroOptions {
  /** exponentiated-gradient step size η (default 0.01) */
  eta?: number;
}

export const GROUP_DRO_DEFAULTS = { eta: 0.01 } as const;

export class GroupDroObjective implements Objective {
  readonly name = 'group-dro';
  readonly eta: number;
  readonly config: Readonly<Record<string, unknown>>;
  /** current group weights w_t (uniform before the first batch) */
  weights: Float64Array;
  /** the last batch's group mean losses (0 for absent groups), for logs */
  lastGroupLosses: Float64Array;

  constructor(readonly numGroups: number, options: GroupDroOptions = {}) {
    if (!(Number.isInteger(numGroups) && numGroups >= 1)) throw new Error(`group-dro: numGroups must be a positive integer, got ${numGroups}`);
    checkOptionKeys(this.name, options, ['eta']);
    this.eta = numberOption(this.name, 'eta', options.eta, GROUP_DRO_DEFAULTS.eta, (x) => x >= 0, 'a number >= 0');
    this.weights = new Float64Array(numGroups).fill(1 / numGroups);
    this.lastGroupLosses = new Float64Array(numGroups);
    this.config = { eta: this.eta, numGroups };
  }

  loss(ctx: ObjectiveContext): Tensor {
    const { groups, rows, losses, means, counts } = groupBatch(ctx, this.name, this.numGroups);
    this.weights = exponentiatedStep(this.weights, means, this.eta);
    this.lastGroupLosses = means;
    const loss = weightedSum(losses, groupMeanCoefficients(this.weights, groups, counts, rows));
    checkFiniteLoss(this.name, ctx, loss, losses);
    return loss;
  }

  stateDict(): Record<string, unknown> {
    return { kind: this.name, weights: Array.from(this.weights) };
  }

  loadStateDict(state: Record<string, unknown>): void {
    checkStateKind(this.name, state, this.name);
    const w = stateNumbers(this.name, state, 'weights', this.numGroups);
    if (w.some((x) => x < 0) || Math.abs(w.reduce((p, q) => p + q, 0) - 1) > 1e-6) {
      throw new Error(`${this.name}.loadStateDict: 'weights' must be non-negative and sum to 1, got [${w.join(', ')}]`);
    }
    this.weights = Float64Array.from(w);
  }
}
