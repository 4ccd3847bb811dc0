/**
 * Tests of src/train/losses.ts and src/fairness/erm.ts.
 *
 *   1. full-softmax per-sequence loss = a hand computation (next-item, last-position batches,
 *      a row without targets)
 *   2. sampled softmax and BCE = hand computations on the drawn candidates; negatives avoid the row
 *   3. gradients flow to the embeddings (z) given by the caller (A-FSR's path)
 *   4. ERM: mean over rows with targets, clear error on a non-finite loss
 */
import { describe, expect, it } from 'vitest';
import { Generator, Streams, Tensor, grad } from '../../src/engine/index.js';
import { lastItemBatch, nextItemBatch, type SequenceBatch } from '../../src/data/batching.js';
import { drawCandidates, sequenceForward, sequenceLosses, targetRows } from '../../src/train/losses.js';
import { ErmObjective } from '../../src/fairness/erm.js';
import type { ObjectiveContext } from '../../src/fairness/objective.js';
import { FixedScores, TinyMarkov } from './helpers.js';

const I = (...v: number[]): Int32Array => Int32Array.from(v);

// 4 items; S[i][j] = score of item j after item i (row/column 0: padding)
const S = [
  [0, 0, 0, 0, 0],
  [0.1, 0.0, 2.0, -1.0, 0.5],
  [-0.3, 1.0, 0.2, 3.0, -2.0],
  [0.0, 0.7, -0.4, 0.1, 1.5],
  [0.2, -1.2, 0.9, 0.3, 0.0],
];
const lse = (row: number[]): number => Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
const ce = (i: number, t: number): number => lse(S[i]!) - S[i]![t]!;
const softplus = (x: number): number => Math.log1p(Math.exp(x));

describe('1. full-softmax per-sequence losses', () => {
  const model = new FixedScores(4, S, 4);

  it('next-item batch: the mean over each row\'s target positions', () => {
    // row 0: 1 2 3 4 → inputs [1,2,3] targets [2,3,4]; row 1: 3 1 → inputs [3] targets [1];
    // row 2: a single item has no target at all
    const batch = nextItemBatch([I(1, 2, 3, 4), I(3, 1), I(2)], I(0, 1, 2), 4);
    const got = sequenceLosses(model, batch).toArray();
    const want = [(ce(1, 2) + ce(2, 3) + ce(3, 4)) / 3, ce(3, 1), 0];
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 5));
    expect([...targetRows(batch)]).toEqual([1, 1, 0]);
  });

  it('a sequence longer than maxLen keeps the most recent positions', () => {
    const batch = nextItemBatch([I(4, 1, 2, 3, 4, 2)], I(0), 3);
    // inputs [2,3,4] targets [3,4,2]
    expect(sequenceLosses(model, batch).item()).toBeCloseTo((ce(2, 3) + ce(3, 4) + ce(4, 2)) / 3, 5);
  });

  it('last-position batch (NARM-style models): the loss of the one target, read at the last position', () => {
    const m = new TinyMarkov({ numItems: 4, hidden: 5, maxLen: 4, dropout: 0, targetKind: 'last' });
    const batch = lastItemBatch([I(1, 2, 3), I(4, 2)], I(0, 1), 4);
    const got = sequenceLosses(m, batch).toArray();
    // hand: hidden of the last input position scored against the output table
    const z = m.embed(new Tensor(batch.inputs, [2, 4]));
    const h = m.encode(z, new Tensor(new Int32Array(8).fill(1), [2, 4])).slice(1, 3, 4).reshape([2, m.hiddenSize]);
    const scores = m.scores(h).toArray();
    const V = m.vocabSize;
    const want = [0, 1].map((b) => lse(scores.slice(b * V, b * V + V)) - scores[b * V + batch.targets[b]!]!);
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 5));
  });
});

