/**
 * A-FSR part (a): span location on hand-built gradients, and the first pass on real models.
 *
 *   1. spans at the left and right edges, in short padded sequences, one-item and empty rows,
 *      exact ties, wider spans (2s+1 = 5), a cloze row with a mask token inside the window
 *   2. the first pass: ∂(Σℓ)/∂z only (every parameter .grad stays null, on PrefixMean and on
 *      SASRec with dropout), each row's gradient is its own loss's, and it matches central
 *      differences; top-M selection by â
 */
import { describe, expect, it } from 'vitest';
import { Generator, Streams, Tensor, grad } from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import { firstPass, locateSpans, realItemMask, topIndicators } from '../../src/fairness/afsr-locate.js';
import { PrefixMean, batchOf, maxDiff, modelContext } from './helpers.js';

const L = 6, D = 2;
/** rows of (inputs, per-position gradient vectors) */
const rows: [number[], [number, number][]][] = [
  // 0: maximum at the left edge
  [[1, 2, 3, 4, 5, 6], [[3, 4], [1, 0], [1, 0], [1, 0], [1, 0], [1, 0]]],
  // 1: maximum at the right edge (the newest item)
  [[1, 2, 3, 4, 5, 6], [[1, 1], [1, 1], [1, 1], [1, 1], [1, 1], [0, 2]]],
  // 2: short padded row; a padded position holds the largest raw gradient
  [[0, 0, 0, 0, 7, 8], [[0, 0], [10, 10], [0, 0], [0, 0], [0, 3], [0, 1]]],
  // 3: one real item
  [[0, 0, 0, 0, 0, 3], [[9, 9], [0, 0], [0, 0], [0, 0], [0, 0], [0.5, 0]]],
  // 4: no real item at all
  [[0, 0, 0, 0, 0, 0], [[1, 0], [0, 0], [0, 0], [0, 0], [0, 0], [2, 0]]],
  // 5: an exact tie (multiples of 1/8): the first maximum wins
  [[1, 2, 3, 4, 5, 6], [[0.125, 0], [0.125, 0], [0.375, 0.5], [0.125, 0], [0.375, 0.5], [0.125, 0]]],
  // 6: cloze row: the mask token (10) is neither a candidate nor smoothed
  [[1, 10, 3, 4, 5, 6], [[0, 0.1], [5, 5], [0, 1], [0, 0.5], [0, 0.1], [0, 0.1]]],
];
const B = rows.length;
const inputs = Int32Array.from(rows.flatMap(([ids]) => ids));
const g = new Tensor(Float32Array.from(rows.flatMap(([, vs]) => vs.flat())), [B, L, D]);
const mask = realItemMask(inputs, B, L, 9);

function spanOf(loc: ReturnType<typeof locateSpans>, b: number): number[] {
  const out: number[] = [];
  for (let l = 0; l < L; l++) if (loc.spanMask[b * L + l]) out.push(l);
  return out;
}

describe('1. span location on a hand-built gradient', () => {
  it('span size 3 (s = 1)', () => {
    const loc = locateSpans(g, mask, 3);
    expect(Array.from(loc.center)).toEqual([0, 5, 4, 5, -1, 2, 2]);
    const ind = Array.from(loc.indicator);
    [5, 2, 3, 0.5, 0, 0.625, 1].forEach((v, b) => expect(ind[b]).toBeCloseTo(v, 6));
    expect(spanOf(loc, 0)).toEqual([0, 1]); // clipped at the left edge
    expect(spanOf(loc, 1)).toEqual([4, 5]); // clipped at the right edge
    expect(spanOf(loc, 2)).toEqual([4, 5]); // clipped at the padding
    expect(spanOf(loc, 3)).toEqual([5]);
    expect(spanOf(loc, 4)).toEqual([]);
    expect(spanOf(loc, 5)).toEqual([1, 2, 3]);
    expect(spanOf(loc, 6)).toEqual([2, 3]); // the mask token at 1 is skipped
    expect(Array.from(loc.start)).toEqual([0, 4, 4, 5, -1, 1, 2]);
    expect(Array.from(loc.end)).toEqual([1, 5, 5, 5, -1, 3, 3]);
    // norms are 0 outside real items
    expect(loc.norms[2 * L + 1]).toBe(0);
    expect(loc.norms[6 * L + 1]).toBe(0);
  });

  it('span sizes 1 and 5; even sizes are rejected', () => {
    const one = locateSpans(g, mask, 1);
    expect(Array.from({ length: B }, (_, b) => spanOf(one, b))).toEqual([[0], [5], [4], [5], [], [2], [2]]);
    const five = locateSpans(g, mask, 5);
    expect(Array.from({ length: B }, (_, b) => spanOf(five, b))).toEqual([[0, 1, 2], [3, 4, 5], [4, 5], [5], [], [0, 1, 2, 3, 4], [0, 2, 3, 4]]);
    expect(() => locateSpans(g, mask, 4)).toThrow(/odd positive integer/);
  });

  it('top-M rows by â, ties by the smaller row, only rows with a target', () => {
    const ind = Float32Array.from([0.5, 2, 2, 0.1, 3]);
    expect(topIndicators(ind, Uint8Array.from([1, 1, 1, 1, 1]), 3)).toEqual([4, 1, 2]);
    expect(topIndicators(ind, Uint8Array.from([1, 0, 1, 1, 0]), 3)).toEqual([2, 0, 3]);
    expect(topIndicators(ind, Uint8Array.from([1, 1, 0, 0, 0]), 5)).toEqual([1, 0]);
  });
});

