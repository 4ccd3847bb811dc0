/**
 * Adam (L2 weight decay added to the gradient) and AdamW (decoupled decay), exactly
 * torch.optim.Adam / AdamW with amsgrad = false (FORMAT.md 4.11). Each update runs the backend's
 * fused `adamStep` kernel in place on the parameter's own Float32Array and its m, v state.
 *
 * Step counts: like PyTorch, each parameter keeps its own step count, advanced only when it has a
 * gradient; a parameter whose grad is null is skipped entirely (no decay, no moment update). When
 * every parameter gets a gradient every time, this equals one shared count (FORMAT.md 4.16);
 * when some are skipped (e.g. a frozen branch), bias correction still matches the number of
 * updates that parameter's moments have actually seen. `stepCount` counts step() calls and is
 * what learning-rate schedules read.
 */
import type { Tensor } from '../engine/index.js';
import { getBackend } from '../backend/index.js';
import type { LrSchedule } from './schedule.js';

export interface AdamConfig {
  /** a number or a schedule of the step index (default 1e-3) */
  lr?: number | LrSchedule;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Adam: L2 coefficient added to the gradient (default 0); AdamW: decoupled (default 0.01) */
  weightDecay?: number;
}

/** A checkpoint of the optimiser: copies of every moment and the step counts. */
export interface AdamState {
  /** number of step() calls */
  step: number;
  /** per-parameter update counts */
  paramSteps: number[];
  m: Float32Array[];
  v: Float32Array[];
}

abstract class AdamBase {
  readonly params: Tensor[];
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** number of step() calls so far */
  stepCount = 0;
  private readonly schedule: LrSchedule | null;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private readonly paramSteps: number[];

  protected constructor(private readonly kind: 'Adam' | 'AdamW', params: Iterable<Tensor>, c: AdamConfig, defaultDecay: number,
    private readonly decoupled: boolean) {
    this.params = [...params];
    const seen = new Set<Tensor>();
    this.params.forEach((p, i) => {
      if (p.dtype !== 'f32' || p.node) {
        throw new Error(`${kind}: parameter ${this.label(i)} must be an f32 leaf tensor (not the output of an op)`);
      }
      if (seen.has(p)) throw new Error(`${kind}: parameter ${this.label(i)} appears twice in the list`);
      seen.add(p);
    });
    this.schedule = typeof c.lr === 'function' ? c.lr : null;
    this.lr = typeof c.lr === 'number' ? c.lr : this.schedule ? this.schedule(0) : 1e-3;
    this.beta1 = c.beta1 ?? 0.9;
    this.beta2 = c.beta2 ?? 0.999;
    this.eps = c.eps ?? 1e-8;
    this.weightDecay = c.weightDecay ?? defaultDecay;
    const checks: [string, number, boolean][] = [
      ['lr', this.lr, this.lr >= 0 && Number.isFinite(this.lr)],
      ['beta1', this.beta1, this.beta1 >= 0 && this.beta1 < 1],
      ['beta2', this.beta2, this.beta2 >= 0 && this.beta2 < 1],
      ['eps', this.eps, this.eps >= 0 && Number.isFinite(this.eps)],
      ['weightDecay', this.weightDecay, this.weightDecay >= 0 && Number.isFinite(this.weightDecay)],
    ];
    for (const [name, v, ok] of checks) if (!ok) throw new Error(`${kind}: invalid ${name} ${v}`);
    this.m = this.params.map((p) => new Float32Array(p.size));
    this.v = this.params.map((p) => new Float32Array(p.size));
    this.paramSteps = this.params.map(() => 0);
  }

  private label(i: number): string {
    const p = this.params[i]!;
    return `#${i}${p.name ? ` '${p.name}'` : ''} (${p.shape.join(',')})`;
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    if (this.schedule) this.lr = this.schedule(this.stepCount);
    if (!(this.lr >= 0) || !Number.isFinite(this.lr)) throw new Error(`${this.kind}.step: invalid learning rate ${this.lr} at step ${this.stepCount}`);
    const be = getBackend();
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      const t = ++this.paramSteps[i]!;
      be.adamStep(p.f32(), p.grad.f32(), this.m[i]!, this.v[i]!, {
        lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps,
        weightDecay: this.weightDecay, decoupled: this.decoupled, step: t,
      });
    });
    this.stepCount++;
  }

  /** Drops every gradient (set to null, as PyTorch's set_to_none). */
  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  stateDict(): AdamState {
    return {
      step: this.stepCount,
      paramSteps: [...this.paramSteps],
      m: this.m.map((a) => a.slice()),
      v: this.v.map((a) => a.slice()),
    };
  }

  /** Restores a checkpoint of an optimiser over the same parameter list (checked first, then copied). */
  loadStateDict(s: AdamState): void {
    const n = this.params.length;
    if (s.m.length !== n || s.v.length !== n || s.paramSteps.length !== n) {
      throw new Error(`${this.kind}.loadStateDict: the optimiser has ${n} parameters but the state has m ${s.m.length}, v ${s.v.length}, steps ${s.paramSteps.length}`);
    }
    if (!Number.isInteger(s.step) || s.step < 0) throw new Error(`${this.kind}.loadStateDict: invalid step ${s.step}`);
    for (let i = 0; i < n; i++) {
      const P = this.params[i]!.size;
      if (s.m[i]!.length !== P || s.v[i]!.length !== P) {
        throw new Error(`${this.kind}.loadStateDict: parameter ${this.label(i)} has ${P} values but the state has m ${s.m[i]!.length}, v ${s.v[i]!.length}`);
      }
      const t = s.paramSteps[i]!;
      if (!Number.isInteger(t) || t < 0) throw new Error(`${this.kind}.loadStateDict: invalid step count ${t} for parameter ${this.label(i)}`);
    }
    for (let i = 0; i < n; i++) {
      this.m[i]!.set(s.m[i]!);
      this.v[i]!.set(s.v[i]!);
      this.paramSteps[i] = s.paramSteps[i]!;
    }
    this.stepCount = s.step;
    if (this.schedule) this.lr = this.schedule(this.stepCount);
  }
}

/** torch.optim.Adam: g ← g + weightDecay·p (L2), then the Adam update. */
export class Adam extends AdamBase {
  constructor(params: Iterable<Tensor>, config: AdamConfig = {}) {
    super('Adam', params, config, 0, false);
  }
}

/** torch.optim.AdamW: p ← p·(1 − lr·weightDecay), then the Adam update on the raw gradient. */
export class AdamW extends AdamBase {
  constructor(params: Iterable<Tensor>, config: AdamConfig = {}) {
    super('AdamW', params, config, 0.01, true);
  }
}
