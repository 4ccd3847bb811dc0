/**
 * 05. Layout and selection ops: reshape, permute, transpose, slice, concat, stack, where,
 * maskedFill. Forward values against index arithmetic, i32 support, and finite-difference
 * gradients (including broadcasting where/maskedFill).
 */
import { describe, expect, it } from 'vitest';
import {
  Tensor, concat, maskedFill, mul, permute, reshape, slice, stack, sum, tensor, transpose, where,
} from '../../src/engine/index.js';
import { expectGradcheck, input } from './gradcheck.js';
import { prod, strides, unravel, uniformArr } from './util.js';

const iota = (n: number) => Float32Array.from({ length: n }, (_, i) => i);

describe('05.1 reshape', () => {
  it('keeps values in row-major order; infers one -1', () => {
    const x = new Tensor(iota(24), [2, 3, 4]);
    const y = reshape(x, [4, -1]);
    expect(y.shape).toEqual([4, 6]);
    expect(y.toArray()).toEqual(x.toArray());
    expect(reshape(x, [-1]).shape).toEqual([24]);
    expect(x.reshape([6, 2, 2]).shape).toEqual([6, 2, 2]);
    expect(reshape(new Tensor(Float32Array.of(3), []), [1, 1]).shape).toEqual([1, 1]);
    expect(reshape(new Tensor(Float32Array.of(3), [1, 1]), []).shape).toEqual([]);
  });

  it('i32 tensors reshape too (still i32, no grad)', () => {
    const y = reshape(new Tensor(Int32Array.of(1, 2, 3, 4), [4]), [2, 2]);
    expect(y.dtype).toBe('i32');
    expect(y.shape).toEqual([2, 2]);
    expect(y.requiresGrad).toBe(false);
  });

  it('gradient', () => {
    expectGradcheck('reshape (3,5)->(5,3)', ([x]) => mul(reshape(x!, [5, 3]), reshape(x!, [5, 3])),
      [input(uniformArr(15, 1), [3, 5])]);
    expectGradcheck('reshape (2,3,5)->(-1,5)', ([x]) => reshape(x!, [-1, 5]).mul(tensor([1, 2, 3, 4, 5])),
      [input(uniformArr(30, 2), [2, 3, 5])]);
  });
});

/** permute the naive way */
function naivePermute(x: Float32Array, shape: number[], dims: number[]): Float32Array {
  const outShape = dims.map((d) => shape[d]!);
  const st = strides(shape);
  const y = new Float32Array(x.length);
  for (let i = 0; i < y.length; i++) {
    const oi = unravel(i, outShape);
    let j = 0;
    oi.forEach((v, k) => { j += v * st[dims[k]!]!; });
    y[i] = x[j]!;
  }
  return y;
}

