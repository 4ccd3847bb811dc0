/**
 * Tests of src/optim.
 *
 *   1. Adam / AdamW against the golden fixtures (FORMAT.md 4.11), through the optimiser classes
 *   2. optimiser behaviour: null grads skipped, per-parameter step counts, state round trip,
 *      argument checks, schedules driving lr
 *   3. learning-rate schedules
 *   4. clipGradNorm: global norm, scaling, no-op below the bound, NaN/Inf refused
 */
import { describe, expect, it } from 'vitest';
import { Generator, Tensor, randn, tensor } from '../../src/engine/index.js';
import { Parameter } from '../../src/nn/index.js';
import { Adam, AdamW, clipGradNorm, constantLr, linearWarmupDecay } from '../../src/optim/index.js';
import { expectClose, goldenCases, loadGolden, toTensor } from '../nn/golden.js';

const withGrad = (p: Tensor, g: ArrayLike<number>): void => {
  p.grad = new Tensor(Float32Array.from(g), p.shape);
};
const param = (values: number[], name?: string): Parameter => new Parameter(tensor(values), name);

// ---- 1. golden -----------------------------------------------------------------------------------

for (const op of ['adam', 'adamw'] as const) {
  const cases = goldenCases(op);
  describe.skipIf(cases.length === 0)(`1. ${op} golden fixtures (skipped when ../shared/golden is absent)`, () => {
    for (const file of cases) {
      it(file, () => {
        const c = loadGolden(file);
        const cfg = c.config as { lr: number; beta1: number; beta2: number; eps: number; weight_decay: number; steps: number };
        const p = new Parameter(toTensor(c.inputs.param!));
        const P = p.size;
        const grads = new Float32Array(c.inputs.grads!.data);
        const Opt = op === 'adam' ? Adam : AdamW;
        const opt = new Opt([p], { lr: cfg.lr, beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, weightDecay: cfg.weight_decay });
        const rows = new Float32Array(cfg.steps * P);
        for (let t = 0; t < cfg.steps; t++) {
          withGrad(p, grads.subarray(t * P, (t + 1) * P));
          opt.step();
          rows.set(p.values, t * P);
        }
        expectClose('params', rows, c.outputs.params!, c.tolerance);
        expect(opt.stepCount).toBe(cfg.steps);
      });
    }
  });
}

// ---- 2. optimiser behaviour -------------------------------------------------------------------------

