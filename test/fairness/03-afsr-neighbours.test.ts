/**
 * A-FSR parts (b) and (c) on a hand-built embedding table.
 *
 *   1. 1-hop and 2-hop neighbourhoods (cosine, not dot product; padding and mask-token rows are
 *      never neighbours); the table's state round trip
 *   2. Dirichlet Neighbour Smoothing: weights positive on the neighbourhood, 0 on padding, summing
 *      to 1; the smoothed vector is that convex combination (inside the hull); z is kept outside
 *      the span; gradients reach the neighbours' rows (and do not with keepGrad = false)
 */
import { describe, expect, it } from 'vitest';
import { Generator, Streams, Tensor } from '../../src/engine/index.js';
import { NeighbourTable, itemEmbeddings } from '../../src/fairness/afsr-neighbours.js';
import { smoothSpans } from '../../src/fairness/afsr-smooth.js';
import { PrefixMean, maxDiff } from './helpers.js';

// items 1..6 at these angles (degrees) and lengths: cosine depends on the angle only
const angles = [0, 10, 25, 90, 100, 200];
const lengths = [1, 2, 0.5, 3, 1, 2];

function handModel(cloze = false): PrefixMean {
  const m = new PrefixMean({ numItems: 6, hidden: 2, maxLen: 4, targetKind: cloze ? 'cloze' : 'next' });
  const w = m.items.weight.values;
  // the padding row (and the mask token) point exactly like item 1 / item 4: they must never be chosen
  w.set([1, 0.001], 0);
  angles.forEach((a, i) => {
    const r = (a * Math.PI) / 180;
    w.set([lengths[i]! * Math.cos(r), lengths[i]! * Math.sin(r)], (i + 1) * 2);
  });
  if (cloze) w.set([0.001, 1], 7 * 2);
  return m;
}

describe('1. neighbourhoods', () => {
  it('k = 2: 1-hop by cosine, 2-hop = union over the neighbours, self excluded', () => {
    for (const cloze of [false, true]) {
      const model = handModel(cloze);
      expect(itemEmbeddings(model).shape).toEqual([6, 2]);
      const t = NeighbourTable.build(model, 2, 0);
      // 1-hop as rows (item − 1), most similar first
      expect(Array.from(t.indices).map((r) => r + 1)).toEqual([2, 3, 1, 3, 2, 1, 5, 3, 4, 3, 5, 4]);
      expect([1, 2, 3, 4, 5, 6].map((i) => t.neighbours(i))).toEqual([[2, 3], [1, 3], [1, 2], [1, 2, 3, 5], [1, 2, 3, 4], [3, 4, 5]]);
      expect(Array.from(t.counts)).toEqual([2, 2, 2, 4, 4, 3]);
      expect(t.width).toBe(6);
    }
  });

  it('k = 1', () => {
    const t = NeighbourTable.build(handModel(), 1, 0);
    expect([1, 2, 3, 4, 5, 6].map((i) => t.neighbours(i))).toEqual([[2], [1], [1, 2], [5], [4], [4, 5]]);
  });

  it('state round trip; too few items for k is a clear error', () => {
    const t = NeighbourTable.build(handModel(), 2, 7);
    const s = JSON.parse(JSON.stringify(t.toState())) as Record<string, unknown>;
    const u = NeighbourTable.fromState(s, 2, 6);
    expect(Array.from(u.neighbourIds)).toEqual(Array.from(t.neighbourIds));
    expect(u.refreshedAt).toBe(7);
    expect(() => NeighbourTable.fromState(s, 3, 6)).toThrow(/k = 2 over 6 items/);
    expect(() => NeighbourTable.build(handModel(), 6, 0)).toThrow(/6 neighbours per item need at least 7 items/);
  });
});

