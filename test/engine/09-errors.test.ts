/**
 * 09. Errors: every op given wrong shapes, dtypes or out-of-range ids throws an Error whose message
 * names the op and what was given (shapes, ids, ranges) — checked before any kernel runs; NaN
 * handling of the engine ops and of the fairness weightings (cvarWeights, chi2Weights).
 */
import { describe, expect, it } from 'vitest';
import {
  Generator, Tensor, add, attention, concat, cosineTopk, crossEntropy, dirichlet, div, dropout, embedding, exp, full,
  gelu, gradNorm, gru, layerNorm, linear, maskedFill, matmul, max, mean, mul, narmAttention, neighbourMix, ones, permute,
  projectionCrossEntropy, rand, randn, reshape, slice, softmax, stack, sub, sum, tensor, transpose, twoHop, where, zeros,
} from '../../src/engine/index.js';
import { chi2Weights } from '../../src/fairness/chi2.js';
import { cvarWeights } from '../../src/fairness/cvar.js';

const f = (shape: number[]) => zeros(shape);
const i = (values: number[], shape = [values.length]) => new Tensor(Int32Array.from(values), shape);
const mask1 = (B: number, L: number) => new Tensor(new Int32Array(B * L).fill(1), [B, L]);

describe('09.1 broadcasting and dtypes of elementwise ops', () => {
  it('broadcast failure names the op and both shapes', () => {
    expect(() => add(f([2, 3]), f([4]))).toThrow(/^add: shapes \(2,3\) and \(4\) cannot be broadcast together$/);
    expect(() => sub(f([2, 3]), f([3, 2]))).toThrow(/^sub: shapes \(2,3\) and \(3,2\) cannot be broadcast together$/);
    expect(() => mul(f([5, 1, 3]), f([2, 2]))).toThrow(/^mul: shapes \(5,1,3\) and \(2,2\)/);
    expect(() => div(f([2]), f([3]))).toThrow(/^div: shapes \(2\) and \(3\)/);
    expect(() => where(i([1, 0, 1]), f([2]), 0)).toThrow(/^where: shapes \(3\) and \(2\) cannot be broadcast/);
  });

  it('i32 operands of float ops are rejected naming the op and the shape', () => {
    expect(() => add(i([1, 2]), f([2]))).toThrow(/^add: expected an f32 tensor, got i32 \(2\)/);
    expect(() => mul(f([2]), i([1, 2]))).toThrow(/^mul: expected an f32 tensor, got i32 \(2\)/);
    expect(() => exp(i([1, 2], [1, 2]))).toThrow(/^exp: expected an f32 tensor, got i32 \(1,2\)/);
    expect(() => gelu(i([1]))).toThrow(/^gelu: expected an f32 tensor, got i32 \(1\)/);
    expect(() => sum(i([1, 2]))).toThrow(/^sum: expected an f32 tensor, got i32 \(2\)/);
    expect(() => max(i([1, 2]), 0)).toThrow(/^max: expected an f32 tensor, got i32 \(2\)/);
    expect(() => softmax(i([1, 2]))).toThrow(/^softmax: expected an f32 tensor, got i32 \(2\)/);
    expect(() => where(i([1]), i([1]), 0)).toThrow(/^where: expected an f32 tensor, got i32 \(1\)/);
  });

  it('maskedFill: a mask that does not broadcast to x', () => {
    expect(() => maskedFill(f([3]), i([1, 0, 1, 0, 1, 0], [2, 3]), 0)).toThrow(/^maskedFill: mask \(2,3\) does not broadcast to x \(3\)/);
    expect(() => maskedFill(f([3]), i([1, 0]), 0)).toThrow(/^maskedFill: shapes \(3\) and \(2\) cannot be broadcast/);
  });
});

