/** Gradient clipping by the global L2 norm over all parameters (torch.nn.utils.clip_grad_norm_). */
import type { Tensor } from '../engine/index.js';

/**
 * Scales every gradient in place by min(1, maxNorm / (norm + 1e-6)) where norm is the L2 norm of
 * all gradients together (summed in float64), and returns that norm *before* clipping (worth
 * logging). Parameters without a gradient are skipped.
 *
 * A non-finite norm throws instead of clipping: a NaN/Inf gradient means the loss blew up, and
 * scaling it (NaN · c = NaN) would silently write NaN into every parameter on the next step.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): number {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) throw new Error(`clipGradNorm: maxNorm must be a finite number > 0, got ${maxNorm}`);
  const list = [...params];
  let sq = 0;
  for (const p of list) {
    if (!p.grad) continue;
    const g = p.grad.f32('clipGradNorm');
    for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!;
  }
  const norm = Math.sqrt(sq);
  if (!Number.isFinite(norm)) {
    const bad = list.findIndex((p) => p.grad && p.grad.f32().some((v) => !Number.isFinite(v)));
    const who = bad >= 0 ? `parameter ${list[bad]!.name ?? `#${bad}`} (${list[bad]!.shape.join(',')}) has a non-finite gradient`
      : 'the sum of squares overflowed';
    throw new Error(`clipGradNorm: the gradient norm is ${norm}: ${who}; refusing to train on it (check the loss for NaN/Inf)`);
  }
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    for (const p of list) {
      if (!p.grad) continue;
      const g = p.grad.f32();
      for (let i = 0; i < g.length; i++) g[i] = g[i]! * coef;
    }
  }
  return norm;
}