describe('2. sampled losses', () => {
  const model = new FixedScores(30, Array.from({ length: 31 }, (_, i) => Array.from({ length: 31 }, (_, j) => Math.sin(i * 7 + j * 3))), 4);
  const batch = nextItemBatch([I(1, 2, 3), I(5, 6)], I(0, 1), 4);
  const active = [2, 3, 7]; // (row, position) with a target: row 0 positions 2, 3; row 1 position 3

  const candidates = (K: number): Int32Array => drawCandidates(batch, 30, 4, active, K, new Generator(9, Streams.negatives));

  it('negatives are distinct, never in the row, and the target leads each list', () => {
    const K = 10;
    const c = candidates(K);
    active.forEach((r, a) => {
      const list = [...c.subarray(a * (K + 1), (a + 1) * (K + 1))];
      expect(list[0]).toBe(batch.targets[r]);
      const negs = list.slice(1);
      expect(new Set(negs).size).toBe(K);
      const row = Math.floor(r / 4);
      const seen = row === 0 ? [1, 2, 3] : [5, 6];
      for (const n of negs) {
        expect(seen).not.toContain(n);
        expect(n).toBeGreaterThanOrEqual(1);
        expect(n).toBeLessThanOrEqual(30);
      }
    });
  });

  it('sampled softmax = softmax over target + negatives, averaged per row', () => {
    const K = 5;
    const c = candidates(K);
    const got = sequenceLosses(model, batch, { loss: 'sampled-softmax', numNegatives: K, gen: new Generator(9, Streams.negatives) }).toArray();
    const inputOf = (r: number): number => batch.inputs[r]!;
    const rowLoss = (a: number): number => {
      const i = inputOf(active[a]!);
      const s = [...c.subarray(a * (K + 1), (a + 1) * (K + 1))].map((j) => Math.sin(i * 7 + j * 3));
      return lse(s) - s[0]!;
    };
    expect(got[0]).toBeCloseTo((rowLoss(0) + rowLoss(1)) / 2, 5);
    expect(got[1]).toBeCloseTo(rowLoss(2), 5);
  });

  it('BCE = softplus(−s⁺) + Σ softplus(s⁻), averaged per row', () => {
    const K = 3;
    const c = candidates(K);
    const got = sequenceLosses(model, batch, { loss: 'bce', numNegatives: K, gen: new Generator(9, Streams.negatives) }).toArray();
    const rowLoss = (a: number): number => {
      const i = batch.inputs[active[a]!]!;
      const s = [...c.subarray(a * (K + 1), (a + 1) * (K + 1))].map((j) => Math.sin(i * 7 + j * 3));
      return softplus(-s[0]!) + s.slice(1).reduce((acc, v) => acc + softplus(v), 0);
    };
    expect(got[0]).toBeCloseTo((rowLoss(0) + rowLoss(1)) / 2, 5);
    expect(got[1]).toBeCloseTo(rowLoss(2), 5);
  });

  it('target weights scale each position inside its row\'s mean, for every loss kind (class-balanced)', () => {
    // weights at the active positions 2, 3 (row 0) and 7 (row 1); the mean still divides by n_b
    const tw = new Float32Array(8);
    tw[2] = 2; tw[3] = 0.5; tw[7] = 3;
    for (const loss of ['ce', 'sampled-softmax', 'bce'] as const) {
      const opts = { loss, numNegatives: 4 };
      const gen = (): Generator => new Generator(9, Streams.negatives);
      const plain = sequenceForward(model, batch, { ...opts, gen: gen() });
      const weighted = sequenceForward(model, batch, { ...opts, gen: gen(), targetWeights: tw });
      // per-position losses from one-position weights
      const at = (r: number): number => {
        const one = new Float32Array(8);
        one[r] = 1;
        return sequenceForward(model, batch, { ...opts, gen: gen(), targetWeights: one }).losses.toArray()[Math.floor(r / 4)]!;
      };
      const [l2, l3, l7] = [at(2) * 2, at(3) * 2, at(7)]; // × n_b undoes the 1/n_b of the one-hot weight
      expect(plain.losses.toArray()[0]).toBeCloseTo((l2 + l3) / 2, 5);
      expect(weighted.losses.toArray()[0]).toBeCloseTo((2 * l2 + 0.5 * l3) / 2, 5);
      expect(weighted.losses.toArray()[1]).toBeCloseTo(3 * l7, 5);
      expect(weighted.hidden.shape).toEqual([2, 4, model.hiddenSize]);
    }
    expect(() => sequenceForward(model, batch, { targetWeights: new Float32Array(3) })).toThrow(/3 target weights for a batch of 2×4/);
  });

  it('the default numbers of negatives are 100 (sampled softmax) and 1 (BCE)', () => {
    const big = new FixedScores(150, Array.from({ length: 151 }, () => new Array(151).fill(0)), 4);
    // all scores 0: sampled softmax over 101 candidates is ln 101; BCE with one negative is 2 ln 2
    expect(sequenceLosses(big, batch, { loss: 'sampled-softmax' }).toArray()[1]).toBeCloseTo(Math.log(101), 5);
    expect(sequenceLosses(big, batch, { loss: 'bce' }).toArray()[1]).toBeCloseTo(2 * Math.log(2), 5);
  });
});

describe('3. gradients', () => {
  it('reach a z given by the caller, for every loss kind', () => {
    const m = new TinyMarkov({ numItems: 20, hidden: 6, maxLen: 5, dropout: 0 });
    const batch = nextItemBatch([I(1, 2, 3, 4), I(7, 8, 9)], I(0, 1), 5);
    for (const loss of ['ce', 'sampled-softmax', 'bce'] as const) {
      const z = m.embed(new Tensor(batch.inputs, [2, 5])).detach();
      z.requiresGrad = true;
      const total = sequenceLosses(m, batch, { loss, z, numNegatives: 4, gen: new Generator(1, Streams.negatives) }).sum();
      const [gz] = grad(total, [z]);
      const g = gz!.toArray();
      // row 0 inputs are [0,0,1,2,3]: padding slots 0-1 (6 values each) get no gradient …
      expect(g.slice(0, 12).every((v) => v === 0)).toBe(true);
      // … real positions do
      expect(g.slice(12, 18).some((v) => v !== 0)).toBe(true);
    }
  });
});

describe('4. ERM', () => {
  const model = new FixedScores(4, S, 4);
  const ctxOf = (batch: SequenceBatch, losses?: Tensor): ObjectiveContext => ({
    model, batch, groups: null, numGroups: 0, step: 17,
    embed: () => model.embed(new Tensor(batch.inputs, [batch.B, batch.L])),
    sequenceLosses: () => losses ?? sequenceLosses(model, batch),
    forward: (_z, o) => ({ ...sequenceForward(model, batch, o), ...(losses ? { losses } : {}) }),
  });

  it('averages over the rows that have a target', () => {
    const batch = nextItemBatch([I(1, 2, 3, 4), I(3, 1), I(2)], I(0, 1, 2), 4);
    const want = ((ce(1, 2) + ce(2, 3) + ce(3, 4)) / 3 + ce(3, 1)) / 2;
    expect(new ErmObjective().loss(ctxOf(batch)).item()).toBeCloseTo(want, 5);
  });

  it('throws on a non-finite loss, naming the step and the first bad row', () => {
    const batch = nextItemBatch([I(1, 2), I(3, 1)], I(5, 6), 4);
    const bad = new Tensor(Float32Array.of(1, Number.NaN), [2]);
    expect(() => new ErmObjective().loss(ctxOf(batch, bad))).toThrow(/erm: the loss is NaN at step 17 \(1 of 2 per-sequence losses are not finite, the first at row 1, user 6\)/);
  });
});
