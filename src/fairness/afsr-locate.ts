/**
 * A-FSR part (a): the first pass, the stereotypical span and the group indicator (SIGIR 2024,
 * Eq. 3–5, 8–9).
 *
 *   z      = f_e(x)                         (B, L, D)  ctx.embed(), on the tape
 *   ℓ_b    = per-sequence loss of row b     ctx.sequenceLosses(z): the mean cross-entropy over
 *                                                      the row's target positions
 *   G      = ∂(Σ_b ℓ_b)/∂z                  only through grad(…, [z]): no parameter gradient is
 *                                                      computed or touched
 *   n_bl   = ‖G_bl‖₂ at real items, 0 elsewhere          (gradNorm op, FORMAT.md 4.9)
 *   i*_b   = arg-max_l n_bl (first on ties)              Eq. 3
 *   span_b = {i*−s, …, i*+s} ∩ real item positions       Eq. 4–5, span size 2s+1
 *   â_b    = max_l n_bl                                    Eq. 9
 *
 * Which loss: ℓ_b is the per-sequence *mean* over target positions (the paper's L(f(x), y) of one
 * sequence; its Table 1 reports such per-user losses), and the batch is *summed*, not averaged.
 * Sequences do not interact inside the models, so ∂(Σ ℓ)/∂z_b = ∂ℓ_b/∂z_b: each row's norms are
 * its own gradient, independent of the batch size. A per-sequence sum over positions would instead
 * grow with the number of targets and make â mostly a proxy of sequence length.
 *
 * Real items are ids 1..numItems: padding (0) and BERT4Rec's mask token (numItems + 1) are neither
 * candidates for i* nor smoothed (the mask token has no neighbourhood). With left padding the real
 * positions of 'next'/'last' rows are contiguous, so the span is the window clipped to them; in a
 * cloze row, mask tokens inside the window are skipped. A row without a real item has â = 0 and no
 * span. The model runs in whatever mode the caller set (training mode in training: the first pass
 * sees the same kind of dropout noise as the second).
 */
import { Tensor, gradNorm, grad } from '../engine/index.js';
import { finiteLosses } from './common.js';
import type { ObjectiveContext } from './objective.js';

export interface SpanLocation {
  B: number;
  L: number;
  /** (B·L) per-position gradient norms, 0 outside real items */
  norms: Float32Array;
  /** (B) â: the largest norm of the row (0 for a row without real items) */
  indicator: Float32Array;
  /** (B) i*: position of that norm, −1 for a row without real items */
  center: Int32Array;
  /** (B) first and last position of the clipped span (inclusive), −1 when there is none */
  start: Int32Array;
  end: Int32Array;
  /** (B·L) 1 at the span positions that hold a real item: the positions smoothing replaces */
  spanMask: Uint8Array;
}

/** (B, L) i32: 1 where the input is a real item id in 1..numItems. */
export function realItemMask(inputs: Int32Array, B: number, L: number, numItems: number): Tensor {
  if (inputs.length !== B * L) throw new Error(`realItemMask: ${inputs.length} ids for (${B},${L})`);
  return new Tensor(Int32Array.from(inputs, (id) => (id >= 1 && id <= numItems ? 1 : 0)), [B, L]);
}

/** Checks spanSize = 2s + 1 (odd, ≥ 1) and returns s. */
export function halfSpan(spanSize: number, name = 'afsr'): number {
  if (!(Number.isInteger(spanSize) && spanSize >= 1 && spanSize % 2 === 1)) {
    throw new Error(`${name}: spanSize must be an odd positive integer (2s+1: 1, 3, 5, …), got ${spanSize}`);
  }
  return (spanSize - 1) / 2;
}

/** Eq. 3–5, 9 on a given gradient g (B, L, D) and real-item mask (B, L) i32. */
export function locateSpans(g: Tensor, mask: Tensor, spanSize: number): SpanLocation {
  const s = halfSpan(spanSize);
  const { norms, rowmax, argmax } = gradNorm(g, mask);
  const [B, L] = g.shape as [number, number, number];
  const m = mask.i32();
  const nv = norms.f32(), rm = rowmax.f32(), am = argmax.i32();
  const center = new Int32Array(B).fill(-1);
  const start = new Int32Array(B).fill(-1);
  const end = new Int32Array(B).fill(-1);
  const spanMask = new Uint8Array(B * L);
  for (let b = 0; b < B; b++) {
    if (!Number.isFinite(rm[b]!)) throw new Error(`afsr: the embedding gradient of row ${b} is not finite (norm ${rm[b]})`);
    let real = false;
    for (let l = 0; l < L; l++) if (m[b * L + l]) { real = true; break; }
    if (!real) continue;
    const c = am[b]!;
    center[b] = c;
    for (let l = Math.max(0, c - s); l <= Math.min(L - 1, c + s); l++) {
      if (!m[b * L + l]) continue;
      spanMask[b * L + l] = 1;
      if (start[b] === -1) start[b] = l;
      end[b] = l;
    }
  }
  return { B, L, norms: Float32Array.from(nv), indicator: Float32Array.from(rm), center, start, end, spanMask };
}

export interface FirstPass {
  /** z = ctx.embed(), on the tape */
  z: Tensor;
  /** ℓ (B) on z, on the tape (reusable as the loss on the unsmoothed z) */
  losses: Tensor;
  /** ℓ's values, checked finite */
  values: Float32Array;
  /** ∂(Σ ℓ)/∂z (B, L, D) */
  gradient: Tensor;
  location: SpanLocation;
}

/** Part (a): embed, per-sequence losses, ∂(Σ ℓ)/∂z only, spans and â (see the file comment). */
export function firstPass(ctx: ObjectiveContext, spanSize: number, name = 'afsr'): FirstPass {
  const { batch, model } = ctx;
  let z = ctx.embed();
  if (z.rank !== 3 || z.shape[0] !== batch.B || z.shape[1] !== batch.L) {
    throw new Error(`${name}: embed() gave z of shape (${z.shape.join(',')}) for a batch of (${batch.B},${batch.L})`);
  }
  // a model whose f_e has no parameter (a fixed encoding) still needs z on the tape for ∂L/∂z
  if (!z.requiresGrad) z = new Tensor(z.f32(name), z.shape, { requiresGrad: true });
  // Σ ℓ gives every ℓ_b the gradient 1, and only ∂/∂z is asked for: the output layer computes it in the forward
  const losses = ctx.forward(z, { presumedGrad: { value: 1, table: false } }).losses;
  const values = finiteLosses(name, ctx, losses);
  const total = losses.sum();
  const gradient = total.requiresGrad ? grad(total, [z])[0]! : new Tensor(new Float32Array(z.size), z.shape);
  const mask = realItemMask(batch.inputs, batch.B, batch.L, model.numItems);
  return { z, losses, values, gradient, location: locateSpans(gradient, mask, spanSize) };
}

/**
 * Rows of the estimated under-represented group (Eq. 10): the M rows with the largest â among
 * `rows` (those with a target), ties by the smaller row, in descending order of â.
 */
export function topIndicators(indicator: Float32Array, rows: Uint8Array, M: number): number[] {
  const idx: number[] = [];
  for (let b = 0; b < indicator.length; b++) if (rows[b]) idx.push(b);
  idx.sort((a, b) => indicator[b]! - indicator[a]! || a - b);
  return idx.slice(0, Math.min(M, idx.length));
}
