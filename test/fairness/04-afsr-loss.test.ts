/**
 * A-FSR part (d), Eq. 13, against manual computations on the deterministic PrefixMean model:
 *
 *   1. the χ²-DRO term over the top-M rows by â: r = 0 (mean), small r (closed form of
 *      FORMAT.md 4.13), large r (the max), M = 1; value and every parameter gradient
 *   2. full A-FSR: the second pass on z̃ (recomputed with the same Dirichlet draws), loss =
 *      rec + λ·dro; afsr-no-dro is the plain mean on z̃; the first pass inside loss() leaves the
 *      parameters' .grad null
 *   3. the neighbour refresh schedule and the state dict; option checks
 *   4. cvarAlpha < 1 (beyond the paper): the first term is CVaR_α of the losses, by hand
 */
import { describe, expect, it } from 'vitest';
import { Generator, Streams, Tensor, grad } from '../../src/engine/index.js';
import { AfsrObjective } from '../../src/fairness/afsr.js';
import { smoothSpans } from '../../src/fairness/afsr-smooth.js';
import { firstPass } from '../../src/fairness/afsr-locate.js';
import { PrefixMean, batchOf, maxDiff, modelContext } from './helpers.js';

const model = new PrefixMean({ numItems: 9, hidden: 4, maxLen: 8, seed: 6 });
const batch = batchOf('next');
const ctx = () => modelContext(model, batch, null, 0);

/** â per row computed here by hand from ∂(Σℓ)/∂z (not with the gradNorm op). */
function manualIndicator(): number[] {
  const c = ctx();
  const z = c.embed();
  const [g] = grad(c.sequenceLosses(z).sum(), [z]);
  const gv = g!.f32();
  const { B, L } = batch;
  return Array.from({ length: B }, (_, b) => {
    let mx = 0;
    for (let l = 0; l < L; l++) {
      if (batch.inputs[b * L + l] === 0) continue;
      let s = 0;
      for (let d = 0; d < 4; d++) s += gv[((b * L + l) * 4) + d]! ** 2;
      mx = Math.max(mx, Math.sqrt(s));
    }
    return mx;
  });
}

/** χ² weights by the closed form on the support (FORMAT.md 4.13), written independently. */
function closedFormChi2(v: number[], r: number): number[] {
  const M = v.length;
  if (M === 1) return [1];
  const sorted = [...v].sort((a, b) => b - a);
  if (r === 0) return v.map(() => 1 / M);
  if (r >= 0.5 * (M - 1)) return v.map((x) => (x === sorted[0] ? 1 : 0));
  for (let s = M; s >= 2; s--) {
    const top = sorted.slice(0, s);
    const mu = top.reduce((p, q) => p + q, 0) / s;
    const sd = Math.sqrt(top.reduce((p, q) => p + (q - mu) ** 2, 0) / s);
    const k = (s * (2 * r + 1)) / M - 1;
    if (k <= 0) continue;
    const eta = mu - sd / Math.sqrt(k);
    if (eta < sorted[s - 1]! && (s === M || eta >= sorted[s]!)) {
      const q = v.map((x) => Math.max(0, x - eta));
      const z = q.reduce((p, x) => p + x, 0);
      return q.map((x) => x / z);
    }
  }
  throw new Error('closedFormChi2: no support found');
}

/** Parameter gradients of a scalar built by `f` (fresh, then cleared). */
function paramGrads(f: () => Tensor): number[][] {
  model.zeroGrad();
  f().backward();
  const out = model.parameters().map((p) => (p.grad ? p.grad.toArray() : new Array(p.size).fill(0)));
  model.zeroGrad();
  return out;
}

