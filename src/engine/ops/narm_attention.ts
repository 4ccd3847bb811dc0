/**
 * NARM's local-encoder attention weights (Li et al., CIKM 2017, Eq. 7–8) for the last T positions
 * of each sequence at once:
 *
 *   α[b,t,j] = m[b,j] · [j ≤ p] · Σ_d w_d σ(q[b,t,d] + k[b,j,d]),   p = L − T + t     (B,T,L)
 *
 * q = A1 h_p (the query of the prefix ending at p), k = A2 h (every state), w = vᵀ (1,H) or (H),
 * m the padding mask. T = L: every prefix (row t is the α of the prefix ending at t; the causal
 * mask keeps later items out); T = 1: the whole sequence only.
 *
 * Why a fused op: with engine primitives this is a broadcast (B,T,L,H) tensor through add,
 * sigmoid and a projection, each materialised forward and backward. The backend kernel never
 * stores it: its backward recomputes σ (src/backend/backend.ts narmAttentionForward).
 */
import { getBackend } from '../../backend/index.js';
import { Tensor, result } from '../tensor.js';
import { fmt } from '../shape.js';

/** q (B,T,H), k (B,L,H) with T ≤ L, w of H values, mask (B,L) i32 of 0/1 → α (B,T,L). */
export function narmAttention(q: Tensor, k: Tensor, w: Tensor, mask: Tensor): Tensor {
  if (q.rank !== 3 || k.rank !== 3 || q.shape[0] !== k.shape[0] || q.shape[2] !== k.shape[2] || q.shape[1]! > k.shape[1]!) {
    throw new Error(`narmAttention: q is ${fmt(q.shape)} and k ${fmt(k.shape)}; expected (B,T,H) and (B,L,H) with T ≤ L`);
  }
  const [B, T, H] = q.shape as [number, number, number];
  const L = k.shape[1]!;
  if (w.size !== H) throw new Error(`narmAttention: w is ${fmt(w.shape)}, expected ${H} values`);
  if (mask.dtype !== 'i32' || mask.rank !== 2 || mask.shape[0] !== B || mask.shape[1] !== L) {
    throw new Error(`narmAttention: mask must be i32 (${B},${L}), got ${mask.dtype} ${fmt(mask.shape)}`);
  }
  const d = { B, T, L, H };
  const qv = q.f32('narmAttention'), kv = k.f32('narmAttention'), wv = w.f32('narmAttention'), mv = mask.i32('narmAttention');
  const alpha = getBackend().narmAttentionForward(qv, kv, wv, mv, d);
  return result(alpha, [B, T, L], 'narmAttention', [q, k, w], (g) => {
    const r = getBackend().narmAttentionBackward(qv, kv, wv, mv, g, d);
    return [r.dq, r.dk, r.dw];
  });
}
