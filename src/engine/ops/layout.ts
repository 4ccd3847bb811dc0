/** Layout ops: reshape, permute/transpose, slice, concat. All copy into a new contiguous tensor. */
import { allocF32 } from '../../backend/buffer-pool.js';
import type { F32 } from '../../backend/backend.js';
import type { Data } from '../tensor.js';
import { Tensor, result } from '../tensor.js';
import { fmt, normAxis, sizeOf, stridesOf } from '../shape.js';

function like(x: Data, n: number): Data {
  return x instanceof Int32Array ? new Int32Array(n) : allocF32(n);
}

/** Reshape; one dimension may be -1 (inferred). i32 tensors reshape too (no gradient). */
export function reshape(a: Tensor, shape: number[]): Tensor {
  const infer = shape.indexOf(-1);
  if (shape.filter((d) => d === -1).length > 1) throw new Error(`reshape: more than one -1 in ${fmt(shape)}`);
  const s = [...shape];
  if (infer >= 0) {
    const rest = sizeOf(shape.filter((_, i) => i !== infer));
    if (rest === 0 || a.size % rest !== 0) throw new Error(`reshape: cannot reshape ${fmt(a.shape)} into ${fmt(shape)}`);
    s[infer] = a.size / rest;
  }
  if (sizeOf(s) !== a.size) throw new Error(`reshape: cannot reshape ${fmt(a.shape)} (${a.size} values) into ${fmt(shape)}`);
  if (a.dtype === 'i32') return new Tensor(a.data, s);
  // values are shared: reshape of a contiguous array is free
  return result(a.data, s, 'reshape', [a], (g) => [g], true);
}

/** Permutes axes: out.shape[i] = a.shape[dims[i]]. */
export function permute(a: Tensor, dims: number[]): Tensor {
  const r = a.rank;
  const d = dims.map((x) => normAxis(x, r, 'permute'));
  if (d.length !== r || new Set(d).size !== r) {
    throw new Error(`permute: ${fmt(dims)} is not a permutation of the ${r} axes of ${fmt(a.shape)}`);
  }
  const outShape = d.map((i) => a.shape[i]!);
  const y = permuteData(a.data, a.shape, d);
  if (a.dtype === 'i32') return new Tensor(y, outShape);
  // the gradient is g permuted back: a gather by the inverse permutation
  const inverse = new Array<number>(r);
  d.forEach((axis, i) => { inverse[axis] = i; });
  return result(y, outShape, 'permute', [a], (g) => [permuteData(g, outShape, inverse) as F32], true);
}

/** Tile edge of the blocked transpose: a tile's rows and columns stay in cache. */
const TILE = 16;

/**
 * x (of `shape`) with its axes in the order `dims`, as a new contiguous array. The loop runs over
 * the output axes with size-1 axes dropped and axes merged that stay neighbours; the last two
 * are copied as rows (when the input's last axis stays last) or as a blocked transpose.
 */
function permuteData(x: Data, shape: readonly number[], dims: readonly number[]): Data {
  const y = like(x, x.length);
  if (x.length === 0) return y;
  const inStrides = stridesOf(shape);
  const len: number[] = [], st: number[] = []; // loop axes (output order) and their input strides
  for (const axis of dims) {
    const n = shape[axis]!, s = inStrides[axis]!;
    if (n === 1) continue;
    const k = len.length - 1;
    if (k >= 0 && st[k] === s * n) {
      len[k]! *= n;
      st[k] = s;
    } else {
      len.push(n);
      st.push(s);
    }
  }
  const r = len.length;
  if (r <= 1) { // nothing moves (one axis left has stride 1)
    y.set(x);
    return y;
  }
  const R = len[r - 2]!, C = len[r - 1]!, sR = st[r - 2]!, sC = st[r - 1]!;
  const block = R * C;
  const idx = new Int32Array(r - 2);
  let off = 0;
  for (let yo = 0; yo < y.length; yo += block) {
    if (sC === 1) {
      for (let i = 0; i < R; i++) {
        const src = off + i * sR, dst = yo + i * C;
        for (let j = 0; j < C; j++) y[dst + j] = x[src + j]!;
      }
    } else {
      for (let i0 = 0; i0 < R; i0 += TILE) {
        const iEnd = Math.min(R, i0 + TILE);
        for (let j0 = 0; j0 < C; j0 += TILE) {
          const jEnd = Math.min(C, j0 + TILE);
          for (let i = i0; i < iEnd; i++) {
            const src = off + i * sR, dst = yo + i * C;
            for (let j = j0; j < jEnd; j++) y[dst + j] = x[src + j * sC]!;
          }
        }
      }
    }
    // odometer over the outer axes
    for (let k = r - 3; k >= 0; k--) {
      off += st[k]!;
      if (++idx[k]! < len[k]!) break;
      off -= st[k]! * len[k]!;
      idx[k] = 0;
    }
  }
  return y;
}