describe('09.2 reductions and layout', () => {
  it('axes out of range or repeated', () => {
    expect(() => sum(f([2, 3]), 2)).toThrow(/^sum: axis 2 is out of range for a tensor of rank 2/);
    expect(() => sum(f([2, 3]), [0, -2])).toThrow(/^sum: repeated axis in \[0,0\]/);
    expect(() => mean(f([2, 3]), -3)).toThrow(/^mean: axis -3 is out of range for a tensor of rank 2/);
    expect(() => mean(f([2, 0]), 1)).toThrow(/^mean: reducing an empty axis of shape \(2,0\)/);
    expect(() => max(f([2, 3]), 5)).toThrow(/^max: axis 5 is out of range for a tensor of rank 2/);
    expect(() => max(f([2, 0]), 1)).toThrow(/^max: reducing an empty axis/);
    expect(() => softmax(f([2, 3]), 0)).toThrow(/^softmax: only the last axis is supported/);
  });

  it('reshape impossible', () => {
    expect(() => reshape(f([2, 3]), [4, 2])).toThrow(/^reshape: cannot reshape \(2,3\) \(6 values\) into \(4,2\)/);
    expect(() => reshape(f([2, 3]), [4, -1])).toThrow(/^reshape: cannot reshape \(2,3\) into \(4,-1\)/);
    expect(() => reshape(f([2, 3]), [-1, -1])).toThrow(/^reshape: more than one -1 in \(-1,-1\)/);
    expect(() => reshape(f([2, 3]), [0, -1])).toThrow(/^reshape: cannot reshape \(2,3\) into \(0,-1\)/);
  });

  it('permute / transpose', () => {
    expect(() => permute(f([2, 3]), [0, 0])).toThrow(/^permute: \(0,0\) is not a permutation of the 2 axes of \(2,3\)/);
    expect(() => permute(f([2, 3]), [1])).toThrow(/^permute: \(1\) is not a permutation of the 2 axes of \(2,3\)/);
    expect(() => permute(f([2, 3]), [0, 2])).toThrow(/^permute: axis 2 is out of range for a tensor of rank 2/);
    expect(() => transpose(f([2, 3]), 0, 2)).toThrow(/^transpose: axis 2 is out of range for a tensor of rank 2/);
  });

  it('slice out of range', () => {
    expect(() => slice(f([3, 5]), 1, 1, 7)).toThrow(/^slice: \[1, 7\) is out of range for axis 1 of \(3,5\)/);
    expect(() => slice(f([3, 5]), 0, 2, 1)).toThrow(/^slice: \[2, 1\) is out of range for axis 0 of \(3,5\)/);
    expect(() => slice(f([3, 5]), 0, -4, 2)).toThrow(/^slice: \[-4, 2\) is out of range for axis 0 of \(3,5\)/);
    expect(() => slice(f([3, 5]), 2, 0, 1)).toThrow(/^slice: axis 2 is out of range for a tensor of rank 2/);
  });

  it('concat mismatch (shape outside the axis, rank, dtype, nothing to concatenate)', () => {
    expect(() => concat([f([2, 3]), f([2, 4])], 0)).toThrow(/^concat: f32 \(2,4\) does not match f32 \(2,3\) outside axis 0/);
    expect(() => concat([f([2, 3]), f([2, 3, 1])], 1)).toThrow(/^concat: f32 \(2,3,1\) does not match f32 \(2,3\)/);
    expect(() => concat([f([2]), i([1, 2])], 0)).toThrow(/^concat: i32 \(2\) does not match f32 \(2\)/);
    expect(() => concat([], 0)).toThrow(/^concat: no tensors given/);
    expect(() => concat([f([2, 3])], 2)).toThrow(/^concat: axis 2 is out of range/);
  });

  it('stack of unequal shapes names stack and the given shapes', () => {
    expect(() => stack([])).toThrow(/^stack: no tensors given/);
    // the user called stack with (2,3) and (2,4); an error about concat of (1,2,4) and (1,2,3) misleads
    expect(() => stack([f([2, 3]), f([2, 4])])).toThrow(/^stack: .*\(2,4\).*\(2,3\)|^stack: .*\(2,3\).*\(2,4\)/);
  });
});

