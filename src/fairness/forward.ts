/**
 * One encoder pass that returns both the hidden states and the per-sequence losses, with optional
 * per-position target weights: what `class-balanced` (weights inside the cross-entropy) and `adv`
 * (the adversary reads the last hidden state) need and the ObjectiveContext of objective.ts does
 * not yet offer (it returns per-sequence losses only).
 *
 * PROPOSED CONTRACT (objective.ts; the lead decides): add to ObjectiveContext
 *
 *   forward?(z?: Tensor, opts?: SequenceLossOptions): ForwardResult;
 *
 * implemented by the trainer's makeContext with the run's loss kind (src/train/losses.ts, whose
 * LossOptions gains `targetWeights` multiplying the per-position weight 1/n_b). `forwardPass`
 * below calls `ctx.forward` whenever the context has it, so nothing here changes when it lands.
 *
 * Until then the fallback computes the same thing locally with the full-softmax cross-entropy
 * (src/train/losses.ts's 'ce' path: projection + CE over every row of the output table, per-row
 * weight w_r / n_b, summed per sequence). It therefore ignores a run's sampled-softmax / bce loss
 * kind: class-balanced and adv train with full-softmax CE until the context carries `forward`.
 */
import { Tensor, projectionCrossEntropy } from '../engine/index.js';
import { outputProjection } from '../models/output.js';
import { inputMask, lastPositionFor, targetCounts } from '../train/losses.js';
import type { ObjectiveContext } from './objective.js';

export interface SequenceLossOptions {
  /**
   * (B·P) constant weights aligned with batch.targets (P = L for 'next'/'cloze' batches, 1 for
   * 'last'): position r's loss is multiplied by targetWeights[r] inside its sequence's mean, which
   * still divides by the number of target positions n_b (not by the weights' sum).
   */
  targetWeights?: Float32Array;
}

export interface ForwardResult {
  /** encode(z, mask): (B, P, D) */
  hidden: Tensor;
  /** per-sequence losses (B) computed from `hidden` */
  losses: Tensor;
}

/** The proposed optional member of ObjectiveContext. */
export interface ForwardContext {
  forward?(z?: Tensor, opts?: SequenceLossOptions): ForwardResult;
}

const fmt = (s: readonly number[]): string => `(${s.join(',')})`;

/** Target positions per row of a training batch: L for 'next'/'cloze', 1 for 'last'. */
function positionsPerRow(kind: string, L: number): number {
  if (kind === 'next' || kind === 'cloze') return L;
  if (kind === 'last') return 1;
  throw new Error(`forwardPass: an '${kind}' batch has no training targets (expected 'next', 'cloze' or 'last')`);
}

/** hidden and per-sequence losses of one pass (ctx.forward when present, else the local 'ce' pass). */
export function forwardPass(ctx: ObjectiveContext, opts: { z?: Tensor; targetWeights?: Float32Array } = {}): ForwardResult {
  const ext = ctx as ObjectiveContext & ForwardContext;
  if (typeof ext.forward === 'function') {
    return ext.forward(opts.z, opts.targetWeights ? { targetWeights: opts.targetWeights } : undefined);
  }
  const { model, batch } = ctx;
  const { B } = batch;
  const P = positionsPerRow(batch.kind, batch.L);
  const tw = opts.targetWeights;
  if (tw && tw.length !== B * P) throw new Error(`forwardPass: ${tw.length} target weights for a batch of ${B}×${P} target positions`);
  const z = opts.z ?? ctx.embed();
  const hidden = lastPositionFor(batch, model.encode(z, inputMask(batch)));
  if (hidden.rank !== 3 || hidden.shape[0] !== B || hidden.shape[1] !== P) {
    throw new Error(`forwardPass: ${model.modelName}.encode gave hidden ${fmt(hidden.shape)} for a '${batch.kind}' batch of ${B} rows; expected (${B},${P},D)`);
  }
  const D = hidden.shape[2]!;
  const counts = targetCounts(batch);
  const w = new Float32Array(B * P);
  for (let b = 0; b < B; b++) {
    if (counts[b] === 0) continue;
    for (let j = 0; j < P; j++) w[b * P + j] = (tw ? tw[b * P + j]! : 1) / counts[b]!;
  }
  const targets = new Tensor(batch.targets.slice(0, B * P), [B * P]);
  const out = outputProjection(model, hidden.reshape([B * P, D]));
  const perRow = projectionCrossEntropy(out.rows, out.table, targets, { weights: new Tensor(w, [B * P]), ignoreIndex: 0 });
  const losses = P === 1 ? perRow : perRow.reshape([B, P]).sum(1);
  return { hidden, losses };
}
