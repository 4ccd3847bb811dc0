/**
 * The gradient-reversal layer and the adversarial objective.
 *
 *   1. GRL: identity forward; backward = −α × the derivative of the forward (finite differences)
 *   2. adv: the recommender's gradient = ∇ERM − α∇CE (the adversary's term flipped), while the
 *      adversary's own gradient is the plain ∇CE; the adversary learns on its own optimiser
 *   3. adv's state (weights, Adam moments, the pending gradient) resumes exactly; checks
 *   4. inputNorm 'rms': the adversary reads h's direction only, so scaling h cannot raise its loss
 */
import { describe, expect, it } from 'vitest';
import { Tensor, crossEntropy } from '../../src/engine/index.js';
import { gradientReversal } from '../../src/fairness/grl.js';
import { AdvObjective, adversaryInput } from '../../src/fairness/adv.js';
import { PrefixMean, batchOf, maxDiff, modelContext } from './helpers.js';

describe('1. gradient reversal', () => {
  it('forward is the identity, backward is −α times the forward\'s derivative', () => {
    const xv = [0.3, -1.2, 2.5, 0];
    const c = new Tensor(Float32Array.from([1, -2, 0.5, 3]), [4]);
    for (const alpha of [1, 0.25]) {
      const x = new Tensor(Float32Array.from(xv), [4], { requiresGrad: true });
      const y = gradientReversal(x, alpha);
      expect(y.toArray()).toEqual(x.toArray());
      y.mul(c).sum().backward();
      // central differences of the forward J(x) = Σ c·GRL(x) = Σ c·x
      const J = (v: number[]): number => gradientReversal(new Tensor(Float32Array.from(v), [4]), alpha).mul(c).sum().item();
      xv.forEach((_, i) => {
        const up = [...xv], dn = [...xv];
        up[i]! += 1e-2;
        dn[i]! -= 1e-2;
        const fd = (J(up) - J(dn)) / 2e-2;
        expect(fd).toBeCloseTo(c.toArray()[i]!, 3);
        expect(x.grad!.toArray()[i]).toBeCloseTo(-alpha * fd, 3); // reversed and scaled
      });
    }
    expect(() => gradientReversal(new Tensor(Float32Array.of(1), [1]), -1)).toThrow(/alpha/);
  });
});

const model = new PrefixMean({ numItems: 9, hidden: 4, maxLen: 8, seed: 8 });
const batch = batchOf('next');
const groups = { ids: Int32Array.from([0, 1, 0, 1, 1, 0]), numGroups: 2 };
const ctx = () => modelContext(model, batch, groups);

function grads(): number[][] {
  return model.parameters().map((p) => (p.grad ? p.grad.toArray() : new Array(p.size).fill(0)));
}

describe('2. adv', () => {
  it('the recommender gets ∇ERM − α∇CE, the adversary plain ∇CE', () => {
    const alpha = 0.7;
    const obj = new AdvObjective(4, 2, { alpha, seed: 3 });
    model.zeroGrad();
    const loss = obj.loss(ctx());
    loss.backward();
    const got = grads();
    const advGot = obj.adversary.parameters().map((p) => p.grad!.toArray());
    obj.optimizer.zeroGrad();
    // by hand, without the reversal: ERM and CE separately
    model.zeroGrad();
    const c = ctx();
    const z = c.embed();
    const h = model.encode(z, new Tensor(Int32Array.from(batch.inputs, (x) => (x ? 1 : 0)), [batch.B, batch.L]));
    const last = h.slice(1, batch.L - 1, batch.L).reshape([batch.B, 4]);
    const ce = crossEntropy(obj.adversary.forward(last), new Tensor(groups.ids, [batch.B])).mean();
    ce.backward();
    const ceGrads = grads();
    const advWant = obj.adversary.parameters().map((p) => p.grad!.toArray());
    obj.optimizer.zeroGrad();
    model.zeroGrad();
    c.sequenceLosses().mean().backward();
    const erm = grads();
    got.forEach((g, i) => {
      const want = g.map((_, j) => erm[i]![j]! - alpha * ceGrads[i]![j]!);
      expect(maxDiff(g, want)).toBeLessThan(1e-5);
    });
    advGot.forEach((g, i) => expect(maxDiff(g, advWant[i]!)).toBeLessThan(1e-6));
    expect(loss.item()).toBeCloseTo(c.sequenceLosses().mean().item() + ce.item(), 5);
    model.zeroGrad();
  });

  it('the adversary learns on its own optimiser (the model is not stepped)', () => {
    const obj = new AdvObjective(4, 2, { lr: 5e-2, seed: 1 });
    const before = obj.adversary.parameters().map((p) => p.toArray());
    const ce: number[] = [];
    for (let s = 0; s < 200; s++) {
      model.zeroGrad();
      obj.loss(modelContext(model, batch, groups, s)).backward();
      ce.push(obj.lastAdversaryLoss);
    }
    model.zeroGrad();
    expect(ce[199]!).toBeLessThan(ce[0]! - 0.2);
    expect(obj.lastAdversaryAccuracy).toBe(1); // six rows: it can memorise them
    expect(maxDiff(obj.adversary.parameters()[0]!.toArray(), before[0]!)).toBeGreaterThan(1e-3);
    expect(obj.optimizer.stepCount).toBe(199); // the 200th step waits for the next loss()
  });
});