describe('09.3 matmul and linear', () => {
  it('matmul inner-dimension, batch and rank mismatches', () => {
    expect(() => matmul(f([2, 3]), f([4, 5]))).toThrow(/^matmul: a is \(2,3\) but b is \(4,5\)$/);
    expect(() => matmul(f([2, 3, 4]), f([3, 4, 5]))).toThrow(/^matmul: a is \(2,3,4\) but b is \(3,4,5\)$/);
    expect(() => matmul(f([2, 3, 4]), f([2, 2, 4, 5]))).toThrow(/^matmul: a is \(2,3,4\) but b is \(2,2,4,5\)$/);
    expect(() => matmul(f([3]), f([3, 2]))).toThrow(/^matmul: expected operands of rank >= 2, got \(3\) and \(3,2\)/);
    expect(() => matmul(i([1, 2, 3, 4], [2, 2]), f([2, 2]))).toThrow(/^matmul: expected an f32 tensor, got i32 \(2,2\)/);
  });

  it('linear weight / bias mismatches', () => {
    expect(() => linear(f([3, 5]), f([4, 6]))).toThrow(/^linear: x is \(3,5\), weight \(4,6\); expected weight \(out,5\)/);
    expect(() => linear(f([3, 5]), f([4, 5]), f([5]))).toThrow(/^linear: x is \(3,5\), weight \(4,5\), bias \(5\); expected weight \(out,5\) and bias \(out\)/);
    expect(() => linear(f([3, 5]), f([20]))).toThrow(/^linear: x is \(3,5\), weight \(20\)/);
  });
});

