/**
 * 02. Autograd semantics: accumulation into leaf .grad, zeroGrad, grad(out, [z]) (gradients of
 * chosen tensors only, no .grad touched, no backward off the path), fan-out, noGrad, detach,
 * seeds, i32 leaves, deep chains; and a self-test that the gradient checker can fail.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getBackend } from '../../src/backend/index.js';
import {
  Tensor, add, embedding, grad, isGradEnabled, linear, mul, noGrad, reshape, result, square, sum, tanh, tensor,
} from '../../src/engine/index.js';
import { expectGradcheck, gradcheck, input } from './gradcheck.js';
import { expectClose, intArr, uniformArr } from './util.js';

afterEach(() => {
  vi.restoreAllMocks();
});

const leaf = (data: ArrayLike<number>, shape: number[]) => new Tensor(Float32Array.from(data), shape, { requiresGrad: true });

describe('02.1 backward() into leaf .grad', () => {
  it('a scalar root needs no seed; grads land on every leaf that requires grad', () => {
    const x = leaf([1, 2, 3], [3]);
    const c = tensor([4, 5, 6]);
    const y = sum(mul(x, c));
    expect(y.requiresGrad).toBe(true);
    expect(y.node?.op).toBe('sum');
    y.backward();
    expect(x.grad!.toArray()).toEqual([4, 5, 6]);
    expect(x.grad!.shape).toEqual([3]);
    expect(c.grad).toBeNull();
  });

  it('accumulates across two backward calls (same graph and a rebuilt graph); zeroGrad clears', () => {
    const x = leaf([1, -2, 0.5], [3]);
    const build = () => sum(square(x)); // d/dx = 2x
    const y = build();
    y.backward();
    expectClose(x.grad!.f32(), [2, -4, 1]);
    y.backward(); // the tape is not consumed by a backward pass
    expectClose(x.grad!.f32(), [4, -8, 2]);
    build().backward();
    expectClose(x.grad!.f32(), [6, -12, 3]);
    x.zeroGrad();
    expect(x.grad).toBeNull();
    build().backward();
    expectClose(x.grad!.f32(), [2, -4, 1]);
  });

  it('a tensor used twice receives the sum of both paths', () => {
    const x = leaf([0.5, -1.5, 2], [3]);
    // y = x·x + x + tanh(x):  dy/dx = 2x + 1 + (1 - tanh²x)
    sum(add(add(mul(x, x), x), tanh(x))).backward();
    const want = [0.5, -1.5, 2].map((v) => 2 * v + 1 + 1 - Math.tanh(v) ** 2);
    expectClose(x.grad!.f32(), want, { rtol: 1e-6 });
    // the same input on both sides of one node
    const z = leaf([3, -1], [2]);
    sum(add(z, z)).backward();
    expect(z.grad!.toArray()).toEqual([2, 2]);
  });

  it('large fan-out sums (the backend path, ≥ 32,768 values) equal the elementwise sum of the paths', () => {
    const n = 40_000;
    const xs = uniformArr(n, 11);
    for (const through of ['leaf', 'intermediate'] as const) {
      const x = leaf(xs, [n]);
      // an intermediate h = tanh(x) feeding three consumers: dL/dh = 2h + 1 + 3, dL/dx = that · (1 − h²)
      const h = through === 'leaf' ? x : tanh(x);
      sum(add(add(mul(h, h), h), mul(h, 3))).backward();
      const want = Array.from(xs, (v) => {
        const hv = through === 'leaf' ? v : Math.tanh(v);
        return (2 * hv + 4) * (through === 'leaf' ? 1 : 1 - hv * hv);
      });
      expectClose(x.grad!.f32(), want, { rtol: 1e-5, atol: 1e-6 });
    }
  });

  it('diamond graphs are walked once per node (each path counted once)', () => {
    const x = leaf([2], [1]);
    const a = mul(x, 3); // 3x
    const b = add(a, a); // 6x
    const c = mul(b, a); // 18x²  -> 36x = 72
    c.backward(Float32Array.of(1));
    expect(x.grad!.toArray()).toEqual([72]);
  });

  it('a leaf that does not reach the root keeps .grad null; constants never get .grad', () => {
    const x = leaf([1, 2], [2]);
    const unused = leaf([3, 4], [2]);
    const c = tensor([5, 6]);
    sum(mul(x, c)).backward();
    expect(unused.grad).toBeNull();
    expect(c.grad).toBeNull();
  });

  it('the gradient stored in .grad does not alias the seed or any intermediate array', () => {
    const x = leaf([1, 2, 3, 4], [2, 2]);
    const y = x.reshape([4]); // reshape's backward hands its gradOut straight through
    const seed = Float32Array.of(1, 2, 3, 4);
    y.backward(seed);
    expect(x.grad!.data).not.toBe(seed);
    seed[0] = 100;
    expect(x.grad!.toArray()).toEqual([1, 2, 3, 4]);
    expect(x.grad!.data).not.toBe(x.data);
  });

  it('a seed can be a Tensor or a Float32Array (same result)', () => {
    const x1 = leaf([1, 2, 3], [3]);
    const x2 = leaf([1, 2, 3], [3]);
    square(x1).backward(tensor([1, 0.5, -1]));
    square(x2).backward(Float32Array.of(1, 0.5, -1));
    expect(x1.grad!.toArray()).toEqual([2, 2, -6]);
    expect(x2.grad!.toArray()).toEqual(x1.grad!.toArray());
  });

  it('backward on a leaf that requires grad seeds its own .grad', () => {
    const x = leaf([5], []);
    x.backward();
    expect(x.grad!.toArray()).toEqual([1]);
  });
});

describe('02.2 seeds and non-differentiable roots', () => {
  it('backward on a non-scalar without a seed throws naming the shape', () => {
    const y = mul(leaf(new Float32Array(6), [2, 3]), 2);
    expect(() => y.backward()).toThrow(/backward: a seed gradient is needed for a non-scalar output of shape \(2,3\)/);
  });

  it('a seed of the wrong length throws, naming both lengths', () => {
    const y = mul(leaf(new Float32Array(6), [2, 3]), 2);
    expect(() => y.backward(new Float32Array(5))).toThrow(/backward: seed gradient has 5 values but the output has 6/);
    expect(() => grad(y, [y], new Float32Array(7))).toThrow(/seed gradient has 7 values but the output has 6/);
  });

  it('backward on a tensor that does not require grad throws', () => {
    expect(() => sum(tensor([1, 2])).backward()).toThrow(/backward: the tensor does not require grad/);
  });

  it('i32 tensors cannot require grad', () => {
    expect(() => new Tensor(Int32Array.of(1, 2), [2], { requiresGrad: true })).toThrow(/i32 tensor cannot require grad/);
    expect(() => tensor([1, 2], undefined, { dtype: 'i32', requiresGrad: true })).toThrow(/i32 tensor cannot require grad/);
  });
});

describe('02.3 grad(out, inputs): gradients of chosen tensors only', () => {
  const N = 3, IN = 5, OUT = 4;
  const xv = uniformArr(N * IN, 1), wv = uniformArr(OUT * IN, 2), bv = uniformArr(OUT, 3);

  it('returns ∂out/∂x equal to the full backward, and leaves every .grad null', () => {
    const x = leaf(xv, [N, IN]), w = leaf(wv, [OUT, IN]), b = leaf(bv, [OUT]);
    const loss = sum(square(linear(x, w, b)));
    const [gx] = grad(loss, [x]);
    expect(gx!.shape).toEqual([N, IN]);
    expect(gx!.requiresGrad).toBe(false);
    expect(x.grad).toBeNull();
    expect(w.grad).toBeNull();
    expect(b.grad).toBeNull();
    loss.backward();
    expectClose(gx!.f32(), x.grad!.f32(), { rtol: 1e-6, atol: 1e-7 }, 'grad() vs backward()');
  });

  it('performs no weight-gradient GEMM (fewer gemm calls than a full backward)', () => {
    const be = getBackend();
    const x = leaf(xv, [N, IN]), w = leaf(wv, [OUT, IN]);
    const loss = sum(square(linear(x, w)));
    const spy = vi.spyOn(be, 'gemm');
    grad(loss, [x]);
    const partial = spy.mock.calls.length;
    spy.mockClear();
    loss.backward();
    const full = spy.mock.calls.length;
    expect(partial).toBe(1); // dx = dy·W only
    expect(full).toBe(2); // dx and dW
    expect(partial).toBeLessThan(full);
  });

  it('never calls the backward of a node off the path to the requested inputs', () => {
    const calls = { tap: 0 };
    // an identity op with a counting backward, placed on the weight (off the path to x)
    const tap = (t: Tensor) => result(Float32Array.from(t.f32()), t.shape, 'tap', [t], (g) => {
      calls.tap++;
      return [g];
    });
    const x = leaf(xv, [N, IN]), w = leaf(wv, [OUT, IN]);
    const loss = sum(square(linear(x, tap(w))));
    grad(loss, [x]);
    expect(calls.tap).toBe(0);
    expect(w.grad).toBeNull();
    loss.backward();
    expect(calls.tap).toBe(1);
    expect(w.grad).not.toBeNull();
  });

  it('A-FSR first pass: ∂L/∂z of an intermediate embedding output, no scatter-add, no table grad', () => {
    const V = 6, D = 3;
    const table = leaf(uniformArr(V * D, 4), [V, D]);
    const ids = new Tensor(Int32Array.of(1, 4, 4, 0, 5, 1), [2, 3]);
    const w = leaf(uniformArr(D * D, 5), [D, D]);
    const z = embedding(table, ids); // (2,3,D)
    const loss = sum(square(tanh(linear(z, w))));
    const spy = vi.spyOn(getBackend(), 'scatterAdd');
    const [gz] = grad(loss, [z]);
    expect(spy).not.toHaveBeenCalled();
    expect(table.grad).toBeNull();
    expect(w.grad).toBeNull();
    expect(gz!.shape).toEqual([2, 3, D]);
    // equals the finite-difference gradient of the same loss as a function of z (R = ones)
    const zv = Float32Array.from(z.f32());
    const r = gradcheck(([zz]) => square(tanh(linear(zz!, w.detach()))), [input(zv, [2, 3, D])],
      { R: new Float32Array(2 * 3 * D).fill(1) });
    expect(r.ok, r.lines.join('\n')).toBe(true);
    const maxN = Math.max(...Array.from(r.numeric[0]!, Math.abs));
    expectClose(gz!.f32(), r.numeric[0]!, { rtol: 0, atol: 1e-3 + 1e-2 * maxN }, 'grad(loss, [z]) vs finite differences');
    // and the full backward agrees with it through the chain rule: dTable = scatter(gz)
    loss.backward();
    const want = new Float32Array(V * D);
    const iv = ids.i32();
    for (let i = 0; i < iv.length; i++) for (let c = 0; c < D; c++) want[iv[i]! * D + c]! += gz!.f32()[i * D + c]!;
    expectClose(table.grad!.f32(), want, { rtol: 1e-5, atol: 1e-6 }, 'table grad = scatter of dL/dz');
  });

  it('several inputs at once, an intermediate and a leaf upstream of it', () => {
    const x = leaf([0.3, -0.7, 1.1], [3]);
    const z = mul(x, 2);
    const loss = sum(square(z)); // dL/dz = 2z = 4x, dL/dx = 8x
    const [gz, gx] = grad(loss, [z, x]);
    expectClose(gz!.f32(), [0.3, -0.7, 1.1].map((v) => 4 * Math.fround(v)), { rtol: 1e-6 });
    expectClose(gx!.f32(), [0.3, -0.7, 1.1].map((v) => 8 * Math.fround(v)), { rtol: 1e-6 });
    expect(x.grad).toBeNull();
  });

  it('a returned intermediate gradient is not modified by later accumulation into its input', () => {
    // reshape hands its gradOut straight to x; x then receives a second contribution (3 per
    // element). If that were added in place into the shared array, ∂L/∂z would read 4, not 1.
    for (const order of ['reshape first', 'mul first']) {
      const x = leaf([1, 2, 3, 4, 5, 6], [2, 3]);
      const z = reshape(x, [3, 2]);
      const a = sum(z), b = sum(mul(x, 3));
      const loss = order === 'reshape first' ? add(a, b) : add(b, a);
      const [gz, gx] = grad(loss, [z, x]);
      expect(gz!.toArray(), order).toEqual([1, 1, 1, 1, 1, 1]);
      expect(gx!.toArray(), order).toEqual([4, 4, 4, 4, 4, 4]);
      // and the same through backward() + grad() on the leaf
      const [gz2] = grad(loss, [z]);
      expect(gz2!.toArray(), order).toEqual([1, 1, 1, 1, 1, 1]);
    }
  });

  it('an input that does not reach the output gets zeros; the output itself gets the seed', () => {
    const x = leaf([1, 2], [2]), u = leaf([3, 4, 5], [3]);
    const y = mul(x, 3);
    const [gu, gy] = grad(sum(y), [u, y]);
    expect(gu!.toArray()).toEqual([0, 0, 0]);
    expect(gy!.toArray()).toEqual([1, 1]);
    const [self] = grad(y, [y], Float32Array.of(2, -1));
    expect(self!.toArray()).toEqual([2, -1]);
  });

  it('gradcheck through grad() agrees with backward() mode', () => {
    const f = ([a, b]: Tensor[]) => tanh(linear(a!, b!));
    const ins = [input(uniformArr(6, 7), [2, 3]), input(uniformArr(12, 8), [4, 3])];
    const r1 = expectGradcheck('linear+tanh via backward()', f, ins);
    const r2 = expectGradcheck('linear+tanh via grad()', f, ins, { mode: 'grad' });
    expectClose(r2.analytic[0]!, r1.analytic[0]!, { rtol: 1e-6, atol: 1e-7 });
    expectClose(r2.analytic[1]!, r1.analytic[1]!, { rtol: 1e-6, atol: 1e-7 });
  });
});

describe('02.4 noGrad and detach', () => {
  it('noGrad results neither require grad nor carry a node; the flag is restored (even on throw)', () => {
    const x = leaf([1, 2, 3], [3]);
    expect(isGradEnabled()).toBe(true);
    const y = noGrad(() => {
      expect(isGradEnabled()).toBe(false);
      const inner = noGrad(() => mul(x, 2));
      expect(isGradEnabled()).toBe(false); // nested scope restores the outer (disabled) state
      return add(inner, x);
    });
    expect(isGradEnabled()).toBe(true);
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBeNull();
    expect(y.toArray()).toEqual([3, 6, 9]);
    expect(() => noGrad(() => { throw new Error('boom'); })).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
    expect(mul(x, 2).requiresGrad).toBe(true);
  });

  it('detach cuts the tape: only the attached path contributes', () => {
    const x = leaf([1.5, -2], [2]);
    sum(mul(x, x.detach())).backward(); // d/dx (x·c) = c
    expect(x.grad!.toArray()).toEqual([1.5, -2]);
    const y = tanh(x).detach();
    expect(() => sum(y).backward()).toThrow(/does not require grad/);
  });
});

describe('02.5 deep chains', () => {
  it('10,000 chained adds and muls do not overflow the stack (backward and grad)', () => {
    const x = leaf([1, 2], [2]);
    const c = tensor([0.001, 0.002]);
    let y: Tensor = x;
    for (let i = 0; i < 5000; i++) y = mul(add(y, c), 1);
    const loss = sum(y);
    loss.backward();
    expect(x.grad!.toArray()).toEqual([1, 1]);
    const [gx] = grad(loss, [x]);
    expect(gx!.toArray()).toEqual([1, 1]);
  });
});

describe('02.6 the gradient checker itself', () => {
  it('fails on a wrong backward (sign), a wrong scale, and a missing input gradient', () => {
    const xs = [input(uniformArr(7, 9), [7])];
    const wrongSign = ([x]: Tensor[]) => result(Float32Array.from(x!.f32(), (v) => v * v), x!.shape, 'bad', [x!],
      (g) => [Float32Array.from(g, (gi, i) => -2 * gi * x!.f32()[i]!)]);
    expect(gradcheck(wrongSign, xs).ok).toBe(false);
    const offBy5Percent = ([x]: Tensor[]) => result(Float32Array.from(x!.f32(), Math.sin), x!.shape, 'bad', [x!],
      (g) => [Float32Array.from(g, (gi, i) => 1.05 * gi * Math.cos(x!.f32()[i]!))]);
    expect(gradcheck(offBy5Percent, xs).ok).toBe(false);
    const noGradient = ([x]: Tensor[]) => result(Float32Array.from(x!.f32(), Math.exp), x!.shape, 'bad', [x!],
      () => [null]);
    expect(gradcheck(noGradient, xs).ok).toBe(false);
    const right = ([x]: Tensor[]) => result(Float32Array.from(x!.f32(), Math.sin), x!.shape, 'good', [x!],
      (g) => [Float32Array.from(g, (gi, i) => gi * Math.cos(x!.f32()[i]!))]);
    expect(gradcheck(right, xs).ok).toBe(true);
  });
});

describe('02.7 backward contract', () => {
  it('a node returning a gradient of the wrong length is reported, naming the op', () => {
    const x = leaf([1, 2, 3], [3]);
    const bad = result(Float32Array.of(1, 2, 3), [3], 'badop', [x], () => [new Float32Array(2)]);
    expect(() => sum(bad).backward()).toThrow(/backward of badop: gradient for input 0 has 2 values, expected 3/);
  });

  it('repeated embedding ids accumulate their upstream in the table gradient', () => {
    const table = leaf(uniformArr(8, 10), [4, 2]);
    const ids = new Tensor(intArr(5, 11, 0, 4), [5]);
    sum(embedding(table, ids)).backward();
    const counts = [0, 0, 0, 0];
    for (const i of ids.i32()) counts[i]!++;
    expect(table.grad!.toArray()).toEqual(counts.flatMap((n) => [n, n]));
  });
});
