/**
 * 06. Matrix products: matmul (2-D, batched, rank-4 batched, shared 2-D right operand) and linear
 * (y = x Wᵀ + b, with and without bias, on rank 1..3 inputs). Forward against a naive triple loop
 * in float64 (tolerance rtol 1e-5 / atol 1e-5: the native GEMM sums in f32), and
 * finite-difference gradients for every operand.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, linear, matmul } from '../../src/engine/index.js';
import { expectGradcheck, input } from './gradcheck.js';
import { expectClose, prod, uniformArr } from './util.js';

/** C[b] = A[b]·B[b] (B shared when bBatch is false), float64 sums */
function naiveMatmul(a: Float32Array, b: Float32Array, batch: number, m: number, k: number, n: number, bBatched: boolean) {
  const c = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[(t * m + i) * k + p]! * b[(bBatched ? t * k * n : 0) + p * n + j]!;
        c[(t * m + i) * n + j] = s;
      }
  return c;
}

const tol = { rtol: 1e-5, atol: 1e-5 };

describe('06.1 matmul forward', () => {
  const cases: { a: number[]; b: number[] }[] = [
    { a: [3, 5], b: [5, 4] },
    { a: [1, 7], b: [7, 1] },
    { a: [2, 3, 5], b: [2, 5, 4] },
    { a: [2, 3, 3, 5], b: [2, 3, 5, 2] },
    { a: [2, 3, 5], b: [5, 4] }, // shared right operand
    { a: [2, 2, 3, 5], b: [5, 7] }, // shared, rank 4
    { a: [33, 17], b: [17, 9] },
  ];
  for (const { a: as, b: bs } of cases) {
    it(`(${as}) x (${bs})`, () => {
      const av = uniformArr(prod(as), 1), bv = uniformArr(prod(bs), 2);
      const y = matmul(new Tensor(av, as), new Tensor(bv, bs));
      const m = as[as.length - 2]!, k = as[as.length - 1]!, n = bs[bs.length - 1]!;
      expect(y.shape).toEqual([...as.slice(0, -2), m, n]);
      const batch = prod(as.slice(0, -2));
      expectClose(y.f32(), naiveMatmul(av, bv, batch, m, k, n, bs.length > 2), tol, 'matmul');
    });
  }

  it('the method form is the same op', () => {
    const a = new Tensor(uniformArr(6, 3), [2, 3]), b = new Tensor(uniformArr(12, 4), [3, 4]);
    expect(a.matmul(b).toArray()).toEqual(matmul(a, b).toArray());
  });
});

describe('06.2 linear forward', () => {
  for (const xs of [[5], [3, 5], [2, 3, 5]]) {
    for (const bias of [false, true]) {
      it(`x (${xs}) W (4,5) ${bias ? 'with' : 'without'} bias`, () => {
        const xv = uniformArr(prod(xs), 5), wv = uniformArr(20, 6), bv = uniformArr(4, 7);
        const y = linear(new Tensor(xv, xs), new Tensor(wv, [4, 5]), bias ? new Tensor(bv, [4]) : null);
        expect(y.shape).toEqual([...xs.slice(0, -1), 4]);
        const rows = prod(xs) / 5;
        const want = new Float64Array(rows * 4);
        for (let r = 0; r < rows; r++)
          for (let o = 0; o < 4; o++) {
            let s = bias ? bv[o]! : 0;
            for (let c = 0; c < 5; c++) s += xv[r * 5 + c]! * wv[o * 5 + c]!;
            want[r * 4 + o] = s;
          }
        expectClose(y.f32(), want, tol, 'linear');
      });
    }
  }
});

