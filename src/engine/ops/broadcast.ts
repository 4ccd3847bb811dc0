/**
 * The broadcasting machinery of the elementwise ops: a binary op over two arrays read at
 * broadcast strides, expanding an array to a broadcast shape, and reducing a broadcast gradient
 * back to an input's shape.
 *
 * Speed: every loop runs over the collapsed loop nest of `collapse` (shape.ts): same shape,
 * scalar, bias (suffix) and column (B,L,1) broadcasts all become one or two plain loops whose
 * inner loop is contiguous or reads one repeated value. The binary ops themselves are a backend
 * kernel (`binary`: the reference's loops, the cpu addon's threaded vector loops); each element
 * is computed in doubles from the f32 inputs and rounded once (or one f32 operation: the same bits).
 */
import { allocF32 } from '../../backend/buffer-pool.js';
import type { BinaryOp, F32 } from '../../backend/backend.js';
import { getBackend } from '../../backend/index.js';
import { type Shape, collapse, sizeOf } from '../shape.js';

export { ADD, DIV, MUL, SUB } from '../../backend/backend.js';
export type { BinaryOp as BinOp } from '../../backend/backend.js';

/** a op b with NumPy broadcasting to `out` (computed by the caller), as a new f32 array, on the backend. */
export function broadcastBinary(op: BinaryOp, a: F32, aShape: Shape, b: F32, bShape: Shape, out: Shape): F32 {
  if (sizeOf(out) === 0) return allocF32(0);
  const { dims, strides: [sa, sb] } = collapse(out, [aShape, bShape]);
  return getBackend().binary(op, a, b, dims, sa!, sb!);
}

/** x (of `shape`) read as if broadcast to `out`: a new contiguous array of sizeOf(out) values. */
export function expand(x: F32, shape: Shape, out: Shape): F32 {
  const n = sizeOf(out);
  const y = allocF32(n);
  if (n === 0) return y;
  if (x.length === n) {
    y.set(x);
    return y;
  }
  const { dims, strides: [s] } = collapse(out, [shape]);
  const r = dims.length;
  const inner = dims[r - 1]!, contiguous = s![r - 1] === 1;
  const idx = new Int32Array(r);
  let xo = 0;
  for (let yo = 0; yo < n; yo += inner) {
    if (contiguous) y.set(x.subarray(xo, xo + inner), yo);
    else y.fill(x[xo]!, yo, yo + inner);
    for (let d = r - 2; d >= 0; d--) {
      xo += s![d]!;
      if (++idx[d]! < dims[d]!) break;
      xo -= s![d]! * dims[d]!;
      idx[d] = 0;
    }
  }
  return y;
}

/**
 * Sums a gradient of shape `out` down to `target` (the shape an input was broadcast from).
 * Returns `g` itself when nothing was broadcast. Each target element receives its terms in
 * row-major order of `out`, rounded to f32 after every addition (a single-element target sums
 * in doubles), so every path gives the same bits.
 */
export function reduceToShape(g: F32, out: Shape, target: Shape): F32 {
  const m = sizeOf(target);
  if (m === g.length) return g; // same element count: only size-1 axes differ
  const r = allocF32(m);
  if (m === 1) {
    let s = 0;
    for (let i = 0; i < g.length; i++) s += g[i]!;
    r[0] = s;
    return r;
  }
  if (g.length === 0) return r;
  const { dims, strides: [st] } = collapse(out, [target]);
  const rank = dims.length;
  const inner = dims[rank - 1]!, kept = st![rank - 1] === 1;
  const idx = new Int32Array(rank);
  let ro = 0;
  for (let go = 0; go < g.length; go += inner) {
    if (kept) {
      // bias-style: add a contiguous row of g into a row of r
      const d = go - ro, end = ro + inner;
      for (let j = ro; j < end; j++) r[j]! += g[j + d]!;
    } else {
      // column-style: sum a contiguous run of g into one element, f32 after each step
      let s = r[ro]!;
      const end = go + inner;
      for (let i = go; i < end; i++) s = Math.fround(s + g[i]!);
      r[ro] = s;
    }
    for (let d = rank - 2; d >= 0; d--) {
      ro += st![d]!;
      if (++idx[d]! < dims[d]!) break;
      ro -= st![d]! * dims[d]!;
      idx[d] = 0;
    }
  }
  return r;
}
