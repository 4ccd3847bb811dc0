/**
 * The broadcasting machinery of the elementwise ops: a binary op over two arrays read at
 * broadcast strides, expanding an array to a broadcast shape, and reducing a broadcast gradient
 * back to an input's shape.
 *
 * Speed: every loop is written out per op (no per-element closure call, which V8 cannot inline
 * once several ops share it), and runs over the collapsed loop nest of `collapse` (shape.ts):
 * same shape, scalar, bias (suffix) and column (B,L,1) broadcasts all become one or two plain
 * loops whose inner loop is contiguous or reads one repeated value. Each element is still
 * computed in doubles from the f32 inputs and rounded once when stored.
 */
import type { F32 } from '../../backend/backend.js';
import { type Shape, collapse, sizeOf } from '../shape.js';

export const ADD = 0, SUB = 1, MUL = 2, DIV = 3;
export type BinOp = typeof ADD | typeof SUB | typeof MUL | typeof DIV;

/**
 * y[yo + k] = a[ao + k·sa] op b[bo + k·sb] for k < n, with sa, sb ∈ {0, 1} not both 0.
 * One loop per (op, stride pattern): each stays monomorphic.
 */
function row(op: BinOp, a: F32, ao: number, sa: number, b: F32, bo: number, sb: number, y: F32, yo: number, n: number): void {
  if (sa === 1 && sb === 1) {
    const d = ao - yo, e = bo - yo, end = yo + n;
    switch (op) {
      case ADD: for (let i = yo; i < end; i++) y[i] = a[i + d]! + b[i + e]!; break;
      case SUB: for (let i = yo; i < end; i++) y[i] = a[i + d]! - b[i + e]!; break;
      case MUL: for (let i = yo; i < end; i++) y[i] = a[i + d]! * b[i + e]!; break;
      case DIV: for (let i = yo; i < end; i++) y[i] = a[i + d]! / b[i + e]!; break;
    }
  } else if (sb === 0) {
    const v = b[bo]!, d = ao - yo, end = yo + n;
    switch (op) {
      case ADD: for (let i = yo; i < end; i++) y[i] = a[i + d]! + v; break;
      case SUB: for (let i = yo; i < end; i++) y[i] = a[i + d]! - v; break;
      case MUL: for (let i = yo; i < end; i++) y[i] = a[i + d]! * v; break;
      case DIV: for (let i = yo; i < end; i++) y[i] = a[i + d]! / v; break;
    }
  } else {
    const v = a[ao]!, e = bo - yo, end = yo + n;
    switch (op) {
      case ADD: for (let i = yo; i < end; i++) y[i] = v + b[i + e]!; break;
      case SUB: for (let i = yo; i < end; i++) y[i] = v - b[i + e]!; break;
      case MUL: for (let i = yo; i < end; i++) y[i] = v * b[i + e]!; break;
      case DIV: for (let i = yo; i < end; i++) y[i] = v / b[i + e]!; break;
    }
  }
}

function scalarOp(op: BinOp, x: number, z: number): number {
  switch (op) {
    case ADD: return x + z;
    case SUB: return x - z;
    case MUL: return x * z;
    case DIV: return x / z;
  }
}

/** a op b with NumPy broadcasting to `out` (computed by the caller), as a new f32 array. */
export function broadcastBinary(op: BinOp, a: F32, aShape: Shape, b: F32, bShape: Shape, out: Shape): F32 {
  const n = sizeOf(out);
  const y = new Float32Array(n);
  if (n === 0) return y;
  const { dims, strides: [sa, sb] } = collapse(out, [aShape, bShape]);
  const r = dims.length;
  if (r === 0) {
    y[0] = scalarOp(op, a[0]!, b[0]!);
    return y;
  }
  const inner = dims[r - 1]!, ia = sa![r - 1]!, ib = sb![r - 1]!;
  if (r === 1) {
    row(op, a, 0, ia, b, 0, ib, y, 0, n);
    return y;
  }
  // odometer over the outer axes, carrying each operand's row offset
  const idx = new Int32Array(r - 1);
  let ao = 0, bo = 0;
  for (let yo = 0; yo < n; yo += inner) {
    row(op, a, ao, ia, b, bo, ib, y, yo, inner);
    for (let d = r - 2; d >= 0; d--) {
      ao += sa![d]!;
      bo += sb![d]!;
      if (++idx[d]! < dims[d]!) break;
      ao -= sa![d]! * dims[d]!;
      bo -= sb![d]! * dims[d]!;
      idx[d] = 0;
    }
  }
  return y;
}

/** x (of `shape`) read as if broadcast to `out`: a new contiguous array of sizeOf(out) values. */
export function expand(x: F32, shape: Shape, out: Shape): F32 {
  const n = sizeOf(out);
  const y = new Float32Array(n);
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
  const r = new Float32Array(m);
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
