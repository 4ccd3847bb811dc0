/**
 * 5. NARM's all-prefix pass (src/models/narm.ts, src/train/batches.ts 'all') against the
 *    per-prefix path it replaces: NARM run on each prefix separately, left-padded, reading the
 *    one representation of its last state (the paper's formula, written out here with engine
 *    primitives as the model computed it before).
 *    5.1 every position of one pass equals that prefix's own representation;
 *    5.2 over an epoch of sequences no longer than maxLen: the summed loss of every target and
 *        every parameter's gradient equal the per-prefix path's, on the reference and cpu backends;
 *    5.3 longer sequences: each target of a window row sees exactly train[window start : k], at
 *        least maxLen − ⌊maxLen/2⌋ + 1 items (all of them within a user's oldest block);
 *    5.4 encode with `lastOnly` (a 'last' batch, evaluation) equals the last position of the
 *        all-prefix pass, and so do a 'last' batch's losses and gradients, on both backends.
 */
import { describe, expect, it } from 'vitest';
import { type Backend, referenceBackend, withBackend } from '../../src/backend/index.js';
import { Generator, Streams, Tensor, concat, projectionCrossEntropy } from '../../src/engine/index.js';
import { type Narm, createModel, paddingMask } from '../../src/models/index.js';
import { maskColumn } from '../../src/models/base.js';
import { padSequences } from '../../src/data/batching.js';
import { epochBatches } from '../../src/train/batches.js';
import { inputMask, inputTensor, sequenceLosses, targetCounts } from '../../src/train/losses.js';
import { datasetFrom } from '../train/helpers.js';
import { cpuOrNull, cpuSkipNote, expectNormClose } from './helpers.js';

const MAX_LEN = 8;

/** The per-prefix NARM: (P, L) left-padded prefixes → (P, D), the representation of each whole row. */
function perPrefixHidden(m: Narm, ids: Tensor): Tensor {
  const [P, L] = ids.shape as [number, number];
  const mask = paddingMask(ids);
  const states = m.gru.forward(m.embed(ids), mask);
  const last = states.slice(1, L - 1, L); // c_g = h_L
  const e = m.a_global.forward(last).add(m.a_local.forward(states)).sigmoid();
  const alpha = m.v.forward(e).mul(maskColumn(mask));
  const local = alpha.mul(states).sum(1, true); // c_l = Σ_j α_j h_j
  return m.b.forward(concat([last, local], 2)).reshape([P, m.hiddenSize]);
}

function narm(numItems: number, seed: number): Narm {
  return createModel('narm', { numItems, maxLen: MAX_LEN, hiddenSize: 6, gruHidden: 10, layers: 2, dropout: 0, outputDropout: 0 },
    new Generator(seed, Streams.init)) as Narm;
}

// user → items; the last two of each are validation and test, so training sequences have 3..7 items
const short = datasetFrom({
  a: [1, 2, 3, 4, 5, 6, 7], b: [8, 9, 3, 10, 1], c: [11, 12, 13, 2, 5, 14, 9, 4, 6], d: [6, 5, 15, 16],
});
// training sequences of 20 and 13 distinct items (a row's items tell where its window ends), longer than MAX_LEN
const long = datasetFrom({
  e: Array.from({ length: 22 }, (_, i) => i + 1),
  f: Array.from({ length: 15 }, (_, i) => 40 - i),
});

const opts = (lastTargets: 'all' | 'random' | 'last' = 'all') => ({ batchSize: 3, maxLen: MAX_LEN, seed: 4, epoch: 0, maskProb: 0.2, lastTargets });

