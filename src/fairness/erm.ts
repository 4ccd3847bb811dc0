/**
 * ERM ("Naive" in the SIGIR 2024 paper's tables, "ERM" in the ECIR 2025 write-up): the mean of the
 * per-sequence losses over the batch's sequences that have a target (see src/train/losses.ts: a
 * row without any target position has loss 0 and is left out of the mean). Stateless.
 */
import type { Tensor } from '../engine/index.js';
import { targetRows } from '../train/losses.js';
import type { Objective, ObjectiveContext } from './objective.js';

/**
 * Throws when a loss value is NaN or ±Inf, naming the objective, the step and, from the
 * per-sequence losses, the first offending row and its user — the place to start looking.
 */
export function checkFiniteLoss(name: string, ctx: ObjectiveContext, loss: Tensor, perSequence?: Tensor): void {
  const v = loss.item();
  if (Number.isFinite(v)) return;
  let where = '';
  if (perSequence !== undefined) {
    const d = perSequence.data;
    let bad = 0;
    let first = -1;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i]!)) {
        bad++;
        if (first < 0) first = i;
      }
    }
    where = bad > 0
      ? ` (${bad} of ${d.length} per-sequence losses are not finite, the first at row ${first}, user ${ctx.batch.users[first]})`
      : ' (every per-sequence loss is finite: the reduction overflowed)';
  }
  throw new Error(`${name}: the loss is ${v} at step ${ctx.step}${where}; lower the learning rate or set clipNorm`);
}

export class ErmObjective implements Objective {
  readonly name = 'erm';

  loss(ctx: ObjectiveContext): Tensor {
    const rows = targetRows(ctx.batch);
    let n = 0;
    for (const r of rows) n += r;
    if (n === 0) throw new Error(`erm: the batch at step ${ctx.step} has no target position in any of its ${ctx.batch.B} rows`);
    // the mean below gives every sequence's loss the gradient 1/n: the output layer can compute its gradients in the forward
    const losses = ctx.forward(undefined, { presumedGrad: { value: 1 / n, table: true } }).losses;
    const loss = losses.sum().div(n);
    checkFiniteLoss('erm', ctx, loss, losses);
    return loss;
  }

  stateDict(): Record<string, unknown> {
    return {};
  }

  loadStateDict(_state: Record<string, unknown>): void {
    // stateless
  }
}

export function erm(): Objective {
  return new ErmObjective();
}