describe('3. state and checks', () => {
  it('weights, Adam moments and the pending gradient resume exactly (through JSON)', () => {
    const a = new AdvObjective(4, 2, { lr: 1e-2 });
    for (let s = 0; s < 3; s++) {
      model.zeroGrad();
      a.loss(modelContext(model, batch, groups, s)).backward();
    }
    const state = JSON.parse(JSON.stringify(a.stateDict())) as Record<string, unknown>;
    const b = new AdvObjective(4, 2, { lr: 1e-2, seed: 99 });
    b.loadStateDict(state);
    model.zeroGrad();
    const la = a.loss(modelContext(model, batch, groups, 3)).item();
    const lb = b.loss(modelContext(model, batch, groups, 3)).item();
    expect(lb).toBe(la);
    a.adversary.parameters().forEach((p, i) => expect(b.adversary.parameters()[i]!.toArray()).toEqual(p.toArray()));
    expect(b.optimizer.stepCount).toBe(a.optimizer.stepCount);
    model.zeroGrad();
    expect(() => b.loadStateDict({ kind: 'adv', adversary: {}, optimizer: {}, pendingGrads: [] })).toThrow(/pendingGrads/);
  });

  it('needs groups, and at least two of them', () => {
    expect(() => new AdvObjective(4, 1)).toThrow(/at least 2 groups/);
    expect(() => new AdvObjective(4, 2).loss(modelContext(model, batch))).toThrow(/needs user groups/);
    expect(() => new AdvObjective(4, 3).loss(ctx())).toThrow(/built for 3 groups but the training context has 2/);
  });
});

describe('4. inputNorm rms', () => {
  const hv = [0.5, -1, 2, 0.25, -3, 0.1, 0.7, 1.5];

  it('divides each row by its root mean square, so the input is the same for h and 10·h', () => {
    const u = adversaryInput(new Tensor(Float32Array.from(hv), [2, 4]), 'rms').toArray();
    const rms0 = Math.sqrt((0.25 + 1 + 4 + 0.0625) / 4 + 1e-6);
    expect(u[0]).toBeCloseTo(0.5 / rms0, 6);
    const u10 = adversaryInput(new Tensor(Float32Array.from(hv, (x) => 10 * x), [2, 4]), 'rms').toArray();
    expect(maxDiff(u, u10)).toBeLessThan(1e-5);
    expect(adversaryInput(new Tensor(Float32Array.from(hv), [2, 4]), 'none').toArray()).toEqual(Array.from(Float32Array.from(hv)));
  });

  it('its gradient is orthogonal to h per row (no push along h) and matches finite differences', () => {
    const c = new Tensor(Float32Array.from([1, -2, 0.5, 3, -1, 0.3, 2, -0.4]), [2, 4]);
    const J = (v: number[]): number => adversaryInput(new Tensor(Float32Array.from(v), [2, 4]), 'rms').mul(c).sum().item();
    const h = new Tensor(Float32Array.from(hv), [2, 4], { requiresGrad: true });
    adversaryInput(h, 'rms').mul(c).sum().backward();
    const g = h.grad!.toArray();
    for (const r of [0, 1]) {
      let dot = 0;
      for (let d = 0; d < 4; d++) dot += g[r * 4 + d]! * hv[r * 4 + d]!;
      expect(Math.abs(dot)).toBeLessThan(1e-4);
    }
    hv.forEach((_, i) => {
      const up = [...hv], dn = [...hv];
      up[i]! += 1e-2;
      dn[i]! -= 1e-2;
      expect(g[i]).toBeCloseTo((J(up) - J(dn)) / 2e-2, 2);
    });
  });

  it('trains through the objective, is recorded in the config only when set, and rejects other values', () => {
    const obj = new AdvObjective(4, 2, { inputNorm: 'rms', seed: 3 });
    model.zeroGrad();
    const loss = obj.loss(ctx());
    loss.backward();
    expect(Number.isFinite(loss.item())).toBe(true);
    expect(obj.adversary.parameters().every((p) => p.grad !== null)).toBe(true);
    model.zeroGrad();
    obj.optimizer.zeroGrad();
    expect(obj.config.inputNorm).toBe('rms');
    expect('inputNorm' in new AdvObjective(4, 2).config).toBe(false);
    expect(() => new AdvObjective(4, 2, { inputNorm: 'layer' as never })).toThrow(/inputNorm must be one of none, rms/);
  });
});