describe('2. the first pass', () => {
  it('leaves every parameter .grad null and gives each row its own loss gradient', () => {
    const model = new PrefixMean({ numItems: 9, hidden: 4, maxLen: 8, seed: 2 });
    const batch = batchOf('next');
    const ctx = modelContext(model, batch);
    const fp = firstPass(ctx, 3);
    for (const p of model.parameters()) expect(p.grad).toBeNull();
    // the gradient of row b is ∂ℓ_b/∂z_b (rows do not interact), zero at padding
    const z = ctx.embed();
    const losses = ctx.sequenceLosses(z);
    // the first pass's gradient (from its forward: presumedGrad) has the bits of the plain one
    const plain = grad(losses.sum(), [z])[0]!.f32();
    expect(fp.gradient.f32().every((v, i) => Object.is(v, plain[i])), 'first pass vs grad(Σ ℓ, z)').toBe(true);
    for (const b of [0, 2, 5]) {
      const pick = new Float32Array(batch.B);
      pick[b] = 1;
      const [gb] = grad(losses.mul(new Tensor(pick, [batch.B])).sum(), [z]);
      const rowLen = batch.L * 4;
      const got = fp.gradient.f32().subarray(b * rowLen, (b + 1) * rowLen);
      expect(maxDiff(got, gb!.f32().subarray(b * rowLen, (b + 1) * rowLen))).toBeLessThan(1e-6);
    }
    for (const p of model.parameters()) expect(p.grad).toBeNull();
    // â is the largest norm; the center holds a real item
    for (let b = 0; b < batch.B; b++) {
      const c = fp.location.center[b]!;
      expect(batch.inputs[b * batch.L + c]).toBeGreaterThan(0);
      let mx = 0;
      for (let l = 0; l < batch.L; l++) mx = Math.max(mx, fp.location.norms[b * batch.L + l]!);
      expect(fp.location.indicator[b]).toBe(mx);
    }
  });

  it('matches central differences of Σ ℓ with respect to z', () => {
    const model = new PrefixMean({ numItems: 9, hidden: 4, maxLen: 8, seed: 4 });
    const batch = batchOf('next');
    const ctx = modelContext(model, batch);
    const fp = firstPass(ctx, 3);
    const z0 = ctx.embed().f32().slice();
    const J = (zv: Float32Array): number => ctx.sequenceLosses(new Tensor(zv, fp.z.shape)).toArray().reduce((p, q) => p + q, 0);
    const h = 1e-2;
    // real positions of rows 0 and 3, a few coordinates
    for (const idx of [(0 * 6 + 5) * 4 + 1, (0 * 6 + 2) * 4 + 3, (3 * 6 + 2) * 4 + 0]) {
      const up = z0.slice(), dn = z0.slice();
      up[idx] = Math.fround(z0[idx]! + h);
      dn[idx] = Math.fround(z0[idx]! - h);
      const fd = (J(up) - J(dn)) / (up[idx]! - dn[idx]!);
      expect(Math.abs(fd - fp.gradient.f32()[idx]!)).toBeLessThan(2e-3 + 1e-2 * Math.abs(fd));
    }
  });

  it('SASRec with dropout: no parameter gradient, spans inside the real items', () => {
    const model = createModel('sasrec', { numItems: 9, maxLen: 8, hiddenSize: 16, layers: 2, heads: 2, dropout: 0.2 }, new Generator(3, Streams.init));
    model.train();
    const batch = batchOf('next', 8);
    const fp = firstPass(modelContext(model, batch), 3);
    for (const p of model.parameters()) expect(p.grad).toBeNull();
    for (let b = 0; b < batch.B; b++) {
      expect(fp.location.indicator[b]).toBeGreaterThan(0);
      for (let l = 0; l < batch.L; l++) if (fp.location.spanMask[b * batch.L + l]) expect(batch.inputs[b * batch.L + l]).toBeGreaterThan(0);
    }
  });
});
