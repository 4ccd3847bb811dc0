/**
 * A training objective (DESIGN.md "Fairness methods"): given the batch and a way to compute
 * per-sequence losses, it returns the scalar to differentiate, and carries whatever state it needs
 * between batches (group weights, streaming losses) explicitly, so checkpoints can save it.
 *
 * ERM, IPW, the DRO family and A-FSR all fit: most call `ctx.sequenceLosses()` once and weight it;
 * A-FSR calls `ctx.embed()`, takes ∂L/∂z, smooths z and calls `ctx.sequenceLosses(z')` again;
 * class-balanced weights the positions inside the cross-entropy and adv reads the hidden states,
 * both through `ctx.forward()`. Every loss follows the run's loss kind (full softmax, sampled
 * softmax or BCE: src/train/losses.ts).
 */
import type { Tensor } from '../engine/index.js';
import type { SequenceBatch } from '../data/batching.js';
import type { SequenceForward } from '../train/losses.js';
import type { SequentialRecommender } from '../models/types.js';

/** options of ObjectiveContext.forward (src/train/losses.ts LossOptions) */
export interface ForwardOptions {
  /** (B·P) weights of each position's loss inside its sequence's mean (LossOptions.targetWeights) */
  targetWeights?: Float32Array;
  /**
   * the gradient each sequence's loss will get from the objective (1 under Σ, 1/n under a mean
   * over n), and whether the output table's gradient is wanted: a speed hint, never a change in
   * the results (LossOptions.presumedGrad)
   */
  presumedGrad?: { value: number; table: boolean };
}

export interface ObjectiveContext {
  model: SequentialRecommender;
  batch: SequenceBatch;
  /** group id of each row of the batch for methods that use groups; null otherwise */
  groups: Int32Array | null;
  /** number of groups (ids are 0..numGroups-1) when groups are given */
  numGroups: number;
  /** z = f_e(batch.inputs), on the tape */
  embed(): Tensor;
  /** per-sequence losses (B): mean cross-entropy over each row's target positions; z defaults to embed() */
  sequenceLosses(z?: Tensor): Tensor;
  /**
   * the same pass with its hidden states (B,P,D), and optional (B·P) target weights multiplying
   * each position's loss inside its sequence's mean (see LossOptions.targetWeights)
   */
  forward(z?: Tensor, opts?: ForwardOptions): SequenceForward;
  /** 0-based global step */
  step: number;
}

export interface Objective {
  readonly name: string;
  /** the scalar loss of one batch (throws on a non-finite loss) */
  loss(ctx: ObjectiveContext): Tensor;
  /** state carried between batches, JSON-serialisable, for checkpoints */
  stateDict(): Record<string, unknown>;
  loadStateDict(state: Record<string, unknown>): void;
}