describe('5.1 one pass gives every prefix its own representation', () => {
  it('positions of a full sequence equal NARM on each prefix alone', () => withBackend(referenceBackend, () => {
    const m = narm(20, 3).eval();
    const seq = Int32Array.of(4, 9, 2, 13, 7, 7, 1, 18);
    const all = m.forward(new Tensor(padSequences([seq], MAX_LEN), [1, MAX_LEN])).f32();
    const prefixes = Array.from({ length: MAX_LEN }, (_, t) => seq.subarray(0, t + 1));
    const each = perPrefixHidden(m, new Tensor(padSequences(prefixes, MAX_LEN), [MAX_LEN, MAX_LEN])).f32();
    expectNormClose('hidden of every prefix', all, each, 1e-5);
    // a different last item changes only the last position
    const other = m.forward(new Tensor(padSequences([Int32Array.of(4, 9, 2, 13, 7, 7, 1, 3)], MAX_LEN), [1, MAX_LEN])).f32();
    const D = m.hiddenSize;
    expect(Array.from(other.subarray(0, (MAX_LEN - 1) * D))).toEqual(Array.from(all.subarray(0, (MAX_LEN - 1) * D)));
    expect(other[MAX_LEN * D - 1]).not.toBe(all[MAX_LEN * D - 1]);
  }));
});

interface Totals {
  loss: number;
  grads: Map<string, Float32Array>;
}

/** Σ over every target of its cross-entropy, and the gradients of that sum, through the epoch's window rows. */
function windowTotals(be: Backend, m: Narm): Totals {
  return withBackend(be, () => {
    m.zeroGrad();
    let loss = 0;
    for (const batch of epochBatches(short, 'last', opts())) {
      const counts = targetCounts(batch);
      // per-row means × their target counts = per-row sums
      const total = sequenceLosses(m, batch).mul(new Tensor(Float32Array.from(counts), [batch.B])).sum();
      loss += total.item();
      total.backward();
    }
    return { loss, grads: new Map(m.namedParameters().map(([n, p]) => [n, p.grad!.f32().slice()])) };
  });
}

/** The same sum over every prefix as its own left-padded row (the per-prefix path). */
function perPrefixTotals(be: Backend, m: Narm): Totals {
  return withBackend(be, () => {
    m.zeroGrad();
    const rows: Int32Array[] = [];
    const targets: number[] = [];
    for (const seq of short.train) for (let k = 1; k < seq.length; k++) { rows.push(seq.subarray(0, k)); targets.push(seq[k]!); }
    const hidden = perPrefixHidden(m, new Tensor(padSequences(rows, MAX_LEN), [rows.length, MAX_LEN]));
    const total = projectionCrossEntropy(hidden, m.outputTable(), new Tensor(Int32Array.from(targets), [rows.length]), { ignoreIndex: 0 }).sum();
    total.backward();
    return { loss: total.item(), grads: new Map(m.namedParameters().map(([n, p]) => [n, p.grad!.f32().slice()])) };
  });
}

describe('5.2 sequences up to maxLen: the loss and gradients of every prefix equal the per-prefix path', () => {
  const backends: [string, Backend | null][] = [['reference', referenceBackend], [`cpu${cpuSkipNote}`, cpuOrNull]];
  for (const [name, be] of backends) {
    it.skipIf(be === null)(`${name} backend`, () => {
      const m = narm(short.numItems, 5).train(); // training mode: dropout 0, so no randomness
      // every training sequence fits: the window rows hold each sequence once
      expect(short.train.every((s) => s.length - 1 <= MAX_LEN)).toBe(true);
      const mine = windowTotals(be!, m);
      const theirs = perPrefixTotals(be!, m);
      expect(mine.loss).toBeGreaterThan(0);
      expect(Math.abs(mine.loss - theirs.loss)).toBeLessThanOrEqual(1e-5 * theirs.loss);
      for (const [n, g] of theirs.grads) {
        expect(g.some((v) => v !== 0), `grad of ${n} is all zero`).toBe(true);
        expectNormClose(`grad ${n}`, mine.grads.get(n)!, g, 1e-4, 1e-7);
      }
    });
  }
});