describe('06.3 gradients (finite differences)', () => {
  it('matmul 2-D, batched, rank-4 batched', () => {
    const cases: [number[], number[]][] = [[[3, 5], [5, 4]], [[2, 3, 5], [2, 5, 3]], [[2, 2, 3, 2], [2, 2, 2, 3]]];
    let seed = 10;
    for (const [as, bs] of cases) {
      expectGradcheck(`matmul (${as}) x (${bs})`, ([a, b]) => matmul(a!, b!),
        [input(uniformArr(prod(as), seed++), as), input(uniformArr(prod(bs), seed++), bs)]);
    }
  });

  it('matmul with a shared right operand (its gradient sums over the batch)', () => {
    expectGradcheck('matmul (2,3,5) x (5,4)', ([a, b]) => matmul(a!, b!),
      [input(uniformArr(30, 20), [2, 3, 5]), input(uniformArr(20, 21), [5, 4])]);
    expectGradcheck('matmul (2,2,3,5) x (5,3)', ([a, b]) => matmul(a!, b!),
      [input(uniformArr(60, 22), [2, 2, 3, 5]), input(uniformArr(15, 23), [5, 3])]);
  });

  it('matmul with one operand constant, and a·aᵀ (same tensor twice)', () => {
    expectGradcheck('matmul a x const', ([a, b]) => matmul(a!, b!),
      [input(uniformArr(15, 24), [3, 5]), input(uniformArr(20, 25), [5, 4], false)]);
    expectGradcheck('matmul const x b', ([a, b]) => matmul(a!, b!),
      [input(uniformArr(15, 26), [3, 5], false), input(uniformArr(20, 27), [5, 4])]);
    expectGradcheck('a · aᵀ', ([a]) => matmul(a!, a!.transpose()), [input(uniformArr(15, 28), [3, 5])]);
  });

  it('linear with and without bias, rank 1..3 inputs', () => {
    let seed = 40;
    for (const xs of [[5], [3, 5], [2, 3, 5]]) {
      expectGradcheck(`linear x (${xs}) with bias`, ([x, w, b]) => linear(x!, w!, b!),
        [input(uniformArr(prod(xs), seed++), xs), input(uniformArr(20, seed++), [4, 5]), input(uniformArr(4, seed++), [4])]);
      expectGradcheck(`linear x (${xs}) without bias`, ([x, w]) => linear(x!, w!),
        [input(uniformArr(prod(xs), seed++), xs), input(uniformArr(20, seed++), [4, 5])]);
    }
  });

  it('linear with only the bias (or only x) requiring grad', () => {
    expectGradcheck('linear bias only', ([x, w, b]) => linear(x!, w!, b!),
      [input(uniformArr(15, 50), [3, 5], false), input(uniformArr(20, 51), [4, 5], false), input(uniformArr(4, 52), [4])]);
    expectGradcheck('linear x only', ([x, w, b]) => linear(x!, w!, b!),
      [input(uniformArr(15, 53), [3, 5]), input(uniformArr(20, 54), [4, 5], false), input(uniformArr(4, 55), [4], false)]);
  });
});

describe('06.4 degenerate (empty) dimensions', () => {
  it('matmul with k = 0 gives zeros; with m = 0 an empty result', () => {
    const y = matmul(new Tensor(new Float32Array(0), [2, 0]), new Tensor(new Float32Array(0), [0, 3]));
    expect(y.shape).toEqual([2, 3]);
    expect(y.toArray()).toEqual([0, 0, 0, 0, 0, 0]);
    expect(matmul(new Tensor(new Float32Array(0), [0, 3]), new Tensor(new Float32Array(6), [3, 2])).shape).toEqual([0, 2]);
  });

  it('linear with no rows gives an empty (0,out) result', () => {
    const y = linear(new Tensor(new Float32Array(0), [0, 4]), new Tensor(new Float32Array(12), [3, 4]), new Tensor(Float32Array.of(1, 2, 3), [3]));
    expect(y.shape).toEqual([0, 3]);
  });

  it('linear with zero input features gives the bias on every row (x·Wᵀ is an empty sum)', () => {
    // N is computed as x.size / in = 0 / 0 = NaN, which reaches the GEMM kernel as m = NaN
    const y = linear(new Tensor(new Float32Array(0), [2, 0]), new Tensor(new Float32Array(0), [3, 0]), new Tensor(Float32Array.of(1, 2, 3), [3]));
    expect(y.shape).toEqual([2, 3]);
    expect(y.toArray()).toEqual([1, 2, 3, 1, 2, 3]);
  });
});
