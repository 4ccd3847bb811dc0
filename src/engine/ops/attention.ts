/**
 * Fused multi-head scaled dot-product attention (FORMAT.md 4.4) with a key-padding mask, causal
 * or bidirectional, and dropout on the attention weights. q,k,v (B,H,L,dh), or (B,L,H,dh) with
 * `interleaved` (the heads of a (B,L,H·dh) projection reshaped, no permute: the kernels read the
 * rows of a head H·dh apart); the output has q's layout. keyMask (B,L) i32.
 */
import type { RngKey } from '../../backend/backend.js';
import { getBackend } from '../../backend/index.js';
import { type Generator, Streams, generator } from '../random.js';
import { Tensor, result } from '../tensor.js';
import { fmt, sameShape } from '../shape.js';

export interface AttentionOptions {
  causal: boolean;
  /** default 1/sqrt(dh) */
  scale?: number;
  dropout?: number;
  training?: boolean;
  gen?: Generator;
  /** q, k, v and the output are (B,L,H,dh) instead of (B,H,L,dh) (default false) */
  interleaved?: boolean;
}

export function attention(q: Tensor, k: Tensor, v: Tensor, keyMask: Tensor, o: AttentionOptions): Tensor {
  if (q.rank !== 4 || !sameShape(q.shape, k.shape) || !sameShape(q.shape, v.shape)) {
    throw new Error(`attention: q is ${fmt(q.shape)}, k ${fmt(k.shape)}, v ${fmt(v.shape)}; expected three equal ${o.interleaved ? '(B,L,H,dh)' : '(B,H,L,dh)'}`);
  }
  const interleaved = o.interleaved === true;
  const [B, d1, d2, dh] = q.shape as [number, number, number, number];
  const [H, L] = interleaved ? [d2, d1] : [d1, d2];
  if (keyMask.dtype !== 'i32' || !sameShape(keyMask.shape, [B, L])) {
    throw new Error(`attention: keyMask must be i32 (${B},${L}), got ${keyMask.dtype} ${fmt(keyMask.shape)}`);
  }
  const mask = keyMask.i32();
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] !== 0 && mask[i] !== 1) throw new Error(`attention: keyMask[${i}] = ${mask[i]}, expected 0 or 1`);
  }
  const p = o.training === false ? 0 : (o.dropout ?? 0);
  if (!(p >= 0 && p < 1)) throw new Error(`attention: dropout must be in [0, 1), got ${p}`);
  const rng: RngKey | null = p > 0 ? (o.gen ?? generator(Streams.dropout)).take(B * H * L * L) : null;
  const d = { B, H, L, dh, causal: o.causal, scale: o.scale ?? 1 / Math.sqrt(dh), dropout: p, rng, interleaved };
  const qv = q.f32('attention'), kv = k.f32('attention'), vv = v.f32('attention');
  const { out, lse } = getBackend().attentionForward(qv, kv, vv, mask, d);
  return result(out, q.shape, 'attention', [q, k, v], (g) => {
    const r = getBackend().attentionBackward(qv, kv, vv, mask, out, lse, g, d);
    return [r.dq, r.dk, r.dv];
  });
}