describe('1. the χ²-DRO term of Eq. 13 (afsr-no-dns: on the original z)', () => {
  const ind = manualIndicator();
  const base = ctx().sequenceLosses().toArray();
  const n = batch.B;
  const cases: [string, number, number, number][] = [
    // name, M, λ, r
    ['r = 0: the mean of the top-M losses', 5, 0.3, 0],
    ['small r: the closed form', 5, 0.3, 0.1],
    ['small r, M = 3', 3, 0.5, 0.05],
    ['large r: all weight on the largest', 5, 0.3, 2],
    ['M = 1', 1, 0.3, 0.4],
  ];
  for (const [name, M, lambda, r] of cases) {
    it(name, () => {
      const obj = new AfsrObjective({ groupSize: M, lambda, radius: r }, 'afsr-no-dns');
      const top = ind.map((x, b) => [x, b] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, M).map(([, b]) => b);
      const q = closedFormChi2(top.map((b) => base[b]!), r);
      const rec = base.reduce((p, x) => p + x, 0) / n;
      const dro = top.reduce((p, b, m) => p + q[m]! * base[b]!, 0);
      if (r === 0) expect(dro).toBeCloseTo(top.reduce((p, b) => p + base[b]!, 0) / M, 6);
      if (r >= 2 || M === 1) expect(dro).toBeCloseTo(Math.max(...top.map((b) => base[b]!)), 6);
      if (r > 0 && r < 2 && M > 1) {
        // really the interior case: more than one row weighted, and not uniformly
        expect(q.filter((x) => x > 0).length).toBeGreaterThan(1);
        expect(Math.max(...q) - Math.min(...q)).toBeGreaterThan(1e-3);
      }

      model.zeroGrad();
      const loss = obj.loss(ctx());
      for (const p of model.parameters()) expect(p.grad).toBeNull(); // the first pass touched none
      expect(loss.item()).toBeCloseTo(rec + lambda * dro, 5);
      expect(obj.last!.top).toEqual(top);
      expect(maxDiff(obj.last!.q, q)).toBeLessThan(1e-6);
      // gradients: the same as the manual weighted sum (q constant)
      const got = paramGrads(() => obj.loss(ctx()));
      const coef = new Float32Array(n).fill(1 / n);
      top.forEach((b, m) => { coef[b]! += lambda * q[m]!; });
      const want = paramGrads(() => ctx().sequenceLosses().mul(new Tensor(coef, [n])).sum());
      got.forEach((g, i) => expect(maxDiff(g, want[i]!)).toBeLessThan(1e-5));
    });
  }
});

describe('2. full A-FSR and afsr-no-dro', () => {
  it('loss = mean ℓ(z̃) + λ Σ q ℓ_top(z̃), z̃ from the same Dirichlet draws', () => {
    const obj = new AfsrObjective({ lambda: 0.2, groupSize: 3, neighbours: 2, gen: new Generator(21, Streams.dirichlet) });
    const loss = obj.loss(ctx());
    for (const p of model.parameters()) expect(p.grad).toBeNull();
    const info = obj.last!;
    // recompute z̃ with the objective's table and the same generator position
    const c = ctx();
    const fp = firstPass(c, 3);
    expect(Array.from(fp.location.spanMask)).toEqual(Array.from(info.location.spanMask));
    const s = smoothSpans(model, fp.z, batch.inputs, fp.location.spanMask, obj.neighbourTable!, { beta: 1, gen: new Generator(21, Streams.dirichlet) });
    expect(Array.from(s.weights)).toEqual(Array.from(info.dirichletWeights));
    const ls = c.sequenceLosses(s.zTilde).toArray();
    expect(maxDiff(ls, info.lossesSmoothed)).toBeLessThan(1e-6);
    // smoothing changed the losses of rows with a span
    expect(maxDiff(ls, info.lossesOriginal)).toBeGreaterThan(1e-4);
    const q = closedFormChi2(info.top.map((b) => ls[b]!), 0.2);
    const dro = info.top.reduce((p, b, m) => p + q[m]! * ls[b]!, 0);
    expect(info.droLoss).toBeCloseTo(dro, 5);
    expect(loss.item()).toBeCloseTo(ls.reduce((p, x) => p + x, 0) / batch.B + 0.2 * dro, 5);
    // and the backward reaches the parameters
    loss.backward();
    expect(model.items.weight.grad).not.toBeNull();
    model.zeroGrad();
  });

  it('afsr-no-dro: the plain mean on z̃ (λ = 0: no top-M, no χ² term)', () => {
    const obj = new AfsrObjective({ neighbours: 2, gen: new Generator(4, Streams.dirichlet) }, 'afsr-no-dro');
    const loss = obj.loss(ctx());
    expect(obj.lambda).toBe(0);
    expect(obj.last!.top).toEqual([]);
    const mean = obj.last!.lossesSmoothed.reduce((p, x) => p + x, 0) / batch.B;
    expect(loss.item()).toBeCloseTo(mean, 6);
  });
});

