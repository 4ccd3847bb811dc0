/**
 * Streaming DRO (Wen et al., WWW 2022, "Distributionally-robust Recommendations for Improving
 * Worst-case User Experience"; the ECIR 2025 paper's `s_dro`): Group DRO whose weight update reads
 * a running average of the group losses instead of the noisy batch means:
 *
 *   L̃_t  = (1 − c) · L̃_{t−1} + c · ℓ̄_t          (every group, an absent one with ℓ̄ = 0)
 *   w_t  = w_{t−1} ⊙ exp(η · L̃_t) / Σ(·)
 *   loss = Σ_g w_t[g] · ℓ̄_t[g]                    (the batch's group means; w_t constant)
 *
 * (streamLosses / exponentiatedStep in group-weights.ts, golden FORMAT.md 4.15.) L̃_0 = 0,
 * w_0 uniform. Defaults from the ECIR code (Acharya et al., src/recommenders/utils/loss.py):
 * streaming rate c = 0.1 (`stream_lr`), step size η = 0.01 (`gdro_stepsize`); L̃ is not reset
 * between epochs (their `streaming_gloss_epochreset = False`). c = 1 is Group DRO.
 * State: w and L̃ (checkpointed).
 */
import type { Tensor } from '../engine/index.js';
import { checkFiniteLoss } from './erm.js';
import {
  checkOptionKeys, checkStateKind, groupBatch, groupMeanCoefficients, numberOption,
  stateNumbers, weightedSum,
} from './common.js';
import { exponentiatedStep, streamLosses } from './group-weights.js';
import type { Objective, ObjectiveContext } from './objective.js';

export interface StreamingDroOptions {
  /** exponentiated-gradient step size η (default 0.01) */
  eta?: number;
  /** streaming rate c in (0, 1] (default 0.1) */
  rate?: number;
}

export const STREAMING_DRO_DEFAULTS = { eta: 0.01, rate: 0.1 } as const;

export class StreamingDroObjective implements Objective {
  readonly name = 'streaming-dro';
  readonly eta: number;
  readonly rate: number;
  readonly config: Readonly<Record<string, unknown>>;
  weights: Float64Array;
  /** L̃: the streamed group losses */
  streamed: Float64Array;
  lastGroupLosses: Float64Array;

  constructor(readonly numGroups: number, options: StreamingDroOptions = {}) {
    if (!(Number.isInteger(numGroups) && numGroups >= 1)) throw new Error(`streaming-dro: numGroups must be a positive integer, got ${numGroups}`);
    checkOptionKeys(this.name, options, ['eta', 'rate']);
    this.eta = numberOption(this.name, 'eta', options.eta, STREAMING_DRO_DEFAULTS.eta, (x) => x >= 0, 'a number >= 0');
    this.rate = numberOption(this.name, 'rate', options.rate, STREAMING_DRO_DEFAULTS.rate, (x) => x > 0 && x <= 1, 'in (0, 1]');
    this.weights = new Float64Array(numGroups).fill(1 / numGroups);
    this.streamed = new Float64Array(numGroups);
    this.lastGroupLosses = new Float64Array(numGroups);
    this.config = { eta: this.eta, rate: this.rate, numGroups };
  }

  loss(ctx: ObjectiveContext): Tensor {
    const { groups, rows, losses, means, counts } = groupBatch(ctx, this.name, this.numGroups);
    this.streamed = streamLosses(this.streamed, means, this.rate);
    this.weights = exponentiatedStep(this.weights, this.streamed, this.eta);
    this.lastGroupLosses = means;
    const loss = weightedSum(losses, groupMeanCoefficients(this.weights, groups, counts, rows));
    checkFiniteLoss(this.name, ctx, loss, losses);
    return loss;
  }

  stateDict(): Record<string, unknown> {
    return { kind: this.name, weights: Array.from(this.weights), streamed: Array.from(this.streamed) };
  }

  loadStateDict(state: Record<string, unknown>): void {
    checkStateKind(this.name, state, this.name);
    const w = stateNumbers(this.name, state, 'weights', this.numGroups);
    const s = stateNumbers(this.name, state, 'streamed', this.numGroups);
    if (w.some((x) => x < 0) || Math.abs(w.reduce((p, q) => p + q, 0) - 1) > 1e-6) {
      throw new Error(`${this.name}.loadStateDict: 'weights' must be non-negative and sum to 1, got [${w.join(', ')}]`);
    }
    this.weights = Float64Array.from(w);
    this.streamed = Float64Array.from(s);
  }
}