describe('5.3 longer sequences: windows', () => {
  it("every target once; each sees train[window start : k], never fewer than maxLen − ⌊maxLen/2⌋ + 1 items", () => withBackend(referenceBackend, () => {
    const m = narm(long.numItems, 6).eval();
    const S = Math.floor(MAX_LEN / 2);
    const seen = new Map<string, number>();
    for (const batch of epochBatches(long, 'last', opts())) {
      const hidden = m.forward(new Tensor(batch.inputs, [batch.B, batch.L])).f32();
      const D = m.hiddenSize;
      for (let b = 0; b < batch.B; b++) {
        const user = batch.users[b]!;
        const seq = long.train[user]!;
        const row = batch.inputs.subarray(b * MAX_LEN, (b + 1) * MAX_LEN);
        const start = row.findIndex((v) => v !== 0);
        const from = seq.indexOf(row[start]!); // the window is train[from : last]
        for (let p = 0; p < MAX_LEN; p++) {
          const target = batch.targets[b * MAX_LEN + p]!;
          if (target === 0) continue;
          const k = from + p - start + 1; // the target is train[k], its input ends at train[k − 1]
          expect(seq[k]).toBe(target);
          const key = `${user}:${k}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
          if (k > 2 * S - 1) expect(k - from).toBeGreaterThanOrEqual(MAX_LEN - S + 1);
          else expect(from).toBe(0); // the oldest block: whole prefixes
          // its representation is NARM's on exactly those items
          const want = perPrefixHidden(m, new Tensor(padSequences([seq.subarray(from, k)], MAX_LEN), [1, MAX_LEN])).f32();
          expectNormClose(`user ${user} prefix ${k}`, hidden.subarray((b * MAX_LEN + p) * D, (b * MAX_LEN + p + 1) * D), want, 1e-5);
        }
      }
    }
    const total = long.train.reduce((a, s) => a + Math.max(0, s.length - 1), 0);
    expect(seen.size).toBe(total);
    expect([...seen.values()].every((c) => c === 1)).toBe(true);
  }));
});

describe('5.4 lastOnly: the last position alone, values and gradients', () => {
  const backends: [string, Backend | null][] = [['reference', referenceBackend], [`cpu${cpuSkipNote}`, cpuOrNull]];
  for (const [name, be] of backends) {
    it.skipIf(be === null)(`${name} backend`, () => withBackend(be!, () => {
      const m = narm(short.numItems, 8).train(); // dropout 0
      const D = m.hiddenSize;
      for (const rows of epochBatches(short, 'last', opts('last'))) {
        // the trainer's rows with their one target at the last position, as a 'last' batch
        const batch = { ...rows, kind: 'last' as const, targets: Int32Array.from({ length: rows.B }, (_, b) => rows.targets[b * rows.L + rows.L - 1]!) };
        expect(batch.targets.every((v) => v > 0)).toBe(true);
        const z = m.embed(inputTensor(batch)), mask = inputMask(batch);
        const full = m.encode(z, mask);
        const last = m.encode(z, mask, { lastOnly: true });
        expect(last.shape).toEqual([batch.B, 1, D]);
        expectNormClose('last hidden', last.f32(), full.slice(1, batch.L - 1, batch.L).f32(), 1e-6);

        m.zeroGrad();
        const fast = sequenceLosses(m, batch); // the 'last' batch takes the lastOnly path
        fast.sum().backward();
        const fastGrads = new Map(m.namedParameters().map(([n, p]) => [n, p.grad!.f32().slice()]));
        m.zeroGrad();
        const hidden = m.encode(m.embed(inputTensor(batch)), mask).slice(1, batch.L - 1, batch.L).reshape([batch.B, D]);
        const slow = projectionCrossEntropy(hidden, m.outputTable(), new Tensor(batch.targets.slice(0, batch.B), [batch.B]), { ignoreIndex: 0 });
        slow.sum().backward();
        expectNormClose('losses', fast.f32(), slow.f32(), 1e-6);
        for (const [n, p] of m.namedParameters()) expectNormClose(`grad ${n}`, fastGrads.get(n)!, p.grad!.f32(), 1e-5, 1e-8);
      }
    }));
  }
});