describe('09.4 fused ops', () => {
  it('attention: q/k/v shape mismatch, rank, key mask dtype/shape/values, dropout', () => {
    const q = f([1, 2, 5, 3]);
    expect(() => attention(q, f([1, 2, 4, 3]), q, mask1(1, 5), { causal: true }))
      .toThrow(/^attention: q is \(1,2,5,3\), k \(1,2,4,3\), v \(1,2,5,3\); expected three equal \(B,H,L,dh\)/);
    expect(() => attention(q, q, f([1, 2, 5, 4]), mask1(1, 5), { causal: true })).toThrow(/^attention: .*v \(1,2,5,4\)/);
    expect(() => attention(f([2, 5, 3]), f([2, 5, 3]), f([2, 5, 3]), mask1(2, 5), { causal: false }))
      .toThrow(/^attention: q is \(2,5,3\)/);
    expect(() => attention(q, q, q, mask1(1, 4), { causal: false })).toThrow(/^attention: keyMask must be i32 \(1,5\), got i32 \(1,4\)/);
    expect(() => attention(q, q, q, f([1, 5]), { causal: false })).toThrow(/^attention: keyMask must be i32 \(1,5\), got f32 \(1,5\)/);
    expect(() => attention(q, q, q, i([1, 1, 1, 2, 1], [1, 5]), { causal: false })).toThrow(/^attention: keyMask\[3\] = 2, expected 0 or 1/);
    expect(() => attention(q, q, q, mask1(1, 5), { causal: false, dropout: 1 })).toThrow(/^attention: dropout must be in \[0, 1\), got 1/);
  });

  it('embedding: id out of range, negative id, f32 ids, table rank', () => {
    const t = f([6, 3]);
    expect(() => embedding(t, i([1, 2, 6]))).toThrow(/^embedding: ids\[2\] = 6 is out of range \[0, 6\)/);
    expect(() => embedding(t, i([-1]))).toThrow(/^embedding: ids\[0\] = -1 is out of range \[0, 6\)/);
    expect(() => embedding(t, f([3]))).toThrow(/^embedding: ids must be i32, got f32 \(3\)/);
    expect(() => embedding(f([6]), i([1]))).toThrow(/^embedding: table must be \(V,D\), got \(6\)/);
  });

  it('crossEntropy: target out of range, shapes, dtypes, weights', () => {
    const logits = f([3, 5]);
    expect(() => crossEntropy(logits, i([0, 5, 1]))).toThrow(/^crossEntropy: targets\[1\] = 5 is out of range \[0, 5\) \(ignore index -100\)/);
    expect(() => crossEntropy(logits, i([0, -1, 1]))).toThrow(/^crossEntropy: targets\[1\] = -1 is out of range \[0, 5\)/);
    expect(() => crossEntropy(f([3, 5, 1]), i([0, 1, 2]))).toThrow(/^crossEntropy: logits must be \(N,C\), got \(3,5,1\)/);
    expect(() => crossEntropy(logits, i([0, 1]))).toThrow(/^crossEntropy: targets must be i32 \(3\), got i32 \(2\)/);
    expect(() => crossEntropy(logits, f([3]))).toThrow(/^crossEntropy: targets must be i32 \(3\), got f32 \(3\)/);
    expect(() => crossEntropy(logits, i([0, 1, 2]), { weights: f([2]) })).toThrow(/^crossEntropy: weights must be \(3\), got \(2\)/);
  });

  it('projectionCrossEntropy: hidden/table mismatch, target out of range', () => {
    expect(() => projectionCrossEntropy(f([5, 4]), f([7, 3]), i([1, 2, 3, 4, 5])))
      .toThrow(/^projectionCrossEntropy: hidden is \(5,4\) but table is \(7,3\); expected \(N,D\) and \(V,D\)/);
    expect(() => projectionCrossEntropy(f([2, 4]), f([7, 4]), i([1, 7])))
      .toThrow(/^projectionCrossEntropy: targets\[1\] = 7 is out of range \[0, 7\) \(ignore index 0\)/);
    expect(() => projectionCrossEntropy(f([2, 4]), f([7, 4]), i([1, 2, 3])))
      .toThrow(/^projectionCrossEntropy: targets must be i32 \(2\), got i32 \(3\)/);
  });

  it('layerNorm, softmax, dropout, gru', () => {
    expect(() => layerNorm(f([3, 5]), f([4]), f([5]))).toThrow(/^layerNorm: x is \(3,5\) but gamma \(4\) and beta \(5\); expected \(5\)/);
    expect(() => layerNorm(f([3, 5]), f([5]), f([1, 5]))).toThrow(/^layerNorm: x is \(3,5\) but gamma \(5\) and beta \(1,5\)/);
    expect(() => dropout(f([3]), 1, true)).toThrow(/^dropout: p must be in \[0, 1\), got 1/);
    expect(() => dropout(f([3]), -0.1, true)).toThrow(/^dropout: p must be in \[0, 1\), got -0\.1/);
    expect(() => dropout(f([3]), NaN, true)).toThrow(/^dropout: p must be in \[0, 1\), got NaN/);
    const x = f([2, 4, 3]);
    expect(() => gru(x, f([2, 3]), f([9, 3]), f([9, 4]), f([9]), f([9])))
      .toThrow(/^gru: x is \(2,4,3\) so weight_hh must be \(9,3\), got \(9,4\)/);
    expect(() => gru(x, f([2, 3]), f([9, 2]), f([9, 3]), f([9]), f([9])))
      .toThrow(/^gru: x is \(2,4,3\) so weight_ih must be \(9,3\), got \(9,2\)/);
    expect(() => gru(x, f([3, 3]), f([9, 3]), f([9, 3]), f([9]), f([9])))
      .toThrow(/^gru: x is \(2,4,3\) so h0 must be \(2,H\), got \(3,3\)/);
    expect(() => gru(x, f([2]), f([9, 3]), f([9, 3]), f([9]), f([9]))).toThrow(/^gru: x is \(2,4,3\) so h0 must be \(2,H\), got \(2\)/);
    expect(() => gru(x, f([2, 3]), f([9, 3]), f([9, 3]), f([8]), f([9])))
      .toThrow(/^gru: x is \(2,4,3\) so bias_ih must be \(9\), got \(8\)/);
    expect(() => gru(f([4, 3]), f([2, 3]), f([9, 3]), f([9, 3]), f([9]), f([9]))).toThrow(/^gru: x must be \(B,L,in\), got \(4,3\)/);
  });

  it('A-FSR kernels: neighbourMix, gradNorm, cosineTopk, twoHop, dirichlet', () => {
    expect(() => neighbourMix(f([6, 3]), i([0, 6], [1, 2]), f([1, 2]))).toThrow(/^neighbourMix: ids\[1\] = 6 is out of range \[-1, 6\)/);
    expect(() => neighbourMix(f([6, 3]), i([0, -2], [1, 2]), f([1, 2]))).toThrow(/^neighbourMix: ids\[1\] = -2 is out of range/);
    expect(() => neighbourMix(f([6, 3]), i([0, 1], [1, 2]), f([2, 1])))
      .toThrow(/^neighbourMix: table \(6,3\), ids i32 \(1,2\), w \(2,1\); expected \(V,D\), i32 \(R,K\), \(R,K\)/);
    expect(() => gradNorm(f([2, 3]), mask1(2, 3))).toThrow(/^gradNorm: g must be \(B,L,D\), got \(2,3\)/);
    expect(() => narmAttention(f([1, 4, 2]), f([1, 3, 2]), f([1, 2]), mask1(1, 3)))
      .toThrow(/^narmAttention: q is \(1,4,2\) and k \(1,3,2\); expected \(B,T,H\) and \(B,L,H\) with T ≤ L/);
    expect(() => narmAttention(f([1, 3, 2]), f([1, 3, 2]), f([1, 3]), mask1(1, 3))).toThrow(/^narmAttention: w is \(1,3\), expected 2 values/);
    expect(() => narmAttention(f([1, 3, 2]), f([1, 3, 2]), f([1, 2]), mask1(1, 2))).toThrow(/^narmAttention: mask must be i32 \(1,3\)/);
    expect(() => gradNorm(f([2, 3, 4]), mask1(3, 2))).toThrow(/^gradNorm: mask must be i32 \(2,3\), got i32 \(3,2\)/);
    expect(() => cosineTopk(f([5, 3]), 5)).toThrow(/^cosineTopk: k must be in \[1, 4\] for 5 rows, got 5/);
    expect(() => cosineTopk(f([5, 3]), 2, i([0, 5]))).toThrow(/^cosineTopk: queries\[1\] = 5 is out of range \[0, 5\)/);
    expect(() => twoHop(i([0, 1, 2, 3], [2, 2]))).toThrow(/^twoHop: indices\[2\] = 2 is out of range \[0, 2\)/);
    expect(() => dirichlet(i([1, 4]), 3, 1)).toThrow(/^dirichlet: counts\[1\] = 4 is out of range \[1, 3\]/);
    expect(() => dirichlet(i([1]), 3, 0)).toThrow(/^dirichlet: alpha must be positive, got 0/);
  });
});

