/**
 * 03. Elementwise ops with NumPy broadcasting: forward values against plain JS (every broadcast
 * path: same shape, scalar either side, trailing-suffix either side, general odometer, both sides
 * broadcast), and finite-difference gradients of every op on small odd shapes.
 * Gradcheck tolerances: see gradcheck.ts (h 1e-2, rtol 1e-2, atol 1e-3 unless stated).
 */
import { describe, expect, it } from 'vitest';
import {
  Tensor, add, div, exp, gelu, log, mul, neg, relu, sigmoid, sqrt, square, sub, tanh, tensor,
} from '../../src/engine/index.js';
import { expectGradcheck, input } from './gradcheck.js';
import { awayFromZero, expectClose, prod, ravelBroadcast, unravel, uniformArr } from './util.js';

type Bin = (a: Tensor | number, b: Tensor | number) => Tensor;
const binaries: [string, Bin, (x: number, y: number) => number][] = [
  ['add', add, (x, y) => x + y],
  ['sub', sub, (x, y) => x - y],
  ['mul', mul, (x, y) => x * y],
  ['div', div, (x, y) => x / y],
];

/** broadcast shape pairs covering every path of broadcastBinary / reduceToShape */
const shapePairs: [number[], number[]][] = [
  [[3, 5], [3, 5]], // same shape
  [[3, 5], []], // scalar right
  [[], [3, 5]], // scalar left
  [[3, 5], [1]], // one-element right with a rank
  [[2, 3, 5], [5]], // trailing suffix right (bias)
  [[5], [2, 3, 5]], // trailing suffix left
  [[2, 3, 5], [3, 5]], // longer suffix
  [[3, 1, 5], [4, 5]], // general: both broadcast
  [[3, 1], [1, 4]], // outer product
  [[2, 1, 3], [1, 4, 1]], // general, rank 3
  [[2, 3, 5], [2, 1, 5]], // middle axis
  [[2, 3, 5], [1, 3, 1]], // middle kept, ends broadcast
  [[1, 3, 5], [3, 5]], // leading one
];

function broadcastShape(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => {
    const da = a[a.length - n + i] ?? 1, db = b[b.length - n + i] ?? 1;
    return da === 1 ? db : da;
  });
}

/** the broadcast op written the obvious way: index every output element */
function naiveBinary(a: Float32Array, as: number[], b: Float32Array, bs: number[], f: (x: number, y: number) => number) {
  const out = broadcastShape(as, bs);
  const y = new Float32Array(prod(out));
  for (let i = 0; i < y.length; i++) {
    const idx = unravel(i, out);
    y[i] = f(a[ravelBroadcast(idx, as)]!, b[ravelBroadcast(idx, bs)]!);
  }
  return { y, out };
}

describe('03.1 binary forward with broadcasting', () => {
  for (const [name, op, f] of binaries) {
    it(`${name}: every broadcast path matches the indexed definition`, () => {
      let seed = 10;
      for (const [as, bs] of shapePairs) {
        const a = uniformArr(prod(as), seed++);
        const b = name === 'div' ? awayFromZero(prod(bs), seed++) : uniformArr(prod(bs), seed++);
        const got = op(new Tensor(a, as), new Tensor(b, bs));
        const want = naiveBinary(a, as, b, bs, f);
        expect(got.shape, `${name} ${as} ${bs}: shape`).toEqual(want.out);
        expectClose(got.f32(), want.y, { rtol: 0, atol: 0 }, `${name} (${as}) (${bs})`);
      }
    });
  }

  it('numbers on either side act as scalars', () => {
    const x = tensor([1, 2, 4]);
    expect(add(x, 1).toArray()).toEqual([2, 3, 5]);
    expect(sub(1, x).toArray()).toEqual([0, -1, -3]);
    expect(mul(2, x).toArray()).toEqual([2, 4, 8]);
    expect(div(x, 2).toArray()).toEqual([0.5, 1, 2]);
    expect(div(1, x).toArray()).toEqual([1, 0.5, 0.25]);
    expect(x.add(1).sub(2).mul(3).div(4).toArray()).toEqual([0, 0.75, 2.25]);
  });

  it('a scalar op scalar gives shape ()', () => {
    expect(add(tensor(2), tensor(3)).shape).toEqual([]);
  });

  it('inputs are not modified', () => {
    const a = tensor([1, 2, 3]), b = tensor([4, 5, 6]);
    mul(a, b);
    expect(a.toArray()).toEqual([1, 2, 3]);
    expect(b.toArray()).toEqual([4, 5, 6]);
  });
});

