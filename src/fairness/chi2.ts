/**
 * χ²-ball DRO weights (A-FSR Eq. 12; the fast-dro χ² geometry without regulariser): q on the
 * simplex maximising Σ q_i v_i subject to D(q) = 0.5·mean_i (M q_i − 1)² ≤ r. Solved exactly:
 * q(η) = (v − η)₊ / Σ (v − η)₊ with D(q(η)) = r, found by bisection on η in float64
 * (golden FORMAT.md 4.13 gives the closed form it agrees with).
 */
export function chi2Weights(losses: ArrayLike<number>, radius: number): Float64Array {
  const M = losses.length;
  if (M === 0) throw new Error('chi2Weights: no losses given');
  if (!(radius >= 0) || !Number.isFinite(radius)) throw new Error(`chi2Weights: radius must be >= 0, got ${radius}`);
  const v = Float64Array.from(losses as ArrayLike<number>);
  for (let i = 0; i < M; i++) if (!Number.isFinite(v[i]!)) throw new Error(`chi2Weights: loss ${i} is ${v[i]} (not finite)`);
  const q = new Float64Array(M);
  if (M === 1) { q[0] = 1; return q; }
  let vmax = -Infinity, vmin = Infinity, sum = 0;
  for (const x of v) { vmax = Math.max(vmax, x); vmin = Math.min(vmin, x); sum += x; }
  const K = v.filter((x) => x === vmax).length;
  const dTop = (0.5 * (M - K)) / K;
  if (radius >= dTop) { v.forEach((x, i) => { q[i] = x === vmax ? 1 / K : 0; }); return q; }
  if (radius === 0) return q.fill(1 / M);

  const weightsAt = (eta: number, out: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < M; i++) { out[i] = Math.max(0, v[i]! - eta); s += out[i]!; }
    let sq = 0;
    for (let i = 0; i < M; i++) { out[i]! /= s; sq += out[i]! * out[i]!; }
    return 0.5 * (M * sq - 1); // D(q(η)), increasing in η
  };
  const mean = sum / M;
  let variance = 0;
  for (const x of v) variance += (x - mean) ** 2;
  variance /= M;
  let lo = Math.min(vmin, mean - Math.sqrt(variance / (2 * radius))) - 1;
  let hi = vmax;
  const tmp = new Float64Array(M);
  for (let it = 0; it < 200; it++) {
    const mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break; // bracket is down to adjacent doubles
    if (weightsAt(mid, tmp) > radius) hi = mid; else lo = mid;
  }
  weightsAt(lo, q);
  return q;
}