describe('09.5 creation, tape and generator misuse', () => {
  it('creation functions reject invalid shapes naming the shape', () => {
    expect(() => zeros([2, -1])).toThrow(/\(2,-1\)/);
    expect(() => ones([1.5])).toThrow(/\(1\.5\)/);
    expect(() => full([-3], 0)).toThrow(/\(-3\)/);
    expect(() => rand([2, -1], new Generator(1))).toThrow(/\(2,-1\)/);
    expect(() => randn([-2], 1, 0, new Generator(1))).toThrow(/\(-2\)/);
  });

  it('a number with a shape is either given that shape or rejected (never silently rank 0)', () => {
    let shape: readonly number[] | null = null;
    try {
      shape = tensor(5, [1]).shape;
    } catch (e) {
      expect((e as Error).message).toMatch(/^tensor:/);
    }
    if (shape !== null) expect(shape).toEqual([1]);
  });

  it('a bad Generator seed names Generator and the seed', () => {
    expect(() => new Generator(-1)).toThrow(/Generator.*seed.*-1|Generator.*-1.*seed/);
    expect(() => new Generator(0.5)).toThrow(/Generator.*seed.*0\.5|Generator.*0\.5.*seed/);
    expect(() => new Generator(2 ** 53)).toThrow(/Generator/);
  });
});

