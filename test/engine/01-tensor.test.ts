/**
 * 01. Tensor and creation: construction, shapes, dtypes, copies and views, tensor()/zeros/ones/
 * full/arange, the backend actually in use.
 */
import { describe, expect, it } from 'vitest';
import { getBackend } from '../../src/backend/index.js';
import { Tensor, arange, full, ones, tensor, zeros } from '../../src/engine/index.js';

describe('01.1 the backend under test', () => {
  it('is the one SEQFAIR_BACKEND asks for (no silent fallback)', () => {
    const want = process.env.SEQFAIR_BACKEND;
    const name = getBackend().name;
    if (want === 'reference' || want === 'cpu') expect(name).toBe(want);
    else expect(['reference', 'cpu']).toContain(name);
  });
});

describe('01.2 Tensor', () => {
  it('holds row-major f32 data with a frozen shape, size and rank', () => {
    const t = new Tensor(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]);
    expect(t.shape).toEqual([2, 3]);
    expect(Object.isFrozen(t.shape)).toBe(true);
    expect(t.size).toBe(6);
    expect(t.rank).toBe(2);
    expect(t.dtype).toBe('f32');
    expect(t.requiresGrad).toBe(false);
    expect(t.grad).toBeNull();
    expect(t.node).toBeNull();
    expect(t.toArray()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('does not keep a reference to the caller shape array', () => {
    const s = [2, 3];
    const t = new Tensor(new Float32Array(6), s);
    s[0] = 7;
    expect(t.shape).toEqual([2, 3]);
  });

  it('infers i32 from an Int32Array', () => {
    const t = new Tensor(Int32Array.of(1, 2), [2]);
    expect(t.dtype).toBe('i32');
    expect(t.i32()).toBeInstanceOf(Int32Array);
    expect(() => t.f32('myop')).toThrow(/^myop: expected an f32 tensor, got i32 \(2\)/);
    const f = new Tensor(Float32Array.of(1, 2), [2]);
    expect(() => f.i32('myop')).toThrow(/^myop: expected an i32 tensor, got f32 \(2\)/);
  });

  it('a scalar has shape () and one element; item() reads it', () => {
    const t = new Tensor(Float32Array.of(2.5), []);
    expect(t.rank).toBe(0);
    expect(t.size).toBe(1);
    expect(t.item()).toBe(2.5);
    expect(new Tensor(Float32Array.of(7), [1, 1]).item()).toBe(7);
  });

  it('rejects data that does not fill the shape and invalid dims', () => {
    expect(() => new Tensor(new Float32Array(5), [2, 3])).toThrow(/tensor: 5 values do not fill shape \(2,3\) \(6 needed\)/);
    expect(() => new Tensor(new Float32Array(0), [2, -1])).toThrow(/tensor: invalid shape \(2,-1\)/);
    expect(() => new Tensor(new Float32Array(3), [1.5, 2])).toThrow(/tensor: invalid shape \(1\.5,2\)/);
  });

  it('item() on more than one element throws naming the shape', () => {
    expect(() => new Tensor(new Float32Array(6), [2, 3]).item()).toThrow(/item: tensor has shape \(2,3\)/);
  });

  it('detach() shares values but is a leaf cut from the tape', () => {
    const x = tensor([1, 2, 3], undefined, { requiresGrad: true });
    const y = x.mul(2);
    const d = y.detach();
    expect(d.data).toBe(y.data);
    expect(d.requiresGrad).toBe(false);
    expect(d.node).toBeNull();
    expect(d.shape).toEqual(y.shape);
  });

  it('clone() is a deep copy without grad', () => {
    const x = tensor([1, 2, 3], undefined, { requiresGrad: true });
    const c = x.clone();
    expect(c.data).not.toBe(x.data);
    expect(c.toArray()).toEqual([1, 2, 3]);
    expect(c.requiresGrad).toBe(false);
    c.data[0] = 9;
    expect(x.data[0]).toBe(1);
  });

  it('toString shows shape, dtype and the first values', () => {
    const s = new Tensor(Float32Array.from({ length: 10 }, (_, i) => i / 3), [2, 5]).toString();
    expect(s).toMatch(/^Tensor\(2,5\) f32 \[0, 0\.3333, 0\.6667/);
    expect(s).toMatch(/…\]$/);
  });
});

describe('01.3 tensor() and friends', () => {
  it('reads nested arrays, inferring the shape', () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.toArray()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.dtype).toBe('f32');
    const s = tensor(3.5);
    expect(s.shape).toEqual([]);
    expect(s.item()).toBe(3.5);
    const d3 = tensor([[[1], [2]], [[3], [4]]]);
    expect(d3.shape).toEqual([2, 2, 1]);
  });

  it('reads flat (or nested) arrays with an explicit shape', () => {
    expect(tensor([1, 2, 3, 4, 5, 6], [3, 2]).shape).toEqual([3, 2]);
    expect(tensor([[1, 2], [3, 4], [5, 6]], [2, 3]).toArray()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('reads typed arrays; dtype option converts', () => {
    expect(tensor(Int32Array.of(1, 2, 3)).dtype).toBe('i32');
    expect(tensor(Float32Array.of(1, 2, 3, 4), [2, 2]).shape).toEqual([2, 2]);
    const i = tensor([1.9, -2.7, 3], undefined, { dtype: 'i32' });
    expect(i.dtype).toBe('i32');
    expect(i.toArray()).toEqual([1, -2, 3]);
    const f = tensor(Int32Array.of(4, 5), undefined, { dtype: 'f32' });
    expect(f.dtype).toBe('f32');
    expect(f.toArray()).toEqual([4, 5]);
  });

  it('rounds values to f32', () => {
    expect(tensor([0.1]).data[0]).toBe(Math.fround(0.1));
  });

  it('rejects ragged arrays and size mismatches', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(/tensor: ragged nested array/);
    expect(() => tensor([[1, 2], 3] as never)).toThrow(/tensor: ragged nested array/);
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow(/tensor: 3 values do not fill shape \(2,2\)/);
  });

  it('zeros / ones / full / arange', () => {
    const z = zeros([2, 3]);
    expect(z.shape).toEqual([2, 3]);
    expect(z.toArray()).toEqual([0, 0, 0, 0, 0, 0]);
    expect(zeros([4], 'i32').dtype).toBe('i32');
    expect(ones([3]).toArray()).toEqual([1, 1, 1]);
    expect(full([2, 2], -1.5).toArray()).toEqual([-1.5, -1.5, -1.5, -1.5]);
    const a = arange(5);
    expect(a.dtype).toBe('i32');
    expect(a.toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(zeros([0, 3]).size).toBe(0);
  });

  it('requiresGrad option makes a leaf that requires grad', () => {
    const t = tensor([1, 2], undefined, { requiresGrad: true });
    expect(t.requiresGrad).toBe(true);
    expect(t.node).toBeNull();
  });
});