/** Swaps two axes. */
export function transpose(a: Tensor, ax1 = -2, ax2 = -1): Tensor {
  const p = a.shape.map((_, i) => i);
  const i = normAxis(ax1, a.rank, 'transpose'), j = normAxis(ax2, a.rank, 'transpose');
  [p[i], p[j]] = [p[j]!, p[i]!];
  return permute(a, p);
}

/** Elements [start, end) along `axis` (negative indices count from the end). */
export function slice(a: Tensor, axis: number, start: number, end: number): Tensor {
  const ax = normAxis(axis, a.rank, 'slice');
  const len = a.shape[ax]!;
  const s = start < 0 ? start + len : start;
  const e = end < 0 ? end + len : end;
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > len || s > e) {
    throw new Error(`slice: [${start}, ${end}) is out of range for axis ${axis} of ${fmt(a.shape)}`);
  }
  const outer = sizeOf(a.shape.slice(0, ax));
  const inner = sizeOf(a.shape.slice(ax + 1));
  const w = e - s;
  const outShape = [...a.shape];
  outShape[ax] = w;
  const y = like(a.data, outer * w * inner);
  for (let o = 0; o < outer; o++) {
    y.set(a.data.subarray((o * len + s) * inner, (o * len + e) * inner), o * w * inner);
  }
  if (a.dtype === 'i32') return new Tensor(y, outShape);
  return result(y, outShape, 'slice', [a], (g) => {
    const gx = allocF32(a.size);
    for (let o = 0; o < outer; o++) gx.set(g.subarray(o * w * inner, (o + 1) * w * inner), (o * len + s) * inner);
    return [gx];
  }, true);
}

/** Concatenates along `axis`; all other dims must agree. */
export function concat(ts: Tensor[], axis: number): Tensor {
  if (ts.length === 0) throw new Error('concat: no tensors given');
  const first = ts[0]!;
  const ax = normAxis(axis, first.rank, 'concat');
  for (const t of ts) {
    if (t.rank !== first.rank || t.dtype !== first.dtype || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new Error(`concat: ${t.dtype} ${fmt(t.shape)} does not match ${first.dtype} ${fmt(first.shape)} outside axis ${axis}`);
    }
  }
  const outer = sizeOf(first.shape.slice(0, ax));
  const inner = sizeOf(first.shape.slice(ax + 1));
  const lens = ts.map((t) => t.shape[ax]!);
  const total = lens.reduce((p, q) => p + q, 0);
  const outShape = [...first.shape];
  outShape[ax] = total;
  const y = like(first.data, outer * total * inner);
  let at = 0;
  ts.forEach((t, k) => {
    const w = lens[k]!;
    for (let o = 0; o < outer; o++) y.set(t.data.subarray(o * w * inner, (o + 1) * w * inner), (o * total + at) * inner);
    at += w;
  });
  if (first.dtype === 'i32') return new Tensor(y, outShape);
  return result(y, outShape, 'concat', ts, (g, needs) => {
    let pos = 0;
    return ts.map((t, k) => {
      const w = lens[k]!;
      const start = pos;
      pos += w;
      if (!needs[k]) return null;
      const gx = allocF32(t.size);
      for (let o = 0; o < outer; o++) gx.set(g.subarray((o * total + start) * inner, (o * total + start + w) * inner), o * w * inner);
      return gx;
    });
  }, true);
}

/** Stacks equal-shaped tensors along a new axis. */
export function stack(ts: Tensor[], axis = 0): Tensor {
  if (ts.length === 0) throw new Error('stack: no tensors given');
  for (const t of ts) {
    if (t.dtype !== ts[0]!.dtype || t.rank !== ts[0]!.rank || t.shape.some((d, i) => d !== ts[0]!.shape[i])) {
      throw new Error(`stack: ${t.dtype} ${fmt(t.shape)} does not match ${ts[0]!.dtype} ${fmt(ts[0]!.shape)}`);
    }
  }
  const r = ts[0]!.rank + 1;
  const ax = normAxis(axis, r, 'stack');
  return concat(ts.map((t) => reshape(t, [...t.shape.slice(0, ax), 1, ...t.shape.slice(ax)])), ax);
}
