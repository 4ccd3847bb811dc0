/**
 * NARM's local-encoder attention weights for every prefix at once (Li et al. 2017, Eq. 7–8):
 *
 *   α[b,t,j] = m[b,j] · [j ≤ t] · Σ_d w_d σ(q[b,t,d] + k[b,j,d])        (B,L,L)
 *
 * with q = A1 h (the query of the prefix ending at t), k = A2 h, w = vᵀ (1,H), m the padding
 * mask. Row t is the α of the prefix ending at t; the causal mask j ≤ t keeps later items out.
 *
 * Why a fused op: with engine primitives this is a broadcast (B,L,L,H) tensor through add,
 * sigmoid and a projection, each materialised forward and backward, on generic broadcasting
 * loops. Here the (B,L,L,H) values are never stored: the backward recomputes σ.
 *
 * σ(q + k) = 1 / (1 + e^{−q} e^{−k}): the exponentials are taken once per (b,t,d) and (b,j,d), not
 * per pair, and multiplied in float64. q and k are clamped to ±EXP_LIMIT first so the product can
 * neither overflow nor become ∞·0; σ of |q + k| near that size is 0 or 1 anyway (unless q and k
 * are both beyond it with opposite signs, which trained NARM weights never come near).
 *
 * Backward (g = ∂L/∂α, s = σ(q_t + k_j)):
 *   ∂L/∂w_d += g_tj s_d,   ∂L/∂q_td += g_tj w_d s_d (1 − s_d),   ∂L/∂k_jd += the same.
 * Pure TypeScript (the same on every backend).
 */
import { type Tensor, result } from '../engine/index.js';

const EXP_LIMIT = 300;

const fmt = (s: readonly number[]): string => `(${s.join(',')})`;

/** e^{−x} per element, x clamped to ±EXP_LIMIT, in float64. */
function negExp(x: Float32Array): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = Math.exp(-Math.min(EXP_LIMIT, Math.max(-EXP_LIMIT, x[i]!)));
  return y;
}

/** q, k (B,L,H) f32, w (1,H) f32, mask (B,L) i32 → α (B,L,L) (see the file comment). */
export function narmCausalAttention(q: Tensor, k: Tensor, w: Tensor, mask: Tensor): Tensor {
  if (q.rank !== 3 || k.rank !== 3 || q.shape.some((d, i) => d !== k.shape[i])) {
    throw new Error(`narmCausalAttention: q is ${fmt(q.shape)} and k ${fmt(k.shape)}; expected both (B,L,H)`);
  }
  const [B, L, H] = q.shape as [number, number, number];
  if (w.size !== H) throw new Error(`narmCausalAttention: w is ${fmt(w.shape)}, expected (1,${H})`);
  if (mask.dtype !== 'i32' || mask.shape[0] !== B || mask.shape[1] !== L) {
    throw new Error(`narmCausalAttention: mask must be i32 (${B},${L}), got ${mask.dtype} ${fmt(mask.shape)}`);
  }
  const eq = negExp(q.f32('narmCausalAttention'));
  const ek = negExp(k.f32('narmCausalAttention'));
  const wv = w.f32('narmCausalAttention');
  const m = mask.i32('narmCausalAttention');

  const alpha = new Float32Array(B * L * L);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < L; t++) {
      const qo = (b * L + t) * H;
      for (let j = 0; j <= t; j++) {
        if (m[b * L + j] === 0) continue;
        const ko = (b * L + j) * H;
        let s = 0;
        for (let d = 0; d < H; d++) s += wv[d]! / (1 + eq[qo + d]! * ek[ko + d]!);
        alpha[(b * L + t) * L + j] = s;
      }
    }
  }

  return result(alpha, [B, L, L], 'narmCausalAttention', [q, k, w], (g, needs) => {
    const dq = new Float64Array(B * L * H);
    const dk = new Float64Array(B * L * H);
    const dw = new Float64Array(H);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < L; t++) {
        const qo = (b * L + t) * H;
        for (let j = 0; j <= t; j++) {
          const ga = g[(b * L + t) * L + j]!;
          if (ga === 0 || m[b * L + j] === 0) continue;
          const ko = (b * L + j) * H;
          for (let d = 0; d < H; d++) {
            const s = 1 / (1 + eq[qo + d]! * ek[ko + d]!);
            dw[d]! += ga * s;
            const ds = ga * wv[d]! * s * (1 - s);
            dq[qo + d]! += ds;
            dk[ko + d]! += ds;
          }
        }
      }
    }
    return [needs[0] ? new Float32Array(dq) : null, needs[1] ? new Float32Array(dk) : null, needs[2] ? new Float32Array(dw) : null];
  });
}
