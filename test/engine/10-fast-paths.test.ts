/**
 * 10. The engine's fast loops against their definitions, bit for bit.
 *
 * Elementwise, broadcast, reduce, where and layout ops pick a loop by pattern (same shape, scalar,
 * bias suffix, column (B,L,1), leading or middle broadcast, general). Each pattern is checked
 * here against a naive definition that indexes every element, on many random shape pairs of rank
 * 0-4 (both operand orders) and on named patterns, with exact equality: every element is one
 * double-precision operation rounded to f32, and broadcast gradients add their terms in row-major
 * order of the output, rounded to f32 after each addition (a single-element target sums in
 * doubles). A fast path that reads the wrong element, or sums in another order, fails.
 * The tape's copy-on-write gradients are checked last.
 */
import { describe, expect, it } from 'vitest';
import {
  Tensor, add, div, grad, mul, permute, reshape, result, sub, sum, transpose, where,
} from '../../src/engine/index.js';
import { broadcastBinary, expand, reduceToShape, ADD, MUL } from '../../src/engine/ops/broadcast.js';
import { collapse } from '../../src/engine/shape.js';
import { expectExact, prod, ravelBroadcast, rng, strides, uniformArr, unravel, awayFromZero } from './util.js';

function broadcastShape(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => {
    const da = a[a.length - n + i] ?? 1, db = b[b.length - n + i] ?? 1;
    return da === 1 ? db : da;
  });
}

/** a random output shape (rank 0-4) and an operand shape broadcasting to it */
function randomOperand(r: () => number, out: number[]): number[] {
  const rank = Math.floor(r() * (out.length + 1));
  return out.slice(out.length - rank).map((d) => (r() < 0.4 ? 1 : d));
}

function randomPairs(count: number, seed: number): [number[], number[]][] {
  const r = rng(seed);
  const sizes = [1, 2, 3, 4, 7];
  const pairs: [number[], number[]][] = [];
  for (let k = 0; k < count; k++) {
    const out = Array.from({ length: Math.floor(r() * 5) }, () => sizes[Math.floor(r() * sizes.length)]!);
    pairs.push([randomOperand(r, out), randomOperand(r, out)]);
  }
  return pairs;
}

/** every broadcast pattern by name, each also tried with the operands swapped */
const named: [string, number[], number[]][] = [
  ['same shape', [3, 5], [3, 5]],
  ['same rank 4', [2, 3, 1, 5], [2, 3, 1, 5]],
  ['scalar', [3, 5], []],
  ['scalar vs scalar', [], []],
  ['one-element with rank', [2, 3, 5], [1, 1]],
  ['bias suffix', [4, 3, 5], [5]],
  ['longer suffix', [4, 3, 5], [3, 5]],
  ['column (B,L,1)', [4, 3, 5], [4, 3, 1]],
  ['leading broadcast (1,L,D)', [4, 3, 5], [1, 3, 5]],
  ['middle broadcast', [4, 3, 5], [4, 1, 5]],
  ['middle kept, ends broadcast', [4, 3, 5], [1, 3, 1]],
  ['outer product', [3, 1], [1, 4]],
  ['both broadcast rank 3', [2, 1, 3], [1, 4, 1]],
  ['both broadcast rank 4', [2, 1, 3, 1], [1, 4, 1, 5]],
  ['size-1 output axes', [1, 3, 1, 5], [1, 1, 1, 5]],
  ['column rank 4', [2, 3, 4, 5], [2, 3, 4, 1]],
  ['empty output', [0, 3], [3]],
  ['empty broadcast axis', [2, 0, 3], [2, 1, 3]],
];

const allPairs: [string, number[], number[]][] = [
  ...named.flatMap(([n, a, b]): [string, number[], number[]][] => [[n, a, b], [`${n} (swapped)`, b, a]]),
  ...randomPairs(150, 77).map(([a, b], i): [string, number[], number[]] => [`random ${i}`, a, b]),
];

const ops: [string, (a: Tensor, b: Tensor) => Tensor, (x: number, y: number) => number,
  (g: number, x: number, y: number) => number, (g: number, x: number, y: number) => number][] = [
  ['add', add, (x, y) => x + y, (g) => g, (g) => g],
  ['sub', sub, (x, y) => x - y, (g) => g, (g) => -g],
  ['mul', mul, (x, y) => x * y, (g, _x, y) => g * y, (g, x) => g * x],
  ['div', div, (x, y) => x / y, (g, _x, y) => g / y, (g, x, y) => (-g * x) / (y * y)],
];

