/**
 * A training objective (DESIGN.md "Fairness methods"): given the batch and a way to compute
 * per-sequence losses, it returns the scalar to differentiate, and carries whatever state it needs
 * between batches (group weights, streaming losses) explicitly, so checkpoints can save it.
 *
 * ERM, IPW, the DRO family and A-FSR all fit: most call `ctx.sequenceLosses()` once and weight it;
 * A-FSR calls `ctx.embed()`, takes ∂L/∂z, smooths z and calls `ctx.sequenceLosses(z')` again.
 */
import type { Tensor } from '../engine/index.js';
import type { SequenceBatch } from '../data/batching.js';
import type { SequentialRecommender } from '../models/types.js';

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