describe('05.2 permute and transpose', () => {
  const shape = [2, 3, 4, 5];
  const xv = iota(prod(shape));
  const perms = [[0, 1, 2, 3], [3, 2, 1, 0], [1, 0, 3, 2], [0, 2, 3, 1], [2, 0, 1, 3], [-1, 0, -3, 2]];

  it('every permutation matches index arithmetic', () => {
    for (const p of perms) {
      const dims = p.map((d) => (d < 0 ? d + 4 : d));
      const y = permute(new Tensor(xv, shape), p);
      expect(y.shape).toEqual(dims.map((d) => shape[d]!));
      expect(y.toArray()).toEqual(Array.from(naivePermute(xv, shape, dims)));
    }
  });

  it('transpose swaps two axes (default the last two)', () => {
    const x = new Tensor(xv, shape);
    expect(transpose(x).toArray()).toEqual(Array.from(naivePermute(xv, shape, [0, 1, 3, 2])));
    expect(transpose(x, 0, 2).toArray()).toEqual(Array.from(naivePermute(xv, shape, [2, 1, 0, 3])));
    expect(x.transpose(-1, 0).shape).toEqual([5, 3, 4, 2]);
    const m = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(m.transpose().toArray()).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('i32 permute keeps dtype', () => {
    const y = permute(new Tensor(Int32Array.of(1, 2, 3, 4, 5, 6), [2, 3]), [1, 0]);
    expect(y.dtype).toBe('i32');
    expect(y.toArray()).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('gradients', () => {
    const s = [2, 3, 1, 5];
    for (const p of [[3, 2, 1, 0], [1, 0, 3, 2], [0, 2, 3, 1]]) {
      expectGradcheck(`permute ${p}`, ([x]) => permute(x!, p), [input(uniformArr(prod(s), 3), s)]);
    }
    expectGradcheck('transpose(0,2)', ([x]) => transpose(x!, 0, 2), [input(uniformArr(30, 4), [2, 3, 5])]);
    expectGradcheck('transpose()', ([x]) => transpose(x!), [input(uniformArr(30, 5), [2, 3, 5])]);
  });
});

describe('05.3 slice', () => {
  const shape = [3, 5, 2];
  const xv = iota(30);

  it('takes [start, end) along an axis; negative indices count from the end', () => {
    const x = new Tensor(xv, shape);
    const y = slice(x, 1, 1, 4);
    expect(y.shape).toEqual([3, 3, 2]);
    const want: number[] = [];
    for (let a = 0; a < 3; a++) for (let b = 1; b < 4; b++) for (let c = 0; c < 2; c++) want.push(a * 10 + b * 2 + c);
    expect(y.toArray()).toEqual(want);
    expect(slice(x, -2, -4, -1).toArray()).toEqual(want);
    expect(slice(x, 0, 2, 3).toArray()).toEqual(Array.from(xv.slice(20, 30)));
    expect(slice(x, 2, 1, 2).toArray()).toEqual(Array.from(xv.filter((_, i) => i % 2 === 1)));
    expect(slice(x, 1, 2, 2).shape).toEqual([3, 0, 2]);
    expect(x.slice(0, 0, 1).shape).toEqual([1, 5, 2]);
  });

  it('i32 slice keeps dtype', () => {
    const y = slice(new Tensor(Int32Array.of(1, 2, 3, 4), [4]), 0, 1, 3);
    expect(y.dtype).toBe('i32');
    expect(y.toArray()).toEqual([2, 3]);
  });

  it('gradients (middle, first, last axis; negative bounds)', () => {
    expectGradcheck('slice axis 1 [1,4)', ([x]) => slice(x!, 1, 1, 4), [input(uniformArr(30, 6), shape)]);
    expectGradcheck('slice axis 0 [2,3)', ([x]) => slice(x!, 0, 2, 3), [input(uniformArr(30, 7), shape)]);
    expectGradcheck('slice axis -1 [-1,2)', ([x]) => slice(x!, -1, -1, 2), [input(uniformArr(30, 8), shape)]);
  });
});

describe('05.4 concat and stack', () => {
  it('concat along each axis matches index arithmetic', () => {
    const a = new Tensor(iota(6), [2, 3]);
    const b = new Tensor(iota(4).map((v) => 100 + v), [2, 2]);
    const y = concat([a, b], 1);
    expect(y.shape).toEqual([2, 5]);
    expect(y.toArray()).toEqual([0, 1, 2, 100, 101, 3, 4, 5, 102, 103]);
    const c = new Tensor(iota(3).map((v) => 50 + v), [1, 3]);
    expect(concat([a, c, a], 0).toArray()).toEqual([0, 1, 2, 3, 4, 5, 50, 51, 52, 0, 1, 2, 3, 4, 5]);
    expect(concat([a, b], -1).toArray()).toEqual(y.toArray());
    expect(concat([a], 0).toArray()).toEqual(a.toArray());
  });

  it('stack inserts a new axis', () => {
    const a = tensor([[1, 2, 3], [4, 5, 6]]), b = tensor([[7, 8, 9], [10, 11, 12]]);
    expect(stack([a, b]).shape).toEqual([2, 2, 3]);
    expect(stack([a, b]).toArray()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const s1 = stack([a, b], 1);
    expect(s1.shape).toEqual([2, 2, 3]);
    expect(s1.toArray()).toEqual([1, 2, 3, 7, 8, 9, 4, 5, 6, 10, 11, 12]);
    const s2 = stack([a, b], -1);
    expect(s2.shape).toEqual([2, 3, 2]);
    expect(s2.toArray()).toEqual([1, 7, 2, 8, 3, 9, 4, 10, 5, 11, 6, 12]);
  });

  it('i32 concat and stack keep dtype', () => {
    const a = new Tensor(Int32Array.of(1, 2), [2]), b = new Tensor(Int32Array.of(3), [1]);
    expect(concat([a, b], 0).dtype).toBe('i32');
    expect(concat([a, b], 0).toArray()).toEqual([1, 2, 3]);
    expect(stack([a, a], 1).toArray()).toEqual([1, 1, 2, 2]);
  });

  it('gradients (three inputs along a middle axis, one of them constant; stack on each axis)', () => {
    expectGradcheck('concat axis 1', ([a, b, c]) => concat([a!, b!, c!], 1), [
      input(uniformArr(6, 9), [2, 1, 3]), input(uniformArr(18, 10), [2, 3, 3]), input(uniformArr(12, 11), [2, 2, 3], false),
    ]);
    expectGradcheck('concat axis 0 (same tensor twice)', ([a, b]) => concat([a!, b!, a!], 0),
      [input(uniformArr(10, 12), [2, 5]), input(uniformArr(15, 13), [3, 5])]);
    for (const axis of [0, 1, 2, -1]) {
      expectGradcheck(`stack axis ${axis}`, ([a, b, c]) => stack([a!, b!, c!], axis),
        [input(uniformArr(6, 14), [2, 3]), input(uniformArr(6, 15), [2, 3]), input(uniformArr(6, 16), [2, 3])]);
    }
  });
});

describe('05.5 where and maskedFill', () => {
  it('where selects elementwise with broadcasting of cond, a and b', () => {
    const cond = new Tensor(Int32Array.of(1, 0, 1), [3]);
    const a = new Tensor(iota(6), [2, 3]);
    const b = tensor([[-1], [-2]]);
    const y = where(cond, a, b);
    expect(y.shape).toEqual([2, 3]);
    expect(y.toArray()).toEqual([0, -1, 2, 3, -2, 5]);
    expect(where(cond, 7, -7).toArray()).toEqual([7, -7, 7]);
    // f32 cond: non-zero is true, NaN is false
    expect(where(tensor([0, 2.5, NaN]), 1, 0).toArray()).toEqual([0, 1, 0]);
    // cond larger than both sides
    const big = where(new Tensor(Int32Array.of(1, 0, 0, 1), [2, 2]), tensor([1, 2]), 0);
    expect(big.shape).toEqual([2, 2]);
    expect(big.toArray()).toEqual([1, 0, 0, 2]);
  });

  it('maskedFill writes value where the mask is non-zero (mask broadcasts)', () => {
    const x = new Tensor(iota(6), [2, 3]);
    const m = new Tensor(Int32Array.of(0, 1, 1), [1, 3]);
    expect(maskedFill(x, m, -9).toArray()).toEqual([0, -9, -9, 3, -9, -9]);
    expect(maskedFill(x, new Tensor(Int32Array.of(0, 0, 0, 0, 0, 1), [2, 3]), -Infinity).toArray())
      .toEqual([0, 1, 2, 3, 4, -Infinity]);
  });

  it('where gradients flow to the chosen side only (with broadcasting)', () => {
    const shapes: [number[], number[], number[]][] = [
      [[3, 4], [3, 4], [3, 4]],
      [[4], [3, 4], [3, 1]],
      [[3, 1], [1, 4], []],
      [[2, 3, 4], [3, 4], [2, 1, 4]],
    ];
    let seed = 20;
    for (const [cs, as, bs] of shapes) {
      const c = new Tensor(Int32Array.from(uniformArr(prod(cs), seed++), (v) => (v > 0 ? 1 : 0)), cs);
      expectGradcheck(`where cond (${cs}) a (${as}) b (${bs})`, ([a, b]) => where(c, a!, b!),
        [input(uniformArr(prod(as), seed++), as), input(uniformArr(prod(bs), seed++), bs)]);
    }
    // the gradient of an element is exactly the chosen side's upstream
    const a = new Tensor(Float32Array.of(1, 2), [2], { requiresGrad: true });
    const b = new Tensor(Float32Array.of(3, 4), [2], { requiresGrad: true });
    sum(mul(where(new Tensor(Int32Array.of(1, 0), [2]), a, b), tensor([10, 20]))).backward();
    expect(a.grad!.toArray()).toEqual([10, 0]);
    expect(b.grad!.toArray()).toEqual([0, 20]);
  });

  it('maskedFill gradient is zero under the mask and upstream elsewhere', () => {
    const m = new Tensor(Int32Array.of(1, 0, 0, 1, 0), [5]);
    expectGradcheck('maskedFill (3,5) mask (5)', ([x]) => maskedFill(x!, m, -1e9).mul(1e-9).add(x!),
      [input(uniformArr(15, 30), [3, 5])]);
    expectGradcheck('maskedFill (3,5) mask (3,1)', ([x]) => maskedFill(x!, new Tensor(Int32Array.of(0, 1, 0), [3, 1]), 2.5),
      [input(uniformArr(15, 31), [3, 5])]);
  });
});

describe('05.6 layout ops do not alias their outputs to inputs (except reshape, by design)', () => {
  it('permute/slice/concat return fresh arrays', () => {
    const x = new Tensor(iota(6), [2, 3]);
    expect(permute(x, [1, 0]).data).not.toBe(x.data);
    expect(slice(x, 0, 0, 2).data).not.toBe(x.data);
    expect(concat([x], 0).data).not.toBe(x.data);
    // reshape shares values (documented: reshape of a contiguous array is free)
    expect(reshape(x, [3, 2]).data).toBe(x.data);
  });
});