/** index of each output element in an operand of shape s */
function indexMap(s: number[], out: number[]): number[] {
  return Array.from({ length: prod(out) }, (_, i) => ravelBroadcast(unravel(i, out), s));
}

/** sums per-output-element terms into `size` slots: f32 after each add; one slot sums in doubles */
function naiveReduce(terms: Float32Array, map: number[], size: number): Float32Array {
  const r = new Float32Array(size);
  if (size === 1) {
    let s = 0;
    for (const t of terms) s += t;
    r[0] = s;
    return r;
  }
  terms.forEach((t, i) => { r[map[i]!]! += t; });
  return r;
}

describe('10.1 binary ops: every broadcast pattern, forward and backward, bit for bit', () => {
  for (const [name, op, f, da, db] of ops) {
    it(`${name}`, () => {
      let seed = 1;
      for (const [label, as, bs] of allPairs) {
        const out = broadcastShape(as, bs);
        const av = uniformArr(prod(as), seed++);
        const bv = name === 'div' ? awayFromZero(prod(bs), seed++) : uniformArr(prod(bs), seed++);
        const g = uniformArr(prod(out), seed++);
        const ai = indexMap(as, out), bi = indexMap(bs, out);
        const a = new Tensor(av, as, { requiresGrad: true }), b = new Tensor(bv, bs, { requiresGrad: true });
        const y = op(a, b);
        expect(y.shape, label).toEqual(out);
        expectExact(y.f32(), Float32Array.from(ai, (j, i) => f(av[j]!, bv[bi[i]!]!)), `${name} ${label}: forward`);
        const [ga, gb] = grad(y, [a, b], g);
        const ta = Float32Array.from(ai, (j, i) => da(g[i]!, av[j]!, bv[bi[i]!]!));
        const tb = Float32Array.from(ai, (j, i) => db(g[i]!, av[j]!, bv[bi[i]!]!));
        expectExact(ga!.f32(), naiveReduce(ta, ai, av.length), `${name} ${label}: grad a`);
        expectExact(gb!.f32(), naiveReduce(tb, bi, bv.length), `${name} ${label}: grad b`);
      }
    });
  }

  it('only the side that needs a gradient gets one (the other is never computed)', () => {
    const a = new Tensor(uniformArr(15, 1), [3, 5], { requiresGrad: true });
    const m = new Tensor(uniformArr(3, 2), [3, 1]);
    const [ga] = grad(mul(a, m), [a], uniformArr(15, 3));
    expect(ga!.shape).toEqual([3, 5]);
  });
});

describe('10.2 broadcast helpers against their definitions', () => {
  it('collapse merges axes that step together and drops size-1 axes', () => {
    expect(collapse([4, 3, 5], [[4, 3, 5], [4, 3, 1]])).toEqual({ dims: [12, 5], strides: [[5, 1], [1, 0]] });
    expect(collapse([4, 3, 5], [[4, 3, 5], [5]])).toEqual({ dims: [12, 5], strides: [[5, 1], [0, 1]] });
    expect(collapse([4, 3, 5], [[4, 3, 5], [4, 3, 5]])).toEqual({ dims: [60], strides: [[1], [1]] });
    expect(collapse([1, 3, 1], [[1, 3, 1], []])).toEqual({ dims: [3], strides: [[1], [0]] });
    expect(collapse([], [[], []])).toEqual({ dims: [], strides: [[], []] });
    expect(collapse([2, 3, 4], [[2, 1, 4]])).toEqual({ dims: [2, 3, 4], strides: [[4, 0, 1]] });
  });

  it('broadcastBinary (both orders), expand and reduceToShape on every pattern', () => {
    let seed = 500;
    for (const [label, as, bs] of allPairs) {
      const out = broadcastShape(as, bs);
      const av = uniformArr(prod(as), seed++), bv = uniformArr(prod(bs), seed++);
      const ai = indexMap(as, out), bi = indexMap(bs, out);
      expectExact(broadcastBinary(MUL, av, as, bv, bs, out), Float32Array.from(ai, (j, i) => av[j]! * bv[bi[i]!]!), `mul ${label}`);
      expectExact(broadcastBinary(ADD, bv, bs, av, as, out), Float32Array.from(ai, (j, i) => bv[bi[i]!]! + av[j]!), `add swapped ${label}`);
      expectExact(expand(av, as, out), Float32Array.from(ai, (j) => av[j]!), `expand ${label}`);
      const g = uniformArr(prod(out), seed++);
      expectExact(reduceToShape(g, out, as), naiveReduce(g, ai, av.length), `reduce ${label}`);
    }
  });

  it('reduceToShape sums a column run with f32 rounding after every term', () => {
    // 1 + 2^-24 + 2^-24 is 1 in f32 step by step, 1 + 2^-23 in one double sum
    const g = Float32Array.of(1, 2 ** -24, 2 ** -24, 1, 2 ** -24, 2 ** -24);
    expectExact(reduceToShape(g, [2, 3], [2, 1]), [1, 1]);
    expectExact(reduceToShape(g, [2, 3], [1, 3]), [2, 2 ** -23, 2 ** -23]);
    expectExact(reduceToShape(g, [2, 3], []), [2 + 2 ** -22]);
  });
});

