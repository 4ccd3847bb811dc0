/**
 * The broadcasting machinery of the elementwise ops: apply a binary function over two arrays
 * read at broadcast strides, and reduce a broadcast gradient back to an input's shape.
 */
import type { F32 } from '../../backend/backend.js';
import { type Shape, broadcastStrides, sameShape, sizeOf, stridesOf } from '../shape.js';

/** true when `small` equals the trailing dims of `out` (bias-style broadcast) */
function isSuffix(small: Shape, out: Shape): boolean {
  if (small.length > out.length) return false;
  const off = out.length - small.length;
  return small.every((d, i) => d === out[off + i]);
}

export function broadcastBinary(a: F32, aShape: Shape, b: F32, bShape: Shape, out: Shape,
  f: (x: number, y: number) => number): F32 {
  const n = sizeOf(out);
  const y = new Float32Array(n);
  if (sameShape(aShape, bShape)) {
    for (let i = 0; i < n; i++) y[i] = f(a[i]!, b[i]!);
  } else if (b.length === 1) {
    const bv = b[0]!;
    if (a.length === n) for (let i = 0; i < n; i++) y[i] = f(a[i]!, bv);
    else { const av = a[0]!; for (let i = 0; i < n; i++) y[i] = f(av, bv); }
  } else if (a.length === 1 && b.length === n) {
    const av = a[0]!;
    for (let i = 0; i < n; i++) y[i] = f(av, b[i]!);
  } else if (a.length === n && isSuffix(bShape, out)) {
    const m = b.length;
    for (let i = 0; i < n; i++) y[i] = f(a[i]!, b[i % m]!);
  } else if (b.length === n && isSuffix(aShape, out)) {
    const m = a.length;
    for (let i = 0; i < n; i++) y[i] = f(a[i % m]!, b[i]!);
  } else {
    const sa = broadcastStrides(aShape, out);
    const sb = broadcastStrides(bShape, out);
    const rank = out.length;
    const idx = new Array<number>(rank).fill(0);
    let ia = 0, ib = 0;
    for (let i = 0; i < n; i++) {
      y[i] = f(a[ia]!, b[ib]!);
      // odometer increment over the output index
      for (let d = rank - 1; d >= 0; d--) {
        idx[d]!++;
        ia += sa[d]!;
        ib += sb[d]!;
        if (idx[d]! < out[d]!) break;
        ia -= sa[d]! * out[d]!;
        ib -= sb[d]! * out[d]!;
        idx[d] = 0;
      }
    }
  }
  return y;
}

/** Sums a gradient of shape `out` down to `target` (the shape an input was broadcast from). */
export function reduceToShape(g: F32, out: Shape, target: Shape): F32 {
  if (sameShape(out, target)) return g;
  const m = sizeOf(target);
  const r = new Float32Array(m);
  if (m === 1) {
    let s = 0;
    for (let i = 0; i < g.length; i++) s += g[i]!;
    r[0] = s;
    return r;
  }
  if (isSuffix(target, out)) {
    for (let i = 0; i < g.length; i++) r[i % m]! += g[i]!;
    return r;
  }
  const st = broadcastStrides(target, out);
  const os = stridesOf(out);
  for (let i = 0; i < g.length; i++) {
    let rem = i, j = 0;
    for (let d = 0; d < out.length; d++) {
      const q = Math.floor(rem / os[d]!);
      rem -= q * os[d]!;
      j += q * st[d]!;
    }
    r[j]! += g[i]!;
  }
  return r;
}