describe('2. Dirichlet neighbour smoothing', () => {
  const model = handModel();
  const table = NeighbourTable.build(model, 2, 0);
  const items = Int32Array.from([0, 1, 4, 6, 2, 3, 5, 1]);
  const span = Uint8Array.from([0, 1, 1, 0, 0, 0, 1, 1]);
  const B = 2, L = 4, D = 2;
  const emb = (i: number): [number, number] => [model.items.weight.values[i * 2]!, model.items.weight.values[i * 2 + 1]!];

  it('weights: positive on the neighbourhood, 0 on padding, sum 1; the smoothed vector is their convex combination', () => {
    const z = model.embed(new Tensor(items, [B, L]));
    const s = smoothSpans(model, z, items, span, table, { beta: 1, gen: new Generator(5, Streams.dirichlet) });
    expect(Array.from(s.positions)).toEqual([1, 2, 6, 7]);
    const K = table.width;
    const zt = s.zTilde.f32();
    s.positions.forEach((p, r) => {
      const nb = table.neighbours(items[p]!);
      expect(Array.from(s.neighbourIds.subarray(r * K, r * K + nb.length))).toEqual(nb);
      const w = s.weights.subarray(r * K, (r + 1) * K);
      let sum = 0;
      w.forEach((x, j) => {
        if (j < nb.length) expect(x).toBeGreaterThan(0);
        else expect(x).toBe(0);
        sum += x;
      });
      expect(sum).toBeCloseTo(1, 5);
      const want = [0, 0];
      nb.forEach((n, j) => { want[0]! += w[j]! * emb(n)[0]; want[1]! += w[j]! * emb(n)[1]; });
      expect(maxDiff(zt.subarray(p * D, p * D + D), want)).toBeLessThan(1e-6);
      for (let d = 0; d < D; d++) {
        const xs = nb.map((n) => emb(n)[d]!);
        expect(zt[p * D + d]!).toBeGreaterThanOrEqual(Math.min(...xs) - 1e-6);
        expect(zt[p * D + d]!).toBeLessThanOrEqual(Math.max(...xs) + 1e-6);
      }
    });
    // every other position keeps z
    for (const p of [0, 3, 4, 5]) expect(Array.from(zt.subarray(p * D, p * D + D))).toEqual(Array.from(z.f32().subarray(p * D, p * D + D)));
    // the same generator seed draws the same weights
    const again = smoothSpans(model, z, items, span, table, { beta: 1, gen: new Generator(5, Streams.dirichlet) });
    expect(Array.from(again.weights)).toEqual(Array.from(s.weights));
  });

  it('gradients reach the neighbours\' rows through the mix (and not with keepGrad = false)', () => {
    const upstream = Float32Array.from({ length: B * L * D }, (_, i) => 0.1 * (i + 1));
    for (const keep of [true, false]) {
      model.zeroGrad();
      const z = model.embed(new Tensor(items, [B, L]));
      const s = smoothSpans(model, z, items, span, table, { beta: 1, gen: new Generator(9, Streams.dirichlet), keepGrad: keep });
      s.zTilde.backward(upstream);
      const want = new Float32Array(7 * D);
      for (let p = 0; p < B * L; p++) {
        if (span[p] || items[p] === 0) continue; // z at span positions is replaced; padding row gets none
        for (let d = 0; d < D; d++) want[items[p]! * D + d]! += upstream[p * D + d]!;
      }
      if (keep) {
        const K = table.width;
        s.positions.forEach((p, r) => {
          for (let j = 0; j < K; j++) {
            const n = s.neighbourIds[r * K + j]!;
            if (n < 0) continue;
            for (let d = 0; d < D; d++) want[n * D + d]! += s.weights[r * K + j]! * upstream[p * D + d]!;
          }
        });
      }
      expect(maxDiff(model.items.weight.grad!.f32(), want)).toBeLessThan(1e-5);
    }
  });

  it('flat Dirichlet: the average weights over many draws are close to uniform', () => {
    const gen = new Generator(11, Streams.dirichlet);
    const z = model.embed(new Tensor(items, [B, L]));
    const K = table.width;
    const acc = new Float64Array(K);
    const runs = 400;
    for (let i = 0; i < runs; i++) {
      const s = smoothSpans(model, z, items, span, table, { beta: 1, gen });
      for (let j = 0; j < K; j++) acc[j]! += s.weights[1 * K + j]! / runs; // position 2 = item 4: 4 neighbours
    }
    for (let j = 0; j < 4; j++) expect(acc[j]).toBeCloseTo(0.25, 1);
  });
});