describe('09.6 NaN handling', () => {
  it('NaN propagates through elementwise ops, sum, max, softmax, layerNorm, gelu, matmul', () => {
    const x = tensor([1, NaN, 2]);
    expect(Number.isNaN(add(x, 1).toArray()[1])).toBe(true);
    expect(Number.isNaN(gelu(x).toArray()[1])).toBe(true);
    expect(Number.isNaN(sum(x).item())).toBe(true);
    expect(Number.isNaN(max(x, 0).item())).toBe(true); // documented: NaN wins
    expect(softmax(x).toArray().every(Number.isNaN)).toBe(true);
    expect(softmax(tensor([0, 1, NaN])).toArray().every(Number.isNaN)).toBe(true);
    expect(layerNorm(tensor([[1, NaN, 2]]), ones([3]), zeros([3])).toArray().every(Number.isNaN)).toBe(true);
    expect(Number.isNaN(matmul(tensor([[NaN, 1]]), tensor([[0], [1]])).item())).toBe(true);
  });

  it('crossEntropy / projectionCrossEntropy: a NaN logit (target or not) gives a NaN loss for its row only', () => {
    const ce = crossEntropy(tensor([[0, NaN, 1], [0, 1, 2], [NaN, 0, 1]]), i([0, 2, 0])).toArray();
    expect(Number.isNaN(ce[0]), `loss of a row with a NaN non-target logit is ${ce[0]}`).toBe(true);
    expect(Number.isFinite(ce[1])).toBe(true);
    expect(Number.isNaN(ce[2]), `loss of a row with a NaN target logit is ${ce[2]}`).toBe(true);
    const pce = projectionCrossEntropy(tensor([[1, 0.5], [0.5, 1]]), tensor([[1, 0], [NaN, 1], [1, 1]]), i([2, 0]),
      { ignoreIndex: -1 }).toArray();
    expect(pce.every(Number.isNaN), `projection losses with a NaN table row: ${pce}`).toBe(true);
  });

  it('attention: a NaN in a query gives NaN outputs for that row, never the zeros of a fully masked row', () => {
    // q row 0 of the single head holds a NaN, so every score of that row is NaN. The forward
    // treats "max of the scores is -inf" as "no allowed key" and NaN never compares greater,
    // so the row came out as exact zeros and passed no gradient: a silent NaN-to-0.
    const q = tensor([1, NaN, 0, 1], [1, 1, 2, 2]);
    const k = tensor([1, 0, 0, 1], [1, 1, 2, 2]);
    const v = tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    for (const causal of [false, true]) {
      const out = attention(q, k, v, mask1(1, 2), { causal }).toArray();
      expect(out.slice(0, 2).every(Number.isNaN), `causal=${causal}: row 0 is ${out.slice(0, 2)}`).toBe(true);
      expect(out.slice(2).every(Number.isFinite)).toBe(true);
    }
    // a NaN in one key (so only some scores are NaN) already propagates
    const k2 = tensor([1, NaN, 0, 1], [1, 1, 2, 2]);
    expect(attention(tensor([1, 0, 0, 1], [1, 1, 2, 2]), k2, v, mask1(1, 2), { causal: false }).toArray()
      .every(Number.isNaN)).toBe(true);
  });

  it('cvarWeights throws on NaN / infinite losses, naming the index', () => {
    expect(() => cvarWeights([0.5, NaN, 1], 0.5)).toThrow(/^cvarWeights: loss 1 is NaN \(not finite\)/);
    expect(() => cvarWeights(Float64Array.of(0.5, 1, Infinity), 0.5)).toThrow(/^cvarWeights: loss 2 is Infinity/);
    expect(() => cvarWeights([], 0.5)).toThrow(/^cvarWeights: no losses given/);
    expect(() => cvarWeights([1, 2], 0)).toThrow(/^cvarWeights: alpha must be in \(0, 1\], got 0/);
    // the weights themselves: worst half of 4 losses
    expect(Array.from(cvarWeights([1, 4, 2, 3], 0.5))).toEqual([0, 0.5, 0, 0.5]);
  });

  it('chi2Weights throws on NaN / infinite losses, naming the index', () => {
    expect(() => chi2Weights([NaN, 1, 2], 0.1)).toThrow(/^chi2Weights: loss 0 is NaN \(not finite\)/);
    expect(() => chi2Weights(Float32Array.of(1, -Infinity), 0.1)).toThrow(/^chi2Weights: loss 1 is -Infinity/);
    expect(() => chi2Weights([], 0.1)).toThrow(/^chi2Weights: no losses given/);
    expect(() => chi2Weights([1, 2], NaN)).toThrow(/^chi2Weights: radius must be >= 0, got NaN/);
    const q = chi2Weights([1, 2, 3], 0.05);
    expect(q.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
});

describe('09.7 index inputs', () => {
  it('i32 ids never receive a gradient; the table receives the scatter', () => {
    const t = new Tensor(new Float32Array(6), [3, 2], { requiresGrad: true });
    const ids = i([0, 2]);
    sum(embedding(t, ids)).backward();
    expect(ids.grad).toBeNull();
    expect(t.grad!.toArray()).toEqual([1, 1, 0, 0, 1, 1]);
  });
});
