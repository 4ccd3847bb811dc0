/**
 * A-FSR part (c): Dirichlet Neighbour Smoothing (SIGIR 2024, Eq. 7 and the z̃ of Sec. 4.2).
 * For every span position p of row b (an item x = x_bp with 2-hop neighbourhood N(x) of size c):
 *
 *   η_p ~ Dirichlet(β, …, β)   over the c neighbours          (dirichlet op, per-row counts)
 *   z̃_p = Σ_j η_pj · f_e(n_j)                                 (neighbourMix op)
 *   z̃   = z̃_p at span positions, z elsewhere                  (z ⊙ (1 − span) + placed)
 *
 * so z̃_p lies in the convex hull of the neighbours' embeddings (η ≥ 0, Σ η = 1).
 *
 * β default 1: the paper leaves its Dirichlet parameters open. β = 1 is the flat Dirichlet, the
 * uniform distribution over the simplex: every mixture of the neighbourhood is equally likely, so
 * z̃ is on average the neighbourhood's centroid (the paper's "expected item") with the spread the
 * paper's randomisation asks for. β < 1 pushes the mixture towards single neighbours (closer to
 * substituting one item), β > 1 towards the centroid. The paper's wish that closer neighbours get
 * more weight would need a non-symmetric β by hop; the engine's op is symmetric, and the 1-hop
 * neighbours are inside the 2-hop set anyway. Draws come from the engine's `dirichlet` stream
 * (the trainer positions it per epoch, so a resumed run draws the same η).
 *
 * Gradient into the neighbour embeddings: kept by default. Eq. 13's loss is a function of
 * f_e(n_j) through z̃, and the natural implementation (embed the neighbours, mix) backpropagates
 * into them: the neighbours' embeddings learn to serve in the contexts they smooth. `keepGrad =
 * false` makes z̃_p a constant instead (only the rest of the sequence and the model train on it).
 * The span positions' own embeddings z_p get no gradient from this pass (they are replaced).
 */
import { type Generator, Streams, Tensor, add, concat, dirichlet, embedding, generator, mul, neighbourMix, noGrad, zeros } from '../engine/index.js';
import type { SequentialRecommender } from '../models/types.js';
import { embedItems, type NeighbourTable } from './afsr-neighbours.js';

export interface Smoothing {
  /** z with the span positions replaced (B, L, D) */
  zTilde: Tensor;
  /** (R) flat positions b·L + l that were smoothed, in row-major order */
  positions: Int32Array;
  /** (R·K) neighbour item ids per smoothed position, −1 padded (K = k + k²) */
  neighbourIds: Int32Array;
  /** (R·K) Dirichlet weights, 0 on padding */
  weights: Float32Array;
  /** (R, D) the smoothed embeddings */
  smoothed: Tensor | null;
}

export interface SmoothOptions {
  /** Dirichlet concentration β (default 1) */
  beta?: number;
  /** generator of the Dirichlet draws (default: the engine's dirichlet stream, looked up per call) */
  gen?: Generator;
  /** let the gradient flow into the neighbours' embeddings (default true) */
  keepGrad?: boolean;
}

/** Part (c) on z (B, L, D) for the span positions `spanMask` (B·L) of item ids `items` (B·L). */
export function smoothSpans(model: SequentialRecommender, z: Tensor, items: Int32Array, spanMask: Uint8Array,
  table: NeighbourTable, opts: SmoothOptions = {}): Smoothing {
  const [B, L, D] = z.shape as [number, number, number];
  if (items.length !== B * L || spanMask.length !== B * L) throw new Error(`smoothSpans: ${items.length} ids and ${spanMask.length} mask entries for z (${B},${L},${D})`);
  const beta = opts.beta ?? 1;
  const K = table.width;
  const pos: number[] = [];
  for (let p = 0; p < B * L; p++) if (spanMask[p]) pos.push(p);
  const R = pos.length;
  const positions = Int32Array.from(pos);
  if (R === 0) return { zTilde: z, positions, neighbourIds: new Int32Array(0), weights: new Float32Array(0), smoothed: null };

  const neighbourIds = new Int32Array(R * K).fill(-1);
  const counts = new Int32Array(R);
  pos.forEach((p, r) => {
    const x = items[p]!;
    if (!(x >= 1 && x <= table.numItems)) throw new Error(`smoothSpans: position ${p} holds ${x}, not an item in 1..${table.numItems}`);
    const row = x - 1;
    counts[r] = table.counts[row]!;
    neighbourIds.set(table.neighbourIds.subarray(row * K, row * K + counts[r]!), r * K);
  });
  const w = dirichlet(new Tensor(counts, [R]), K, beta, opts.gen ?? generator(Streams.dirichlet));

  // embed only the neighbours that occur, then mix them: local ids index the gathered rows
  // (a dense id → local index table: R·K is tens of thousands of entries per batch)
  const local = new Int32Array(table.numItems + 1).fill(-1);
  for (const id of neighbourIds) if (id > 0) local[id] = 1; // present
  const unique: number[] = [];
  for (let id = 1; id <= table.numItems; id++) if (local[id] === 1) local[id] = unique.push(id) - 1;
  const localIds = neighbourIds.map((id) => (id > 0 ? local[id]! : -1));
  const keep = opts.keepGrad ?? true;
  const rows = keep ? embedItems(model, Int32Array.from(unique)) : noGrad(() => embedItems(model, Int32Array.from(unique)).detach());
  const smoothed = neighbourMix(rows, new Tensor(localIds, [R, K]), w);

  // place the R smoothed rows at their positions (a gather from [0; smoothed], 0 elsewhere) and
  // keep z elsewhere: z̃ = z ⊙ keep + placed with keep = 1 − span, the same values as where(span,
  // placed, z) for finite z, as two threaded backend kernels instead of a loop in JavaScript
  const pick = new Int32Array(B * L);
  pos.forEach((p, r) => { pick[p] = r + 1; });
  const placed = embedding(concat([zeros([1, D]), smoothed], 0), new Tensor(pick, [B, L]));
  const keepZ = new Tensor(Float32Array.from(spanMask, (m) => (m ? 0 : 1)), [B, L, 1]);
  const zTilde = add(mul(z, keepZ), placed);
  return { zTilde, positions, neighbourIds, weights: Float32Array.from(w.f32()), smoothed };
}
