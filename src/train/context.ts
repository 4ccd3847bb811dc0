/**
 * The ObjectiveContext of one batch: what an objective may ask of the model on it (src/fairness/
 * objective.ts). Every loss it computes follows the run's loss kind.
 */
import type { Generator, Tensor } from '../engine/index.js';
import type { SequenceBatch } from '../data/batching.js';
import type { ForwardOptions, ObjectiveContext } from '../fairness/objective.js';
import type { SequentialRecommender } from '../models/types.js';
import { type LossKind, type LossOptions, inputTensor, sequenceForward } from './losses.js';
import type { TrainGroups } from './trainer.js';

/** The ObjectiveContext of one batch (loss kind default: full-softmax CE, as training's default). */
export function makeContext(model: SequentialRecommender, batch: SequenceBatch, step: number, groups: TrainGroups | null,
  lossOpts: { loss: LossKind; numNegatives: number; gen?: Generator } = { loss: 'ce', numNegatives: 0 }): ObjectiveContext {
  const base: LossOptions = { loss: lossOpts.loss, numNegatives: lossOpts.numNegatives || undefined, gen: lossOpts.gen };
  const forward = (z?: Tensor, o?: ForwardOptions) => sequenceForward(model, batch, {
    ...base, ...(z === undefined ? {} : { z }), ...(o?.targetWeights ? { targetWeights: o.targetWeights } : {}),
    ...(o?.presumedGrad ? { presumedGrad: o.presumedGrad } : {}),
  });
  return {
    model,
    batch,
    groups: groups ? Int32Array.from(batch.users, (u) => groups.ids[u]!) : null,
    numGroups: groups ? groups.numGroups : 0,
    embed: () => model.embed(inputTensor(batch)),
    sequenceLosses: (z?: Tensor) => forward(z).losses,
    forward,
    step,
  };
}
