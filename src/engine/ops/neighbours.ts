/**
 * The kernels behind A-FSR: embedding-gradient norms (Eq. 3, 9), cosine top-k neighbours and
 * their 2-hop union (Eq. 6), Dirichlet draws and Dirichlet-weighted neighbour mixing (Eq. 7).
 * Only neighbourMix is differentiable (with respect to the embedding table).
 */
import { getBackend } from '../../backend/index.js';
import { type Generator, Streams, generator } from '../random.js';
import { Tensor, result } from '../tensor.js';
import { fmt, sameShape } from '../shape.js';

/** g (B,L,D), mask (B,L) i32 → per-position L2 norms (B,L), row max (B), first arg-max (B) i32. */
export function gradNorm(g: Tensor, mask: Tensor): { norms: Tensor; rowmax: Tensor; argmax: Tensor } {
  if (g.rank !== 3) throw new Error(`gradNorm: g must be (B,L,D), got ${fmt(g.shape)}`);
  const [B, L, D] = g.shape as [number, number, number];
  if (mask.dtype !== 'i32' || !sameShape(mask.shape, [B, L])) {
    throw new Error(`gradNorm: mask must be i32 (${B},${L}), got ${mask.dtype} ${fmt(mask.shape)}`);
  }
  const r = getBackend().gradNorm(g.f32('gradNorm'), mask.i32(), B, L, D);
  return { norms: new Tensor(r.norms, [B, L]), rowmax: new Tensor(r.rowmax, [B]), argmax: new Tensor(r.argmax, [B]) };
}

/** Top-k cosine neighbours of each row of x (N,D) (or of the rows `queries`), self excluded. */
export function cosineTopk(x: Tensor, k: number, queries: Tensor | null = null): { indices: Tensor; similarities: Tensor } {
  if (x.rank !== 2) throw new Error(`cosineTopk: x must be (N,D), got ${fmt(x.shape)}`);
  const [N, D] = x.shape as [number, number];
  if (!Number.isInteger(k) || k < 1 || k > N - 1) throw new Error(`cosineTopk: k must be in [1, ${N - 1}] for ${N} rows, got ${k}`);
  if (queries && (queries.dtype !== 'i32' || queries.rank !== 1)) throw new Error('cosineTopk: queries must be a 1-D i32 tensor');
  const q = queries?.i32() ?? null;
  if (q) {
    for (let i = 0; i < q.length; i++) {
      if (q[i]! < 0 || q[i]! >= N) throw new Error(`cosineTopk: queries[${i}] = ${q[i]} is out of range [0, ${N})`);
    }
  }
  const Q = q ? q.length : N;
  const r = getBackend().cosineTopk(x.f32('cosineTopk'), N, D, k, q);
  return { indices: new Tensor(r.indices, [Q, k]), similarities: new Tensor(r.similarities, [Q, k]) };
}

/** 2-hop neighbourhoods of a full top-k table (N,k): sorted, self excluded, -1 padded to k+k². */
export function twoHop(indices: Tensor): { twoHop: Tensor; count: Tensor } {
  if (indices.dtype !== 'i32' || indices.rank !== 2) throw new Error(`twoHop: indices must be i32 (N,k), got ${indices.dtype} ${fmt(indices.shape)}`);
  const [N, k] = indices.shape as [number, number];
  const iv = indices.i32();
  for (let i = 0; i < iv.length; i++) {
    if (iv[i]! < 0 || iv[i]! >= N) throw new Error(`twoHop: indices[${i}] = ${iv[i]} is out of range [0, ${N})`);
  }
  const r = getBackend().twoHop(iv, N, k);
  return { twoHop: new Tensor(r.twoHop, [N, k + k * k]), count: new Tensor(r.count, [N]) };
}

/** Symmetric Dirichlet(alpha) weights, one row per entry of counts (active width), padded to K. */
export function dirichlet(counts: Tensor, K: number, alpha: number, gen: Generator = generator(Streams.dirichlet)): Tensor {
  if (counts.dtype !== 'i32' || counts.rank !== 1) throw new Error(`dirichlet: counts must be a 1-D i32 tensor, got ${fmt(counts.shape)}`);
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new Error(`dirichlet: alpha must be positive, got ${alpha}`);
  const c = counts.i32();
  for (let i = 0; i < c.length; i++) {
    if (c[i]! < 1 || c[i]! > K) throw new Error(`dirichlet: counts[${i}] = ${c[i]} is out of range [1, ${K}]`);
  }
  const rows = c.length;
  return new Tensor(getBackend().dirichlet(c, rows, K, alpha, gen.take(rows * K)), [rows, K]);
}

/** out[r] = Σ_j w[r,j]·table[ids[r,j]] over ids ≥ 0; ids (R,K) i32 (−1 = none), w (R,K) constant. */
export function neighbourMix(table: Tensor, ids: Tensor, w: Tensor): Tensor {
  if (table.rank !== 2 || ids.rank !== 2 || ids.dtype !== 'i32' || !sameShape(ids.shape, w.shape)) {
    throw new Error(`neighbourMix: table ${fmt(table.shape)}, ids ${ids.dtype} ${fmt(ids.shape)}, w ${fmt(w.shape)}; expected (V,D), i32 (R,K), (R,K)`);
  }
  const [V, D] = table.shape as [number, number];
  const [R, K] = ids.shape as [number, number];
  const iv = ids.i32();
  for (let i = 0; i < iv.length; i++) {
    if (iv[i]! < -1 || iv[i]! >= V) throw new Error(`neighbourMix: ids[${i}] = ${iv[i]} is out of range [-1, ${V})`);
  }
  const tv = table.f32('neighbourMix'), wv = w.f32('neighbourMix');
  const out = getBackend().neighbourMix(tv, iv, wv, R, K, V, D);
  return result(out, [R, D], 'neighbourMix', [table], (g) => [getBackend().neighbourMixBackward(g, iv, wv, R, K, V, D)]);
}