describe('3. refresh schedule, state, options', () => {
  it('the table is built at the first step and rebuilt every refreshEvery steps; the state resumes it', () => {
    const obj = new AfsrObjective({ neighbours: 2, refreshEvery: 3 });
    const at = (step: number): number => {
      obj.loss(modelContext(model, batch, null, step));
      return obj.neighbourTable!.refreshedAt;
    };
    expect([0, 1, 2].map(at)).toEqual([0, 0, 0]);
    const state = JSON.parse(JSON.stringify(obj.stateDict())) as Record<string, unknown>;
    expect(at(3)).toBe(3);
    const resumed = new AfsrObjective({ neighbours: 2, refreshEvery: 3 });
    resumed.loadStateDict(state);
    expect(resumed.neighbourTable!.refreshedAt).toBe(0);
    expect(Array.from(resumed.neighbourTable!.neighbourIds)).toEqual(Array.from(obj.neighbourTable!.neighbourIds));
    expect(() => resumed.loadStateDict({ kind: 'group-dro' })).toThrow(/another objective/);
    // default: once per epoch when the steps per epoch are known, else every 100 steps
    expect(new AfsrObjective({}, 'afsr', 15).refreshEvery).toBe(15);
    expect(new AfsrObjective().refreshEvery).toBe(100);
  });

  it('defaults and option checks', () => {
    const a = new AfsrObjective();
    expect(a.config).toEqual({ spanSize: 3, neighbours: 6, groupSize: 5, lambda: 0.1, radius: 0.1, beta: 1, smoothing: true, refreshEvery: 100, smoothGrad: true });
    expect(new AfsrObjective({ lambda: 0.4 }).radius).toBe(0.4);
    expect(new AfsrObjective({ lambda: 0.4, radius: 1 }).radius).toBe(1);
    expect(new AfsrObjective({}, 'afsr-no-dns').smoothing).toBe(false);
    expect(() => new AfsrObjective({ lambda: 0.5 }, 'afsr-no-dro')).toThrow(/λ = 0/);
    expect(() => new AfsrObjective({ smoothing: true }, 'afsr-no-dns')).toThrow(/smoothing off/);
    expect(() => new AfsrObjective({ spanSize: 4 })).toThrow(/odd positive integer/);
    expect(() => new AfsrObjective({ span: 3 } as never)).toThrow(/unknown option\(s\) span/);
    for (const spanSize of [3, 5, 7, 9, 11]) expect(new AfsrObjective({ spanSize }).spanSize).toBe(spanSize);
  });
});

describe('4. the CVaR first term (cvarAlpha < 1)', () => {
  /** CVaR_α weights written out: 1/(αn) on the ⌊αn⌋ largest, the remainder on the next one. */
  function manualCvar(v: number[], alpha: number): number[] {
    const n = v.length, cap = 1 / (alpha * n);
    const order = v.map((x, i) => [x, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    const q = new Array<number>(n).fill(0);
    let left = 1;
    for (const [, i] of order) {
      q[i] = Math.min(cap, left);
      left -= q[i]!;
    }
    return q;
  }

  for (const alpha of [0.3, 0.5]) {
    it(`α = ${alpha} on z (afsr-no-dns): value and gradients are CVaR_α + λ·χ²-DRO`, () => {
      const lambda = 0.3, M = 3, r = 0.1;
      const obj = new AfsrObjective({ groupSize: M, lambda, radius: r, cvarAlpha: alpha }, 'afsr-no-dns');
      const base = ctx().sequenceLosses().toArray();
      const q1 = manualCvar(base, alpha);
      // B = 6: α = 0.3 puts a fractional weight on the boundary row (αB = 1.8), α = 0.5 none (αB = 3)
      expect(q1.filter((x) => x > 1e-12 && x < 1 / (alpha * base.length) - 1e-12).length).toBe(Number.isInteger(alpha * base.length) ? 0 : 1);
      const ind = manualIndicator();
      const top = ind.map((x, b) => [x, b] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, M).map(([, b]) => b);
      const q = closedFormChi2(top.map((b) => base[b]!), r);
      const want = q1.reduce((p, w, b) => p + w * base[b]!, 0) + lambda * top.reduce((p, b, m) => p + q[m]! * base[b]!, 0);
      expect(obj.loss(ctx()).item()).toBeCloseTo(want, 5);
      expect(obj.last!.recLoss).toBeCloseTo(q1.reduce((p, w, b) => p + w * base[b]!, 0), 5);
      expect(obj.config.cvarAlpha).toBe(alpha);
      const coef = Float32Array.from(q1);
      top.forEach((b, m) => { coef[b]! += lambda * q[m]!; });
      const got = paramGrads(() => obj.loss(ctx()));
      const wantG = paramGrads(() => ctx().sequenceLosses().mul(new Tensor(coef, [batch.B])).sum());
      got.forEach((g, i) => expect(maxDiff(g, wantG[i]!)).toBeLessThan(1e-5));
    });
  }

  it('α = 1 is the paper\'s mean and is not recorded in the config (old run keys stay valid); bad α is refused', () => {
    const a = new AfsrObjective({ cvarAlpha: 1, neighbours: 2, gen: new Generator(4, Streams.dirichlet) });
    const b = new AfsrObjective({ neighbours: 2, gen: new Generator(4, Streams.dirichlet) });
    expect(a.config).toEqual(b.config);
    expect('cvarAlpha' in a.config).toBe(false);
    expect(a.loss(ctx()).item()).toBe(b.loss(ctx()).item());
    expect(() => new AfsrObjective({ cvarAlpha: 0 })).toThrow(/cvarAlpha.*\(0, 1\]/);
    expect(() => new AfsrObjective({ cvarAlpha: 1.5 })).toThrow(/cvarAlpha.*\(0, 1\]/);
  });
});
