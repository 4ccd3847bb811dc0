/**
 * The A-FSR analysis helper for `seqfair audit`: per user â, the located span and the loss, from
 * the same code path as training's first pass; the model's mode and gradients are left alone.
 */
import { describe, expect, it } from 'vitest';
import { Generator, Streams } from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';
import { auditSpans, spanItemCounts } from '../../src/fairness/afsr-audit.js';
import { firstPass } from '../../src/fairness/afsr-locate.js';
import { batchOf, modelContext } from './helpers.js';

describe('audit', () => {
  it('one record per row: â, span positions and items, loss — as the training first pass (eval mode)', () => {
    const model = createModel('sasrec', { numItems: 9, maxLen: 8, hiddenSize: 16, layers: 1, heads: 2, dropout: 0.3 }, new Generator(2, Streams.init));
    model.train();
    const batches = [batchOf('next', 8), batchOf('next', 8)];
    const recs = auditSpans(model, batches, { spanSize: 5 });
    expect(model.training).toBe(true); // restored
    for (const p of model.parameters()) expect(p.grad).toBeNull();
    expect(recs.length).toBe(batches[0]!.B * 2);
    model.eval();
    const fp = firstPass(modelContext(model, batches[0]!), 5);
    model.train();
    const L = batches[0]!.L;
    for (let b = 0; b < batches[0]!.B; b++) {
      const r = recs[b]!;
      expect(r.user).toBe(batches[0]!.users[b]);
      expect(r.indicator).toBeCloseTo(fp.location.indicator[b]!, 6);
      expect(r.loss).toBeCloseTo(fp.values[b]!, 6);
      expect(r.center).toBe(fp.location.center[b]);
      expect(r.centerFromEnd).toBe(L - 1 - fp.location.center[b]!);
      expect(r.positions.length).toBeGreaterThan(0);
      expect(r.positions.length).toBeLessThanOrEqual(5);
      expect(r.items).toEqual(r.positions.map((l) => batches[0]!.inputs[b * L + l]));
      expect(r.positions).toContain(r.center);
    }
    // deterministic in eval mode: the second (identical) batch gives identical records
    expect(recs.slice(batches[0]!.B).map((r) => r.indicator)).toEqual(recs.slice(0, batches[0]!.B).map((r) => r.indicator));
    const counts = spanItemCounts(recs);
    expect(counts.reduce((p, c) => p + c.count, 0)).toBe(recs.reduce((p, r) => p + r.items.length, 0));
    for (let i = 1; i < counts.length; i++) expect(counts[i - 1]!.count).toBeGreaterThanOrEqual(counts[i]!.count);
  });
});