/** all permutations of 0..n-1 */
function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

describe('10.3 permute: row copies and blocked transposes against index arithmetic', () => {
  const shapes = [[], [5], [1, 1], [3, 4], [17, 35], [33, 1, 18], [2, 3, 4], [3, 1, 20, 17], [2, 3, 4, 5], [2, 50, 2, 16]];
  it('every permutation of every shape, forward and gradient, f32 and i32', () => {
    let seed = 900;
    for (const shape of shapes) {
      const n = prod(shape);
      const xv = uniformArr(n, seed++);
      const st = strides(shape);
      for (const dims of permutations(shape.length)) {
        const outShape = dims.map((d) => shape[d]!);
        const src = Array.from({ length: n }, (_, i) => {
          const idx = unravel(i, outShape);
          return dims.reduce((j, d, k) => j + idx[k]! * st[d]!, 0);
        });
        const x = new Tensor(xv, shape, { requiresGrad: true });
        const y = permute(x, dims);
        expect(y.shape).toEqual(outShape);
        expectExact(y.f32(), src.map((j) => xv[j]!), `permute ${shape} by ${dims}`);
        const g = uniformArr(n, seed++);
        const want = new Float32Array(n);
        src.forEach((j, i) => { want[j] = g[i]!; });
        expectExact(grad(y, [x], g)[0]!.f32(), want, `permute ${shape} by ${dims}: gradient`);
        const xi = new Tensor(Int32Array.from(src, (_, i) => i), shape);
        expectExact(permute(xi, dims).data, src.map((j) => j), `i32 permute ${shape} by ${dims}`);
      }
    }
  });

  it('transpose of the last two axes crosses tile edges correctly', () => {
    const x = new Tensor(uniformArr(3 * 37 * 21, 5), [3, 37, 21]);
    const y = transpose(x);
    const xv = x.f32(), yv = y.f32();
    for (let b = 0; b < 3; b++) {
      for (let i = 0; i < 37; i++) for (let j = 0; j < 21; j++) expect(yv[(b * 21 + j) * 37 + i]).toBe(xv[(b * 37 + i) * 21 + j]);
    }
  });
});

describe('10.4 where on every broadcast pattern, forward and gradients, bit for bit', () => {
  it('random condition, a and b shapes', () => {
    const r = rng(31);
    let seed = 1300;
    const pairs = randomPairs(120, 99);
    for (const [as, bs] of pairs) {
      const base = broadcastShape(as, bs);
      const cs = randomOperand(r, base);
      const out = broadcastShape(base, cs);
      const cv = Int32Array.from({ length: prod(cs) }, () => (r() < 0.5 ? 1 : 0));
      const av = uniformArr(prod(as), seed++), bv = uniformArr(prod(bs), seed++);
      const ci = indexMap(cs, out), ai = indexMap(as, out), bi = indexMap(bs, out);
      const a = new Tensor(av, as, { requiresGrad: true }), b = new Tensor(bv, bs, { requiresGrad: true });
      const y = where(new Tensor(cv, cs), a, b);
      expect(y.shape).toEqual(out);
      expectExact(y.f32(), ci.map((c, i) => (cv[c] ? av[ai[i]!]! : bv[bi[i]!]!)), `where ${cs} ${as} ${bs}`);
      const g = uniformArr(prod(out), seed++);
      const ga = new Float32Array(av.length), gb = new Float32Array(bv.length);
      ci.forEach((c, i) => { if (cv[c]) ga[ai[i]!]! += g[i]!; else gb[bi[i]!]! += g[i]!; });
      const [gA, gB] = grad(y, [a, b], g);
      expectExact(gA!.f32(), ga, `where grad a ${cs} ${as} ${bs}`);
      expectExact(gB!.f32(), gb, `where grad b ${cs} ${as} ${bs}`);
    }
  });

  it('an f32 condition treats NaN as false', () => {
    const y = where(new Tensor(Float32Array.of(NaN, 0, 2, -1), [4]), 1, 0);
    expect(y.toArray()).toEqual([0, 0, 1, 1]);
  });
});

