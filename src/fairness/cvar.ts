/**
 * CVaR DRO weights (Levy et al. 2020; the ECIR paper's Loss_CVaR): the distribution q on the
 * simplex with q_i ≤ 1/(αB) that maximises Σ q_i v_i, i.e. the average of the worst α·B losses,
 * with the fractional weight on the boundary sample. Ties: stable descending sort (smaller
 * index first), as in golden FORMAT.md 4.12.
 */
export function cvarWeights(losses: ArrayLike<number>, alpha: number): Float64Array {
  const B = losses.length;
  if (B === 0) throw new Error('cvarWeights: no losses given');
  if (!(alpha > 0 && alpha <= 1)) throw new Error(`cvarWeights: alpha must be in (0, 1], got ${alpha}`);
  for (let i = 0; i < B; i++) {
    if (!Number.isFinite(losses[i]!)) throw new Error(`cvarWeights: loss ${i} is ${losses[i]} (not finite)`);
  }
  const order = Array.from({ length: B }, (_, i) => i).sort((a, b) => losses[b]! - losses[a]! || a - b);
  const cap = 1 / (alpha * B);
  const q = new Float64Array(B);
  order.forEach((i, rank) => {
    q[i] = Math.min(cap, Math.max(0, 1 - rank * cap));
  });
  return q;
}

/**
 * cvarWeights over the rows of a batch that have a target (`rows[b]` = 1), by row: rows without
 * one get weight 0 (they have no loss to rank). Used by cvar-dro and A-FSR's CVaR first term.
 */
export function cvarRowWeights(rows: ArrayLike<number>, losses: ArrayLike<number>, alpha: number): Float64Array {
  const idx: number[] = [];
  for (let b = 0; b < rows.length; b++) if (rows[b]) idx.push(b);
  const q = cvarWeights(idx.map((b) => losses[b]!), alpha);
  const c = new Float64Array(rows.length);
  idx.forEach((b, j) => { c[b] = q[j]!; });
  return c;
}
