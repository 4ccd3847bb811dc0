/**
 * 04. Reductions: sum, mean (over one axis, several axes, all; keepDims both), max over an axis
 * (gradient to the maximum), argmax. Forward values against plain loops, and finite-difference
 * gradients (max on distinct values spaced 0.1 apart, far more than 2h).
 */
import { describe, expect, it } from 'vitest';
import { Tensor, argmax, max, mean, sum, tensor } from '../../src/engine/index.js';
import { expectGradcheck, input } from './gradcheck.js';
import { distinctArr, expectClose, prod, strides, unravel, uniformArr } from './util.js';

/** reduce `x` of `shape` over `axes` with `f` (naive: visit every element) */
function naiveReduce(x: Float32Array, shape: number[], axes: number[], init: number, f: (acc: number, v: number) => number,
  keepDims: boolean): { y: number[]; shape: number[] } {
  const keptShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const y = new Array<number>(prod(keptShape)).fill(init);
  const ks = strides(keptShape);
  for (let i = 0; i < x.length; i++) {
    const idx = unravel(i, shape);
    let j = 0;
    idx.forEach((v, d) => { j += (axes.includes(d) ? 0 : v) * ks[d]!; });
    y[j] = f(y[j]!, x[i]!);
  }
  return { y, shape: keepDims ? keptShape : shape.filter((_, i) => !axes.includes(i)) };
}

const shape = [3, 4, 5];
const xv = uniformArr(prod(shape), 1, -2, 2);
const axisCases: (number | number[] | undefined)[] = [0, 1, 2, -1, [0, 2], [2, 0], [-3, 1], [0, 1, 2], undefined];
const toAxes = (a: number | number[] | undefined) =>
  a === undefined ? [0, 1, 2] : (Array.isArray(a) ? a : [a]).map((v) => (v < 0 ? v + 3 : v));

describe('04.1 sum and mean forward', () => {
  for (const axis of axisCases) {
    for (const keepDims of [false, true]) {
      it(`axis ${JSON.stringify(axis)} keepDims ${keepDims}`, () => {
        const x = new Tensor(xv, shape);
        const want = naiveReduce(xv, shape, toAxes(axis), 0, (a, v) => a + v, keepDims);
        const s = sum(x, axis, keepDims);
        expect(s.shape).toEqual(want.shape);
        expectClose(s.f32(), want.y, { rtol: 1e-6, atol: 1e-6 }, 'sum');
        const count = toAxes(axis).reduce((p, a) => p * shape[a]!, 1);
        const m = mean(x, axis, keepDims);
        expect(m.shape).toEqual(want.shape);
        expectClose(m.f32(), want.y.map((v) => v / count), { rtol: 1e-6, atol: 1e-6 }, 'mean');
      });
    }
  }

  it('sum of everything is a scalar of shape (); methods are sugar', () => {
    const x = tensor([[1, 2], [3, 4]]);
    expect(sum(x).shape).toEqual([]);
    expect(sum(x).item()).toBe(10);
    expect(x.sum().item()).toBe(10);
    expect(x.mean().item()).toBe(2.5);
    expect(x.sum(0).toArray()).toEqual([4, 6]);
    expect(x.mean(1, true).shape).toEqual([2, 1]);
    expect(x.mean(1, true).toArray()).toEqual([1.5, 3.5]);
  });

  it('sum accumulates in better than f32 (1e8 + many ones)', () => {
    const v = new Float32Array(1001).fill(1);
    v[0] = 1e8;
    // a naive f32 accumulator would stay at 1e8 (ulp 8); double gives 1e8 + 1000
    expect(sum(new Tensor(v, [1001])).item()).toBe(Math.fround(1e8 + 1000));
  });
});

describe('04.2 max and argmax forward', () => {
  const dv = distinctArr(prod(shape), 2);
  for (const axis of [0, 1, 2, -1]) {
    it(`axis ${axis}`, () => {
      const x = new Tensor(dv, shape);
      const ax = axis < 0 ? axis + 3 : axis;
      const want = naiveReduce(dv, shape, [ax], -Infinity, Math.max, false);
      const m = max(x, axis);
      expect(m.shape).toEqual(want.shape);
      expectClose(m.f32(), want.y, { rtol: 0, atol: 0 }, 'max');
      expect(max(x, axis, true).shape).toEqual(shape.map((d, i) => (i === ax ? 1 : d)));
      const am = argmax(x, axis);
      expect(am.dtype).toBe('i32');
      expect(am.shape).toEqual(want.shape);
      // the value at the arg-max is the max
      const st = strides(shape);
      for (let o = 0; o < am.size; o++) {
        const outIdx = unravel(o, want.shape);
        const full = [...outIdx];
        full.splice(ax, 0, am.i32()[o]!);
        const flat = full.reduce((p, v, d) => p + v * st[d]!, 0);
        expect(dv[flat]).toBe(m.f32()[o]);
      }
    });
  }

  it('ties go to the first maximum (value and gradient)', () => {
    const x = new Tensor(Float32Array.of(1, 3, 3, 2, 5, 5, 5, 0), [2, 4], { requiresGrad: true });
    expect(argmax(x, 1).toArray()).toEqual([1, 0]);
    const m = max(x, 1);
    expect(m.toArray()).toEqual([3, 5]);
    m.backward(Float32Array.of(1, 1));
    expect(x.grad!.toArray()).toEqual([0, 1, 0, 0, 1, 0, 0, 0]);
  });

  it('argmax works on i32 tensors and keeps dims on request', () => {
    const t = new Tensor(Int32Array.of(4, 9, 2, 7, 7, 8), [2, 3]);
    expect(argmax(t, 1).toArray()).toEqual([1, 2]);
    expect(argmax(t, 0, true).shape).toEqual([1, 3]);
    expect(argmax(t, 0).toArray()).toEqual([1, 0, 1]);
  });
});

describe('04.3 gradients (finite differences)', () => {
  const small = [3, 4, 5];
  it('sum over each axis, several axes, all; keepDims both', () => {
    for (const axis of axisCases) {
      for (const keepDims of [false, true]) {
        expectGradcheck(`sum axis ${JSON.stringify(axis)} keep ${keepDims}`, ([x]) => sum(x!, axis, keepDims),
          [input(uniformArr(prod(small), 3), small)]);
      }
    }
  });

  it('mean over each axis, several axes, all; keepDims both', () => {
    for (const axis of axisCases) {
      for (const keepDims of [false, true]) {
        expectGradcheck(`mean axis ${JSON.stringify(axis)} keep ${keepDims}`, ([x]) => mean(x!, axis, keepDims),
          [input(uniformArr(prod(small), 4), small)]);
      }
    }
  });

  it('max over each axis on distinct values; keepDims both', () => {
    for (const axis of [0, 1, 2, -2]) {
      for (const keepDims of [false, true]) {
        expectGradcheck(`max axis ${axis} keep ${keepDims}`, ([x]) => max(x!, axis, keepDims),
          [input(distinctArr(prod(small), 5 + axis), small)]);
      }
    }
  });

  it('reductions inside a composite (softmax-like normalisation)', () => {
    expectGradcheck('x / sum(x, -1, keep) - mean(x, 0)', ([x]) => x!.div(sum(x!, -1, true)).sub(mean(x!, 0)),
      [input(uniformArr(15, 6, 0.5, 2), [3, 5])]);
  });
});