describe('2. optimiser behaviour', () => {
  it('2.1 Adam and AdamW differ exactly by where the decay goes', () => {
    const a = param([1, -2, 3]), w = param([1, -2, 3]);
    const adam = new Adam([a], { lr: 0.1, weightDecay: 0.5 });
    const adamw = new AdamW([w], { lr: 0.1, weightDecay: 0.5 });
    withGrad(a, [0, 0, 0]);
    withGrad(w, [0, 0, 0]);
    adam.step();
    adamw.step();
    // zero gradient: AdamW only decays (p·(1 − lr·wd)); Adam's L2 gradient wd·p gives a full
    // first step of −lr·sign(p) (m̂/sqrt(v̂) = ±1)
    expect(w.toArray().map((v) => +v.toFixed(6))).toEqual([0.95, -1.9, 2.85]);
    expect(a.toArray().map((v) => +v.toFixed(6))).toEqual([0.9, -1.9, 2.9]);
    expect(new AdamW([param([1])]).weightDecay).toBe(0.01);
    expect(new Adam([param([1])]).weightDecay).toBe(0);
  });

  it('2.2 parameters without a gradient are skipped; step counts are per parameter', () => {
    const p = param([1, 1]), q = param([1, 1]);
    const opt = new AdamW([p, q], { lr: 0.1, weightDecay: 0.1 });
    withGrad(p, [1, -1]);
    opt.step(); // q has no grad: untouched, not even decayed
    expect(q.toArray()).toEqual([1, 1]);
    expect(p.toArray()).not.toEqual([1, 1]);
    // q's first update now uses bias correction for t = 1 (its own count), so it moves by lr
    withGrad(q, [1, -1]);
    const before = q.toArray();
    opt.step();
    const moved = q.toArray().map((v, i) => v - before[i]! * (1 - 0.1 * 0.1));
    expect(moved[0]).toBeCloseTo(-0.1, 5);
    expect(moved[1]).toBeCloseTo(0.1, 5);
    expect(opt.stateDict().paramSteps).toEqual([2, 1]);
    expect(opt.stateDict().step).toBe(2);
  });

  it('2.3 state round trip: resuming from a checkpoint equals training straight through', () => {
    const init = randn([10], 1, 0, new Generator(1)).toArray();
    const gs = Array.from({ length: 6 }, (_, t) => randn([10], 1, 0, new Generator(100 + t)).toArray());
    const straight = param(init);
    const o1 = new Adam([straight], { lr: 0.01, weightDecay: 0.1 });
    for (const g of gs) { withGrad(straight, g); o1.step(); }

    const first = param(init);
    const o2 = new Adam([first], { lr: 0.01, weightDecay: 0.1 });
    for (const g of gs.slice(0, 3)) { withGrad(first, g); o2.step(); }
    const ckpt = o2.stateDict();
    const paramAtCkpt = first.toArray();
    const m0 = ckpt.m[0]![0];
    withGrad(first, gs[3]!); o2.step(); // the checkpoint is a copy: later steps do not change it
    expect(ckpt.m[0]![0]).toBe(m0);

    const resumed = param(paramAtCkpt);
    const o3 = new Adam([resumed], { lr: 0.01, weightDecay: 0.1 });
    o3.loadStateDict(ckpt);
    for (const g of gs.slice(3)) { withGrad(resumed, g); o3.step(); }
    expect(resumed.toArray()).toEqual(straight.toArray());
    expect(o3.stepCount).toBe(6);

    // without the moments, the same resume drifts: the check above can fail
    const fresh = param(paramAtCkpt);
    const o5 = new Adam([fresh], { lr: 0.01, weightDecay: 0.1 });
    for (const g of gs.slice(3)) { withGrad(fresh, g); o5.step(); }
    expect(fresh.toArray()).not.toEqual(straight.toArray());
  });

  it('2.4 loadStateDict and the constructor check their arguments', () => {
    const p = param([1, 2, 3], 'w');
    const opt = new Adam([p]);
    const s = opt.stateDict();
    expect(() => opt.loadStateDict({ ...s, m: [new Float32Array(2)] })).toThrow(/#0 'w' \(3\) has 3 values but the state has m 2, v 3/);
    expect(() => opt.loadStateDict({ ...s, m: [], v: [] })).toThrow(/1 parameters but the state has m 0/);
    expect(() => new Adam([p, p])).toThrow(/appears twice/);
    expect(() => new Adam([p], { beta1: 1 })).toThrow(/invalid beta1 1/);
    expect(() => new Adam([p], { lr: -1 })).toThrow(/invalid lr -1/);
    expect(() => new Adam([p.mul(2)])).toThrow(/leaf/);
  });

  it('2.5 a schedule sets lr before every update', () => {
    const p = param([0]);
    const seen: number[] = [];
    const opt = new Adam([p], { lr: (s) => { seen.push(s); return 0.1 * (s + 1); } });
    for (let t = 0; t < 3; t++) { withGrad(p, [1]); opt.step(); }
    expect(seen).toEqual([0, 0, 1, 2]); // once at construction, then per step
    expect(opt.lr).toBeCloseTo(0.3, 7);
    // constant gradient ⇒ each Adam move is exactly −lr
    expect(p.values[0]).toBeCloseTo(-(0.1 + 0.2 + 0.3), 5);
    opt.zeroGrad();
    expect(p.grad).toBeNull();
  });
});

// ---- 3. schedules ------------------------------------------------------------------------------------------

describe('3. learning-rate schedules', () => {
  it('3.1 constant', () => {
    const s = constantLr(0.01);
    expect([s(0), s(1000)]).toEqual([0.01, 0.01]);
    expect(() => constantLr(Number.NaN)).toThrow(/lr/);
  });

  it('3.2 linear warm-up then decay', () => {
    const s = linearWarmupDecay({ peak: 1, warmupSteps: 4, totalSteps: 12, final: 0.2 });
    expect([0, 1, 2, 3].map(s)).toEqual([0.25, 0.5, 0.75, 1]);
    expect(s(4)).toBe(1);
    expect(s(8)).toBeCloseTo(0.6, 12);
    expect(s(12)).toBe(0.2);
    expect(s(100)).toBe(0.2);
    const w = linearWarmupDecay({ peak: 2, warmupSteps: 2 });
    expect([0, 1, 2, 50].map(w)).toEqual([1, 2, 2, 2]);
    const d = linearWarmupDecay({ peak: 1, warmupSteps: 0, totalSteps: 4 });
    expect([0, 1, 2, 3, 4].map(d)).toEqual([1, 0.75, 0.5, 0.25, 0]);
    expect(() => linearWarmupDecay({ peak: 1, warmupSteps: 5, totalSteps: 3 })).toThrow(/totalSteps/);
  });
});

// ---- 4. clipGradNorm ------------------------------------------------------------------------------------------

describe('4. clipGradNorm', () => {
  it('4.1 scales by maxNorm / norm over all parameters together and returns the norm before', () => {
    const a = param([0, 0]), b = param([0]), c = param([5]);
    withGrad(a, [3, 0]);
    withGrad(b, [4]);
    // c has no grad: skipped
    const n = clipGradNorm([a, b, c], 1);
    expect(n).toBe(5);
    const scale = 1 / (5 + 1e-6);
    expect(a.grad!.toArray()[0]).toBeCloseTo(3 * scale, 6);
    expect(b.grad!.toArray()[0]).toBeCloseTo(4 * scale, 6);
    const after = Math.hypot(...a.grad!.toArray(), ...b.grad!.toArray());
    expect(after).toBeCloseTo(1, 5);
    expect(c.grad).toBeNull();
  });

  it('4.2 leaves gradients alone below the bound', () => {
    const a = param([0, 0]);
    withGrad(a, [0.3, 0.4]);
    expect(clipGradNorm([a], 1)).toBeCloseTo(0.5, 7);
    expect(a.grad!.toArray()).toEqual([Math.fround(0.3), Math.fround(0.4)]);
  });

  it('4.3 refuses NaN / Inf gradients, naming the parameter', () => {
    const a = param([0, 0], 'ok'), b = param([0], 'bad');
    withGrad(a, [1, 1]);
    withGrad(b, [Number.NaN]);
    expect(() => clipGradNorm([a, b], 1)).toThrow(/gradient norm is NaN: parameter bad \(1\) has a non-finite gradient/);
    withGrad(b, [Number.POSITIVE_INFINITY]);
    expect(() => clipGradNorm([a, b], 1)).toThrow(/Infinity/);
    expect(a.grad!.toArray()).toEqual([1, 1]); // nothing was scaled
    expect(() => clipGradNorm([a], 0)).toThrow(/maxNorm/);
  });
});
