/**
 * Hand-computed weights and losses of the non-A-FSR objectives, read back exactly: the per-sequence
 * losses are a leaf tensor, so an objective's coefficients on them are that leaf's gradient.
 *
 *   1. IPW and IPW-log weights, loss and coefficients
 *   2. class-balanced item weights; the loss equals a hand-written weighted cross-entropy
 *   3. Reg: two groups, three groups (pairwise gaps), an absent group
 *   4. Group DRO over three steps (closed form w_t ∝ exp(η Σ_s ℓ̄_s)), an absent group, state
 *   5. Streaming DRO over three steps, resume from the state dict
 *   6. both DRO objectives reproduce the golden group_dro_step / streaming_dro_step files
 *   7. CVaR DRO: fractional αB, α = 1, ties at the cut-off, rows without a target; unit 'position'
 *      (the worst α of the target positions, hand-computed from the model's scores)
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { IpwObjective, ipwWeights } from '../../src/fairness/ipw.js';
import { ClassBalancedObjective, classBalancedWeights } from '../../src/fairness/class-balanced.js';
import { RegObjective } from '../../src/fairness/reg.js';
import { GroupDroObjective } from '../../src/fairness/group-dro.js';
import { StreamingDroObjective } from '../../src/fairness/streaming-dro.js';
import { CvarDroObjective } from '../../src/fairness/cvar-dro.js';
import { inputMask } from '../../src/train/losses.js';
import { makeContext } from '../../src/train/context.js';
import { Generator, Streams, Tensor } from '../../src/engine/index.js';
import { PrefixMean, SEQS, batchOf, coefficients, lossContext, maxDiff, modelContext } from './helpers.js';

const close = (a: number[] | Float64Array, b: number[], tol = 1e-6): void => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < b.length; i++) expect(a[i]!).toBeCloseTo(b[i]!, -Math.log10(tol));
};

describe('1. IPW', () => {
  it('weights ∝ N/n_g, mean 1 over the training users; loss = (1/n) Σ w_g ℓ', () => {
    // counts [3, 1]: raw N/n = [4/3, 4], mean over users (3·4/3 + 4)/4 = 2 → [2/3, 2]
    close(ipwWeights([3, 1], 'ipw'), [2 / 3, 2]);
    const obj = new IpwObjective([3, 1], 'ipw');
    const { ctx, leaf } = lossContext([1, 2, 3, 4], [0, 1, 0, 1], 2);
    const loss = obj.loss(ctx);
    expect(loss.item()).toBeCloseTo((2 / 3) * (1 + 3) / 4 + 2 * (2 + 4) / 4, 6);
    close(coefficients(loss, leaf), [1 / 6, 1 / 2, 1 / 6, 1 / 2]);
  });

  it('log variant: w_g ∝ log(N/n_g), mean 1 over the training users', () => {
    const m = (3 * Math.log(4 / 3) + Math.log(4)) / 4;
    close(ipwWeights([3, 1], 'ipw-log'), [Math.log(4 / 3) / m, Math.log(4) / m]);
    // an unseen group gets no weight and is an error if a batch row carries it
    const w = ipwWeights([2, 0, 2], 'ipw');
    close(w, [1, 0, 1]);
    const { ctx } = lossContext([1, 1], [0, 1], 3);
    expect(() => new IpwObjective([2, 0, 2]).loss(ctx)).toThrow(/group 1, which had no training user/);
    expect(() => ipwWeights([5, 0], 'ipw-log')).toThrow(/one group/);
  });

  it('needs groups', () => {
    const { ctx } = lossContext([1, 2]);
    expect(() => new IpwObjective([1, 1]).loss(ctx)).toThrow(/needs user groups/);
  });
});

describe('2. class-balanced', () => {
  it('item weights ∝ T/c_i (and log), mean 1 over the training interactions', () => {
    // counts of items 1..4: [4, 2, 1, 1], T = 8: raw [2, 4, 8, 8], mean (8+8+8+8)/8 = 4
    close(classBalancedWeights([0, 4, 2, 1, 1], 'class-balanced'), [0, 0.5, 1, 2, 2]);
    const raw = [Math.log(2), Math.log(4), Math.log(8), Math.log(8)];
    const m = (4 * raw[0]! + 2 * raw[1]! + raw[2]! + raw[3]!) / 8;
    close(classBalancedWeights([0, 4, 2, 1, 1], 'class-balanced-log'), [0, ...raw.map((r) => r / m)]);
    // an unseen item is weighted as if seen once
    close(classBalancedWeights([0, 3, 0, 1], 'class-balanced'), [0, 4 / 3 / 2, 4 / 2, 4 / 2]);
  });

  it('the loss is the hand-written weighted cross-entropy; all-ones weights give the trainer\'s losses', () => {
    const model = new PrefixMean({ numItems: 9, hidden: 4, maxLen: 8, seed: 3 });
    const batch = batchOf('next');
    const ctx = modelContext(model, batch);
    const counts = [0, 5, 1, 2, 3, 1, 4, 2, 1, 6];
    const obj = new ClassBalancedObjective(counts, 'class-balanced');
    const loss = obj.loss(ctx).item();
    // by hand: logits = hidden · outᵀ, ce = lse − logit[y], ℓ_b = Σ w_y ce / n_b, mean over rows
    const hidden = model.encode(model.embed(new Tensor(batch.inputs, [batch.B, batch.L])), inputMask(batch)).f32();
    const out = model.out.f32();
    const V = 10, D = 4;
    let total = 0;
    for (let b = 0; b < batch.B; b++) {
      let s = 0, nb = 0;
      for (let t = 0; t < batch.L; t++) {
        const y = batch.targets[b * batch.L + t]!;
        if (y === 0) continue;
        const logits = Array.from({ length: V }, (_, v) => {
          let d = 0;
          for (let k = 0; k < D; k++) d += hidden[(b * batch.L + t) * D + k]! * out[v * D + k]!;
          return d;
        });
        const mx = Math.max(...logits);
        const lse = mx + Math.log(logits.reduce((p, x) => p + Math.exp(x - mx), 0));
        s += obj.weights[y]! * (lse - logits[y]!);
        nb++;
      }
      total += s / nb;
    }
    expect(loss).toBeCloseTo(total / batch.B, 4);
    const ones = ctx.forward(undefined, { targetWeights: new Float32Array(batch.B * batch.L).fill(1) }).losses.toArray();
    expect(maxDiff(ones, ctx.sequenceLosses().toArray())).toBeLessThan(1e-6);
  });
});

describe('3. reg', () => {
  it('two groups: ERM + λ|L̄_0 − L̄_1|', () => {
    const obj = new RegObjective(2, { lambda: 0.5 });
    const { ctx, leaf } = lossContext([1, 2, 3, 6], [0, 0, 1, 1], 2);
    const loss = obj.loss(ctx);
    // means 1.5 and 4.5: gap 3; ERM 3; loss 3 + 0.5·3
    expect(loss.item()).toBeCloseTo(4.5, 6);
    expect(obj.lastPenalty).toBeCloseTo(3, 6);
    // d/dℓ: 1/4 ∓ 0.5/2
    close(coefficients(loss, leaf), [0, 0, 0.5, 0.5]);
  });

  it('three groups: the sum of pairwise gaps', () => {
    const obj = new RegObjective(3, { lambda: 1 });
    const { ctx, leaf } = lossContext([1, 2, 4], [0, 1, 2], 3);
    const loss = obj.loss(ctx);
    expect(loss.item()).toBeCloseTo(7 / 3 + (1 + 3 + 2), 5);
    close(coefficients(loss, leaf), [1 / 3 - 2, 1 / 3, 1 / 3 + 2]);
  });

  it('a group absent from the batch adds no penalty', () => {
    const obj = new RegObjective(2, { lambda: 1 });
    const { ctx, leaf } = lossContext([1, 2, 6], [0, 0, 0], 2);
    const loss = obj.loss(ctx);
    expect(loss.item()).toBeCloseTo(3, 6);
    close(coefficients(loss, leaf), [1 / 3, 1 / 3, 1 / 3]);
  });
});

// Group DRO with η = 0.5: w_t ∝ exp(η Σ_{s≤t} ℓ̄_s) (uniform start)
const steps: [number[], number[]][] = [
  [[1, 3], [0, 1]], // means [1, 3]
  [[2, 2, 1], [0, 0, 1]], // means [2, 1]
  [[5], [0]], // group 1 absent: means [5, 0]
];

describe('4. group DRO', () => {
  it('exponentiated-gradient weights over three steps, robust loss with the updated weights', () => {
    const obj = new GroupDroObjective(2, { eta: 0.5 });
    const sig = (x: number): number => 1 / (1 + Math.exp(-x));
    // cumulative losses [1,3] → [3,4] → [8,4]; w = [σ(η(c0−c1)), 1 − that]
    const expected = [[sig(0.5 * (1 - 3))], [sig(0.5 * (3 - 4))], [sig(0.5 * (8 - 4))]].map(([a]) => [a!, 1 - a!]);
    const robust = [expected[0]![0]! * 1 + expected[0]![1]! * 3, expected[1]![0]! * 2 + expected[1]![1]! * 1, expected[2]![0]! * 5];
    const coef = [
      [expected[0]![0]!, expected[0]![1]!],
      [expected[1]![0]! / 2, expected[1]![0]! / 2, expected[1]![1]!],
      [expected[2]![0]!],
    ];
    steps.forEach(([losses, groups], t) => {
      const { ctx, leaf } = lossContext(losses, groups, 2, t);
      const loss = obj.loss(ctx);
      close(obj.weights, expected[t]!);
      expect(loss.item()).toBeCloseTo(robust[t]!, 5);
      close(coefficients(loss, leaf), coef[t]!);
    });
    // state round trip (JSON) and a bad state
    const again = new GroupDroObjective(2, { eta: 0.5 });
    again.loadStateDict(JSON.parse(JSON.stringify(obj.stateDict())) as Record<string, unknown>);
    expect(Array.from(again.weights)).toEqual(Array.from(obj.weights));
    expect(() => again.loadStateDict({ kind: 'group-dro', weights: [1] })).toThrow(/array of 2/);
    expect(() => again.loadStateDict({ kind: 'cvar-dro' })).toThrow(/another objective/);
  });
});

describe('5. streaming DRO', () => {
  it('streamed losses and weights over three steps; resuming from the state continues exactly', () => {
    const obj = new StreamingDroObjective(2, { eta: 0.5, rate: 0.5 });
    // L̃: [0.5, 1.5] → [1.25, 1.25] → [3.125, 0.625]; exponent sums η Σ L̃: [0.25, 0.75] → [0.875, 1.375] → [2.4375, 1.6875]
    const sig = (x: number): number => 1 / (1 + Math.exp(-x));
    const w0 = [sig(0.25 - 0.75), sig(0.875 - 1.375), sig(2.4375 - 1.6875)];
    const streamed = [[0.5, 1.5], [1.25, 1.25], [3.125, 0.625]];
    const robust = [w0[0]! * 1 + (1 - w0[0]!) * 3, w0[1]! * 2 + (1 - w0[1]!) * 1, w0[2]! * 5];
    let saved: string | null = null;
    steps.forEach(([losses, groups], t) => {
      const { ctx } = lossContext(losses, groups, 2, t);
      const loss = obj.loss(ctx);
      close(obj.weights, [w0[t]!, 1 - w0[t]!]);
      close(obj.streamed, streamed[t]!);
      expect(loss.item()).toBeCloseTo(robust[t]!, 5);
      if (t === 1) saved = JSON.stringify(obj.stateDict());
    });
    const resumed = new StreamingDroObjective(2, { eta: 0.5, rate: 0.5 });
    resumed.loadStateDict(JSON.parse(saved!) as Record<string, unknown>);
    const { ctx } = lossContext(steps[2]![0], steps[2]![1], 2, 2);
    expect(resumed.loss(ctx).item()).toBeCloseTo(robust[2]!, 6);
    expect(Array.from(resumed.weights)).toEqual(Array.from(obj.weights));
  });

  it('rate must be in (0, 1]', () => {
    expect(() => new StreamingDroObjective(2, { rate: 0 })).toThrow(/rate must be in \(0, 1\]/);
    expect(() => new StreamingDroObjective(2, { eta: 1, oops: 1 } as never)).toThrow(/unknown option\(s\) oops/);
  });
});

interface GoldenTensor { shape: number[]; data: number[] }
const goldenDir = process.env.SEQFAIR_GOLDEN ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/golden');
const haveGolden = existsSync(path.join(goldenDir, 'group_dro_step-0.json'));
function golden(name: string): { config: Record<string, number>; inputs: Record<string, GoldenTensor>; outputs: Record<string, GoldenTensor>; tolerance: { rtol: number; atol: number } } {
  return JSON.parse(readFileSync(path.join(goldenDir, `${name}.json`), 'utf8'));
}

describe.skipIf(!haveGolden)('6. the DRO objectives reproduce the golden step files (skipped when ../shared/golden is absent)', () => {
  const within = (a: number, e: number, tol: { rtol: number; atol: number }): void => {
    expect(Math.abs(a - e)).toBeLessThanOrEqual(tol.atol + tol.rtol * Math.abs(e) + 1e-7);
  };
  // one row per group present in the batch (a 0 loss in the file = absent group, as FORMAT.md 4.14 builds them)
  const rowsOf = (row: number[]): { losses: number[]; groups: number[] } => {
    const losses: number[] = [], groups: number[] = [];
    row.forEach((l, g) => { if (l !== 0) { losses.push(l); groups.push(g); } });
    return { losses, groups };
  };
  for (const file of ['group_dro_step-0', 'group_dro_step-1', 'group_dro_step-2', 'streaming_dro_step-0', 'streaming_dro_step-1', 'streaming_dro_step-2']) {
    it(file, () => {
      const g = golden(file);
      const G = g.inputs.w0!.shape[0]!;
      const T = g.config.steps!;
      const streaming = file.startsWith('streaming');
      const obj = streaming ? new StreamingDroObjective(G, { eta: g.config.eta, rate: g.config.rate }) : new GroupDroObjective(G, { eta: g.config.eta });
      if (streaming) obj.loadStateDict({ kind: 'streaming-dro', weights: g.inputs.w0!.data.map((x) => x / g.inputs.w0!.data.reduce((p, q) => p + q, 0)), streamed: g.inputs.lprev0!.data });
      for (let t = 0; t < T; t++) {
        const { losses, groups } = rowsOf(g.inputs.losses!.data.slice(t * G, (t + 1) * G));
        const { ctx } = lossContext(losses, groups, G, t);
        const loss = obj.loss(ctx).item();
        for (let k = 0; k < G; k++) within(obj.weights[k]!, g.outputs.weights!.data[t * G + k]!, g.tolerance);
        within(loss, g.outputs.robust_loss!.data[t]!, { rtol: 1e-5, atol: 1e-5 });
        if (streaming) for (let k = 0; k < G; k++) within((obj as StreamingDroObjective).streamed[k]!, g.outputs.streamed_losses!.data[t * G + k]!, g.tolerance);
      }
    });
  }
});

describe('7. CVaR DRO', () => {
  it('fractional αB: the worst 2.5 of 5 losses, with weight 0.2 on the boundary', () => {
    const obj = new CvarDroObjective({ alpha: 0.5 });
    const { ctx, leaf } = lossContext([1, 5, 3, 2, 4]);
    const loss = obj.loss(ctx);
    expect(loss.item()).toBeCloseTo((5 + 4 + 0.5 * 3) / 2.5, 6);
    close(coefficients(loss, leaf), [0, 0.4, 0.2, 0, 0.4]);
  });

  it('α = 1 is the mean', () => {
    const { ctx, leaf } = lossContext([1, 5, 3, 2, 4]);
    const loss = new CvarDroObjective({ alpha: 1 }).loss(ctx);
    expect(loss.item()).toBeCloseTo(3, 6);
    close(coefficients(loss, leaf), [0.2, 0.2, 0.2, 0.2, 0.2]);
  });

  it('ties at the cut-off go to the smaller row', () => {
    const a = lossContext([2, 3, 3, 1]);
    const la = new CvarDroObjective({ alpha: 0.25 }).loss(a.ctx);
    expect(la.item()).toBeCloseTo(3, 6);
    close(coefficients(la, a.leaf), [0, 1, 0, 0]);
    const b = lossContext([3, 1, 3, 3]);
    const lb = new CvarDroObjective({ alpha: 0.5 }).loss(b.ctx);
    expect(lb.item()).toBeCloseTo(3, 6);
    close(coefficients(lb, b.leaf), [0.5, 0, 0.5, 0]);
  });

  it('rows without a target are not ranked (B counts the rows with a target)', () => {
    const { ctx, leaf } = lossContext([9, 1, 5, 3]);
    ctx.batch.targets.fill(0, 0, 2); // row 0 has no target (its loss would be 0 from the trainer)
    const loss = new CvarDroObjective({ alpha: 0.5 }).loss(ctx);
    // rows 1..3: αB = 1.5 → 5 with 2/3, 3 with 1/3
    expect(loss.item()).toBeCloseTo((2 / 3) * 5 + (1 / 3) * 3, 6);
    close(coefficients(loss, leaf), [0, 0, 2 / 3, 1 / 3]);
  });

  it('alpha must be in (0, 1]', () => {
    expect(() => new CvarDroObjective({ alpha: 0 })).toThrow(/alpha must be in \(0, 1\]/);
    expect(() => new CvarDroObjective({ alpha: 1.5 })).toThrow(/alpha/);
  });

  // unit 'position': the worst α of the batch's target positions, each position's loss
  // ℓ_r = lse(scores_r) − scores_r[target_r] written out here from the model's scores
  const positionLosses = (model: PrefixMean, batch: ReturnType<typeof batchOf>): { ell: number[]; has: boolean[] } => {
    const ctx = modelContext(model, batch);
    const { hidden } = ctx.forward();
    const s = model.scores(hidden).f32();
    const V = model.vocabSize, R = batch.targets.length;
    const ell: number[] = [], has: boolean[] = [];
    for (let r = 0; r < R; r++) {
      const row = s.subarray(r * V, (r + 1) * V);
      const mx = Math.max(...row);
      const lse = mx + Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
      ell.push(lse - row[batch.targets[r]!]!);
      has.push(batch.targets[r] !== 0);
    }
    return { ell, has };
  };
  const worstAverage = (v: number[], alpha: number): number => {
    const sorted = [...v].sort((a, b) => b - a);
    let budget = alpha * v.length, sum = 0;
    for (const x of sorted) { const w = Math.min(1, budget); sum += w * x; budget -= w; if (budget <= 0) break; }
    return sum / (alpha * v.length);
  };

  it("unit 'position': the worst α·N of the batch's N target positions (fractional boundary), not of its sequences", () => {
    const model = new PrefixMean({ numItems: 9 });
    const batch = batchOf('next');
    const { ell, has } = positionLosses(model, batch);
    const active = ell.filter((_, r) => has[r]);
    for (const alpha of [0.3, 0.5, 1]) {
      const obj = new CvarDroObjective({ alpha, unit: 'position' });
      const loss = obj.loss(modelContext(model, batch));
      expect(loss.item()).toBeCloseTo(worstAverage(active, alpha), 5);
      // the weights sit on positions: none where there is no target, and they sum to 1
      expect(obj.lastWeights.length).toBe(batch.targets.length);
      obj.lastWeights.forEach((q, r) => { if (!has[r]) expect(q).toBe(0); });
      expect(obj.lastWeights.reduce((a, q) => a + q, 0)).toBeCloseTo(1, 9);
    }
    // and it is not the sequences' CVaR (which ranks per-sequence means)
    const seqLoss = new CvarDroObjective({ alpha: 0.3 }).loss(modelContext(model, batch)).item();
    expect(Math.abs(seqLoss - worstAverage(active, 0.3))).toBeGreaterThan(1e-3);
  });

  it("unit 'position' on a 'last' batch (one target per row) is the sequences' CVaR, gradients included", () => {
    const model = new PrefixMean({ numItems: 9, targetKind: 'last' });
    const batch = batchOf('last');
    const grads = (unit: 'sequence' | 'position'): { loss: number; g: number[] } => {
      model.zeroGrad();
      const loss = new CvarDroObjective({ alpha: 0.5, unit }).loss(modelContext(model, batch));
      loss.backward();
      return { loss: loss.item(), g: model.parameters().flatMap((p) => p.grad!.toArray()) };
    };
    const a = grads('sequence'), b = grads('position');
    expect(b.loss).toBeCloseTo(a.loss, 6);
    expect(maxDiff(a.g, b.g)).toBeLessThan(1e-6);
  });

  it("positions: each row's shares sum to its sequence loss, 0 where no target, for every loss kind", () => {
    const model = new PrefixMean({ numItems: 9 });
    const batch = batchOf('next', 6, SEQS.slice(1)); // (the first sequence uses every item: no negatives left)
    for (const loss of ['ce', 'sampled-softmax', 'bce'] as const) {
      const ctx = makeContext(model, batch, 0, null, { loss, numNegatives: 2, gen: new Generator(4, Streams.negatives) });
      const { losses, positions } = ctx.forward();
      const P = positions.size / batch.B;
      const pos = positions.f32(), seq = losses.f32();
      for (let b = 0; b < batch.B; b++) {
        let sum = 0;
        for (let j = 0; j < P; j++) {
          sum += pos[b * P + j]!;
          if (batch.targets[b * P + j] === 0) expect(pos[b * P + j]).toBe(0);
        }
        expect(sum).toBeCloseTo(seq[b]!, 5);
      }
    }
  });

  it("unit must be 'sequence' or 'position'; the papers' unit keeps its config (and run keys)", () => {
    expect(() => new CvarDroObjective({ unit: 'token' as 'position' })).toThrow(/unit must be one of sequence, position/);
    expect(new CvarDroObjective({ alpha: 0.5 }).config).toEqual({ alpha: 0.5 });
    expect(new CvarDroObjective({ alpha: 0.5, unit: 'position' }).config).toEqual({ alpha: 0.5, unit: 'position' });
  });
});
