/**
 * Exponentiated-gradient group weights of Group DRO (Sagawa et al. 2020, as in their code) and
 * Streaming DRO (Wen et al.): w_t ∝ w_{t−1} ⊙ exp(η·ℓ), where ℓ is the batch's group losses
 * (Group DRO) or their streamed average L̃_t = (1−c)·L̃_{t−1} + c·batch (Streaming DRO). A group
 * absent from a batch carries loss 0 (factor exp(0) = 1), with no special case. The robust loss
 * Σ_g w_t[g]·batch[g] uses the *updated* weights (golden FORMAT.md 4.14, 4.15).
 */
export function exponentiatedStep(w: Float64Array, losses: ArrayLike<number>, eta: number): Float64Array {
  if (losses.length !== w.length) throw new Error(`group weights: ${losses.length} group losses for ${w.length} groups`);
  const next = new Float64Array(w.length);
  // subtracting the max exponent keeps exp finite for large η·loss without changing the ratio
  let maxE = -Infinity;
  for (let g = 0; g < w.length; g++) maxE = Math.max(maxE, eta * losses[g]!);
  let s = 0;
  for (let g = 0; g < w.length; g++) { next[g] = w[g]! * Math.exp(eta * losses[g]! - maxE); s += next[g]!; }
  if (!(s > 0) || !Number.isFinite(s)) throw new Error('group weights: the update produced non-finite weights (check the losses for NaN)');
  for (let g = 0; g < w.length; g++) next[g]! /= s;
  return next;
}

export function robustLoss(w: ArrayLike<number>, losses: ArrayLike<number>): number {
  let s = 0;
  for (let g = 0; g < w.length; g++) s += w[g]! * losses[g]!;
  return s;
}

/** L̃_t = (1 − rate)·L̃_{t−1} + rate·batch, for every group (absent ones included). */
export function streamLosses(prev: Float64Array, losses: ArrayLike<number>, rate: number): Float64Array {
  if (!(rate > 0 && rate <= 1)) throw new Error(`streaming DRO: rate must be in (0, 1], got ${rate}`);
  const next = new Float64Array(prev.length);
  for (let g = 0; g < prev.length; g++) next[g] = (1 - rate) * prev[g]! + rate * losses[g]!;
  return next;
}
