/** Reductions over an axis (or all axes): sum, mean, max (gradient to the first maximum), argmax. */
import { allocF32 } from '../../backend/buffer-pool.js';
import { Tensor, result } from '../tensor.js';
import { normAxis, sizeOf } from '../shape.js';

/** Splits a shape around `axis` into (outer, len, inner) for strided loops. */
function around(shape: readonly number[], axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis]!, sizeOf(shape.slice(axis + 1))];
}

function reducedShape(shape: readonly number[], axis: number, keepDims: boolean): number[] {
  const s = [...shape];
  if (keepDims) s[axis] = 1;
  else s.splice(axis, 1);
  return s;
}

function sumAxis(a: Tensor, axis: number, keepDims: boolean): Tensor {
  const x = a.f32('sum');
  const [outer, len, inner] = around(a.shape, axis);
  const y = allocF32(outer * inner);
  // each output sums its `len` terms in order, in doubles, reading x contiguously
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      let s = 0;
      for (let l = o * len, end = l + len; l < end; l++) s += x[l]!;
      y[o] = s;
    }
  } else {
    const acc = new Float64Array(inner);
    for (let o = 0; o < outer; o++) {
      acc.fill(0);
      for (let l = 0; l < len; l++) {
        const base = (o * len + l) * inner;
        for (let i = 0; i < inner; i++) acc[i]! += x[base + i]!;
      }
      y.set(acc, o * inner);
    }
  }
  return result(y, reducedShape(a.shape, axis, keepDims), 'sum', [a], (g) => {
    const gx = allocF32(x.length);
    for (let o = 0; o < outer; o++) {
      if (inner === 1) {
        gx.fill(g[o]!, o * len, (o + 1) * len);
        continue;
      }
      for (let l = 0; l < len; l++) {
        for (let i = 0; i < inner; i++) gx[(o * len + l) * inner + i] = g[o * inner + i]!;
      }
    }
    return [gx];
  }, true);
}

function axesOf(a: Tensor, axis: number | number[] | undefined, op: string): number[] {
  if (axis === undefined) return a.shape.map((_, i) => i);
  const list = (Array.isArray(axis) ? axis : [axis]).map((ax) => normAxis(ax, a.rank, op));
  if (new Set(list).size !== list.length) throw new Error(`${op}: repeated axis in [${list.join(',')}]`);
  return list.sort((p, q) => q - p); // reduce the last axes first so earlier indices stay valid
}

/** Sum over `axis` (all axes when omitted). */
export function sum(a: Tensor, axis?: number | number[], keepDims = false): Tensor {
  if (axis === undefined && !keepDims) {
    const x = a.f32('sum');
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i]!;
    return result(Float32Array.of(s), [], 'sum', [a], (g) => [allocF32(x.length).fill(g[0]!)], true);
  }
  let t = a;
  for (const ax of axesOf(a, axis, 'sum')) t = sumAxis(t, ax, keepDims);
  return t;
}

/** Mean over `axis` (all axes when omitted). */
export function mean(a: Tensor, axis?: number | number[], keepDims = false): Tensor {
  const axes = axesOf(a, axis, 'mean');
  let count = 1;
  for (const ax of axes) count *= a.shape[ax]!;
  if (count === 0) throw new Error(`mean: reducing an empty axis of shape (${a.shape.join(',')})`);
  const s = sum(a, axis, keepDims);
  const inv = 1 / count;
  return result(scale(s.f32(), inv), s.shape, 'mean', [s], (g) => [scale(g, inv)], true);
}

function scale(x: Float32Array, c: number): Float32Array {
  const y = allocF32(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i]! * c;
  return y;
}

function argmaxAlong(x: ArrayLike<number>, outer: number, len: number, inner: number): Int32Array {
  const idx = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let best = 0;
      let bv = x[o * len * inner + i]!;
      for (let l = 1; l < len; l++) {
        const v = x[(o * len + l) * inner + i]!;
        if (v > bv || (Number.isNaN(v) && !Number.isNaN(bv))) { bv = v; best = l; } // first max; NaN wins
      }
      idx[o * inner + i] = best;
    }
  }
  return idx;
}

/** Max over one axis; the gradient goes to the first maximal element. */
export function max(a: Tensor, axis: number, keepDims = false): Tensor {
  const ax = normAxis(axis, a.rank, 'max');
  const [outer, len, inner] = around(a.shape, ax);
  if (len === 0) throw new Error('max: reducing an empty axis');
  const x = a.f32('max');
  const idx = argmaxAlong(x, outer, len, inner);
  const y = allocF32(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) y[o * inner + i] = x[(o * len + idx[o * inner + i]!) * inner + i]!;
  }
  return result(y, reducedShape(a.shape, ax, keepDims), 'max', [a], (g) => {
    const gx = allocF32(x.length);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) gx[(o * len + idx[o * inner + i]!) * inner + i] = g[o * inner + i]!;
    }
    return [gx];
  }, true);
}

/** Index of the first maximum along `axis` (i32, not differentiable). */
export function argmax(a: Tensor, axis: number, keepDims = false): Tensor {
  const ax = normAxis(axis, a.rank, 'argmax');
  const [outer, len, inner] = around(a.shape, ax);
  if (len === 0) throw new Error('argmax: reducing an empty axis');
  return new Tensor(argmaxAlong(a.data, outer, len, inner), reducedShape(a.shape, ax, keepDims));
}
