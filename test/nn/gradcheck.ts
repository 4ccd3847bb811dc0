/**
 * Finite-difference gradient check for anything built on the engine (ops, modules, models).
 *
 * It checks the gradient of the scalar functional S(θ) = Σ out ⊙ R, with R a fixed random
 * tensor of out's shape, against central differences of the same S: a random R exercises every
 * output element at once and reaches the whole Jacobian, which a plain sum would not (a sum is
 * blind, e.g., to softmax's or LayerNorm's normalisation). S is accumulated in float64; the
 * engine computes out in float32, so the step h must be large enough for f32 rounding of out not
 * to dominate (h ≈ 1e-2 … 1e-3), and the comparison is on the whole gradient vector of each input:
 *     ‖g_analytic − g_numeric‖₂ ≤ atol + rtol · ‖g_numeric‖₂
 * The difference quotient divides by the *realised* step (x+h and x−h after f32 rounding).
 *
 * Usage:
 *   const r = gradCheck(() => model.forward(x), { x, ...Object.fromEntries(model.namedParameters()) });
 *   expectGradCheck(r);           // or inspect r.entries / r.summary()
 * `f` must be deterministic (eval mode / no dropout); it is called 2·(number of checked values)+1 times.
 */
import { expect } from 'vitest';
import { Generator, type Tensor, grad, noGrad, randn } from '../../src/engine/index.js';

export interface GradCheckOptions {
  /** central-difference step (default 1e-2) */
  h?: number;
  /** relative tolerance on the gradient-vector norm (default 1e-2) */
  rtol?: number;
  /** absolute tolerance on the norm of the difference (default 1e-4) */
  atol?: number;
  /** seed of the random cotangent R (default 1234) */
  seed?: number;
}

export interface GradCheckEntry {
  name: string;
  analytic: Float32Array;
  numeric: Float64Array;
  /** ‖analytic − numeric‖₂ */
  errNorm: number;
  /** ‖numeric‖₂ */
  refNorm: number;
  ok: boolean;
}

export interface GradCheckResult {
  ok: boolean;
  entries: GradCheckEntry[];
  summary(): string;
}

const norm = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s);
};

export function gradCheck(f: () => Tensor, inputs: Record<string, Tensor> | [string, Tensor][],
  opts: GradCheckOptions = {}): GradCheckResult {
  const h = opts.h ?? 1e-2, rtol = opts.rtol ?? 1e-2, atol = opts.atol ?? 1e-4;
  const list = Array.isArray(inputs) ? inputs : Object.entries(inputs);
  for (const [n, t] of list) {
    if (t.dtype !== 'f32' || !t.requiresGrad || t.node) throw new Error(`gradCheck: input ${n} must be an f32 leaf with requiresGrad`);
  }
  const out = f();
  const R = randn([...out.shape], 1, 0, new Generator(opts.seed ?? 1234));
  const rv = R.f32();
  const analytic = grad(out, list.map(([, t]) => t), R);
  const S = (): number => noGrad(() => {
    const y = f().f32();
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * rv[i]!;
    return s;
  });
  const entries = list.map(([name, t], k): GradCheckEntry => {
    const d = t.f32();
    const num = new Float64Array(d.length);
    for (let j = 0; j < d.length; j++) {
      const orig = d[j]!;
      d[j] = orig + h;
      const xp = d[j]!;
      const fp = S();
      d[j] = orig - h;
      const xm = d[j]!;
      const fm = S();
      d[j] = orig;
      num[j] = (fp - fm) / (xp - xm);
    }
    const a = analytic[k]!.f32();
    const diff = new Float64Array(d.length);
    for (let j = 0; j < d.length; j++) diff[j] = a[j]! - num[j]!;
    const errNorm = norm(diff), refNorm = norm(num);
    return { name, analytic: a, numeric: num, errNorm, refNorm, ok: errNorm <= atol + rtol * refNorm };
  });
  return {
    ok: entries.every((e) => e.ok),
    entries,
    summary: () => entries.map((e) =>
      `${e.ok ? 'ok ' : 'BAD'} ${e.name}: |a-n| = ${e.errNorm.toExponential(2)}, |n| = ${e.refNorm.toExponential(2)}, rel ${(e.errNorm / Math.max(e.refNorm, 1e-30)).toExponential(2)}`).join('\n'),
  };
}

/**
 * vitest assertion: every input passes, and the message lists each input's error. A check whose
 * true gradient is zero passes trivially, so each input must also have a non-negligible numeric
 * gradient unless named in `zeroOk` (e.g. an attention key bias, whose gradient is zero exactly).
 */
export function expectGradCheck(r: GradCheckResult, zeroOk: string[] = []): void {
  expect(r.ok, r.summary()).toBe(true);
  for (const e of r.entries) {
    if (!zeroOk.includes(e.name)) expect(e.refNorm, `${e.name}: numeric gradient is ~0, the check proves nothing`).toBeGreaterThan(1e-3);
  }
}