describe('03.2 unary forward', () => {
  const x = Float32Array.of(-3, -1.25, -0.5, 0, 0.25, 1, 2.5);
  const pos = Float32Array.of(0.01, 0.3, 1, 2, 9);
  const cases: [string, (t: Tensor) => Tensor, (v: number) => number, Float32Array][] = [
    ['neg', neg, (v) => -v, x],
    ['exp', exp, Math.exp, x],
    ['log', log, Math.log, pos],
    ['sqrt', sqrt, Math.sqrt, pos],
    ['square', square, (v) => v * v, x],
    ['tanh', tanh, Math.tanh, x],
    ['sigmoid', sigmoid, (v) => 1 / (1 + Math.exp(-v)), x],
    ['relu', relu, (v) => Math.max(0, v), x],
  ];
  for (const [name, op, f, vals] of cases) {
    it(`${name} matches Math on f32 inputs`, () => {
      const y = op(new Tensor(vals, [vals.length]));
      expect(y.shape).toEqual([vals.length]);
      expectClose(y.f32(), Array.from(vals, (v) => Math.fround(f(v))), { rtol: 2e-7, atol: 1e-30 }, name);
    });
  }

  it('sigmoid is finite and saturates without overflow at ±100', () => {
    const y = sigmoid(tensor([-100, 100, -800]));
    expect(y.toArray()[1]).toBe(1);
    expect(y.toArray()[0]).toBeGreaterThanOrEqual(0);
    expect(y.toArray()[0]).toBeLessThan(1e-40);
    expect(y.toArray().every(Number.isFinite)).toBe(true);
  });

  it('gelu is the exact erf form x·Φ(x) (known values)', () => {
    // x·Φ(x) with Φ from high-precision tables
    const xs = [-3, -1, 0, 0.5, 1, 2];
    const want = [-0.0040496940948904, -0.15865525393145707, 0, 0.34573123063700656, 0.8413447460685429, 1.9544997361036416];
    expectClose(gelu(tensor(xs)).f32(), want, { rtol: 1e-6, atol: 1e-7 }, 'gelu');
  });

  it('tensor methods are sugar for the op functions', () => {
    const t = tensor([0.5, 1.5]);
    expect(t.exp().toArray()).toEqual(exp(t).toArray());
    expect(t.tanh().toArray()).toEqual(tanh(t).toArray());
    expect(t.gelu().toArray()).toEqual(gelu(t).toArray());
    expect(t.sqrt().toArray()).toEqual(sqrt(t).toArray());
    expect(t.neg().toArray()).toEqual([-0.5, -1.5]);
  });
});

describe('03.3 gradients of binary ops (finite differences, every broadcast path)', () => {
  for (const [name, op] of binaries) {
    it(`${name}`, () => {
      let seed = 100;
      for (const [as, bs] of shapePairs) {
        const a = uniformArr(prod(as), seed++);
        // div: the denominator stays away from 0 (|b| >= 0.5) so the step does not cross a pole
        const b = name === 'div' ? awayFromZero(prod(bs), seed++, 0.5, 1.5) : uniformArr(prod(bs), seed++);
        expectGradcheck(`${name} (${as}) x (${bs})`, ([x, y]) => op(x!, y!), [input(a, as), input(b, bs)]);
      }
    });
  }

  it('with a number operand only the tensor side gets a gradient', () => {
    expectGradcheck('div(2, x)', ([x]) => div(2, x!), [input(awayFromZero(7, 3, 0.5), [7])]);
    expectGradcheck('sub(x, 3)', ([x]) => sub(x!, 3), [input(uniformArr(7, 4), [7])]);
  });

  it('one side constant (no requiresGrad)', () => {
    expectGradcheck('mul(x, c) with c constant', ([x, c]) => mul(x!, c!),
      [input(uniformArr(15, 5), [3, 5]), input(uniformArr(5, 6), [5], false)]);
  });
});

describe('03.4 gradients of unary ops (finite differences)', () => {
  const shape = [3, 5];
  const n = prod(shape);
  const cases: [string, (t: Tensor) => Tensor, Float32Array, number][] = [
    ['neg', neg, uniformArr(n, 1, -2, 2), 1e-2],
    ['exp', exp, uniformArr(n, 2, -2, 2), 1e-2],
    ['log (positive inputs)', log, uniformArr(n, 3, 0.3, 3), 1e-3],
    ['sqrt (positive inputs)', sqrt, uniformArr(n, 4, 0.3, 3), 1e-3],
    ['square', square, uniformArr(n, 5, -2, 2), 1e-2],
    ['tanh', tanh, uniformArr(n, 6, -2, 2), 1e-2],
    ['sigmoid', sigmoid, uniformArr(n, 7, -4, 4), 1e-2],
    ['relu (away from the kink)', relu, awayFromZero(n, 8, 0.1, 2), 1e-2],
    ['gelu', gelu, uniformArr(n, 9, -3, 3), 1e-2],
  ];
  for (const [name, op, data, h] of cases) {
    it(`${name}`, () => {
      expectGradcheck(name, ([x]) => op(x!), [input(data, shape)], { h });
    });
  }

  it('composites: x·sigmoid(x) − log(1 + x²) on a (2,3,5) tensor', () => {
    expectGradcheck('composite', ([x]) => sub(mul(x!, sigmoid(x!)), log(add(square(x!), 1))),
      [input(uniformArr(30, 10, -2, 2), [2, 3, 5])]);
  });
});