describe('10.5 sum over an axis: contiguous loops, each output summed in doubles in order', () => {
  it('every axis of rank 1-4 shapes, forward and gradient', () => {
    let seed = 2000;
    for (const shape of [[7], [3, 5], [1, 4], [4, 1], [2, 3, 4], [2, 3, 4, 5]]) {
      const xv = uniformArr(prod(shape), seed++, -3, 3);
      for (let axis = 0; axis < shape.length; axis++) {
        const outShape = shape.filter((_, d) => d !== axis);
        const acc = new Float64Array(prod(outShape));
        const keptIdx = (i: number) => { const idx = unravel(i, shape); idx.splice(axis, 1); return idx.reduce((j, v, d) => j + v * strides(outShape)[d]!, 0); };
        for (let i = 0; i < xv.length; i++) acc[keptIdx(i)]! += xv[i]!;
        const x = new Tensor(xv, shape, { requiresGrad: true });
        const y = sum(x, axis);
        expectExact(y.f32(), Float32Array.from(acc), `sum ${shape} axis ${axis}`);
        const g = uniformArr(acc.length, seed++);
        expectExact(grad(y, [x], g)[0]!.f32(), Float32Array.from({ length: xv.length }, (_, i) => g[keptIdx(i)]!), `sum grad ${shape} axis ${axis}`);
      }
    }
  });
});

describe('10.6 copy-on-write gradients on the tape', () => {
  it('a node that returns the same captured array every time: it is never written', () => {
    const C = Float32Array.of(1, 2, 3);
    const x = new Tensor(Float32Array.of(0, 0, 0), [3], { requiresGrad: true });
    const viaConst = (t: Tensor) => result(t.f32().slice(), [3], 'constGrad', [t], () => [C]);
    // x gets C twice (accumulation) and once more from a plain add
    const y = add(add(viaConst(x), viaConst(x)), x);
    y.backward(Float32Array.of(1, 1, 1));
    expect(Array.from(C)).toEqual([1, 2, 3]);
    expect(x.grad!.toArray()).toEqual([3, 5, 7]);
    y.backward(Float32Array.of(1, 1, 1));
    expect(Array.from(C)).toEqual([1, 2, 3]);
    expect(x.grad!.toArray()).toEqual([6, 10, 14]);
  });

  it('one array handed to two inputs (add of equal shapes) is not shared afterwards', () => {
    const x = new Tensor(Float32Array.of(1, 2), [2], { requiresGrad: true });
    const w = new Tensor(Float32Array.of(3, 4), [2], { requiresGrad: true });
    // add(x, w) hands one array to x and w (its gradOut, owned by the tape after the negs); x
    // and w then also get x·w's gradients, in either order of the two branches: accumulating
    // into a shared array would leak one input's gradient into the other's
    for (const y of [add(add(x, w).neg().neg(), mul(x, w)), add(mul(x, w), add(x, w).neg().neg())]) {
      const [gx, gw] = grad(y, [x, w], Float32Array.of(1, 1));
      expect(gx!.toArray()).toEqual([4, 5]);
      expect(gw!.toArray()).toEqual([2, 3]);
    }
    const z = add(x, x);
    z.backward(Float32Array.of(1, 10));
    expect(x.grad!.toArray()).toEqual([2, 20]);
  });

  it('a pass-through gradient of a requested intermediate is not modified by later accumulation', () => {
    const x = new Tensor(Float32Array.of(1, 2, 3, 4), [2, 2], { requiresGrad: true });
    const r = reshape(x, [4]);
    const y = add(r, reshape(x, [4]));
    const seed = Float32Array.of(1, 2, 3, 4);
    const [gr, gx] = grad(y, [r, x], seed);
    expect(gr!.toArray()).toEqual([1, 2, 3, 4]);
    expect(gx!.toArray()).toEqual([2, 4, 6, 8]);
    expect(Array.from(seed)).toEqual([1, 2, 3, 4]);
  });

  it('the seed is neither written nor kept as a leaf gradient', () => {
    const x = new Tensor(Float32Array.of(1, 2), [2], { requiresGrad: true });
    const seed = Float32Array.of(5, 6);
    reshape(x, [2, 1]).backward(seed);
    x.grad!.f32()[0] = 100;
    expect(Array.from(seed)).toEqual([5, 6]);
    reshape(x, [2]).backward(seed);
    expect(Array.from(seed)).toEqual([5, 6]);
    expect(x.grad!.toArray()).toEqual([105, 12]);
  });
});
