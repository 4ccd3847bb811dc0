/**
 * A finite-difference gradient checker for the engine's tape.
 *
 * For f: inputs → Tensor and a fixed random R (uniform in [-1, 1), shape of f's output), the
 * functional is J(x) = Σ_k f(x)_k · R_k. The tape's gradient of J (built with the engine's own
 * mul and sum, then backward() — or grad() when mode = 'grad') is compared with central
 * differences
 *
 *     n_j = (J(x + h e_j) − J(x − h e_j)) / (x_j⁺ − x_j⁻),
 *
 * where x_j± = fround(x_j ± h) are the f32 values actually fed to f (so the f32 rounding of the
 * step does not bias the quotient), and J is summed in float64 from the f32 outputs of f.
 *
 * Tolerance (per checked input tensor):  |a_j − n_j| <= atol + rtol · max_j |n_j|
 * with defaults h = 1e-2, rtol = 1e-2, atol = 1e-3. Why these: the engine computes in f32, so
 * each output carries a relative rounding error ~6e-8; summed over ≲ 300 outputs and divided by
 * 2h = 2e-2 this is ≲ 1e-4 in n_j; the truncation error of a central difference is
 * h²/6 · |J'''| ≈ 2e-5 · |J'''| for the smooth ops here. Both sit well below the 1e-2 relative
 * bound, while a wrong backward (a missing term, a transposed index, a wrong sign) is off by O(1).
 * Non-smooth ops (relu, max, where) are checked on inputs at least 2h away from their kinks/ties.
 *
 * f is evaluated many times; a random f (dropout, attention dropout) must create a fresh
 * Generator at the same seed inside f so every evaluation reuses the same mask.
 */
import { expect } from 'vitest';
import { Tensor, grad, mul, noGrad, sum } from '../../src/engine/index.js';
import { prod, uniformArr } from './util.js';

export interface GradInput {
  /** values (rounded to f32) */
  data: ArrayLike<number>;
  shape: number[];
  /** false: passed to f as a constant (no requiresGrad, not differentiated); default true */
  check?: boolean;
}

export interface GradcheckOptions {
  /** finite-difference step (default 1e-2) */
  h?: number;
  /** relative tolerance against max |numeric| of the input (default 1e-2) */
  rtol?: number;
  /** absolute tolerance (default 1e-3) */
  atol?: number;
  /** seed of R (default 12345) */
  seed?: number;
  /** R itself instead of a seeded random one (e.g. all ones: J = sum f(x)) */
  R?: ArrayLike<number>;
  /** 'backward': loss.backward() into .grad; 'grad': grad(loss, inputs). Default 'backward'. */
  mode?: 'backward' | 'grad';
}

export interface GradcheckReport {
  ok: boolean;
  /** one line per checked input: worst element, analytic vs numeric, bound */
  lines: string[];
  analytic: Float32Array[];
  numeric: Float64Array[];
}

export function input(data: ArrayLike<number>, shape: number[], check = true): GradInput {
  if (data.length !== prod(shape)) throw new Error(`gradcheck input: ${data.length} values for shape (${shape.join(',')})`);
  return { data, shape, check };
}

export function gradcheck(f: (xs: Tensor[]) => Tensor, inputs: GradInput[], opts: GradcheckOptions = {}): GradcheckReport {
  const h = opts.h ?? 1e-2;
  const rtol = opts.rtol ?? 1e-2;
  const atol = opts.atol ?? 1e-3;
  const checked = inputs.map((s) => s.check !== false);

  // ---- analytic: the tape's gradient of Σ f(x)·R
  const leaves = inputs.map((s, i) => new Tensor(Float32Array.from(s.data), s.shape, { requiresGrad: checked[i] }));
  const out = f(leaves);
  if (out.dtype !== 'f32') throw new Error('gradcheck: f must return an f32 tensor');
  const R = opts.R ? Float32Array.from(opts.R) : uniformArr(out.size, opts.seed ?? 12345, -1, 1);
  if (R.length !== out.size) throw new Error(`gradcheck: R has ${R.length} values, f(x) has ${out.size}`);
  const loss = sum(mul(out, new Tensor(R, out.shape)));
  const analytic: Float32Array[] = [];
  if (opts.mode === 'grad') {
    const wrt = leaves.filter((_, i) => checked[i]);
    const gs = grad(loss, wrt);
    let k = 0;
    leaves.forEach((l, i) => {
      if (!checked[i]) { analytic.push(new Float32Array(0)); return; }
      const g = gs[k++]!;
      expect(g.shape, `gradcheck: grad() of input ${i} has the input's shape`).toEqual(l.shape);
      expect(l.grad, `gradcheck: grad() leaves input ${i}'s .grad untouched`).toBeNull();
      analytic.push(Float32Array.from(g.f32()));
    });
  } else {
    loss.backward();
    leaves.forEach((l, i) => {
      if (!checked[i]) { analytic.push(new Float32Array(0)); return; }
      if (l.grad === null) { analytic.push(new Float32Array(l.size)); return; } // compared as zeros
      expect(l.grad.shape, `gradcheck: .grad of input ${i} has the input's shape`).toEqual(l.shape);
      analytic.push(Float32Array.from(l.grad.f32()));
    });
  }

  // ---- numeric: central differences of J, J summed in float64
  const cur = inputs.map((s) => Float32Array.from(s.data));
  const J = (): number => {
    const o = noGrad(() => f(cur.map((v, i) => new Tensor(Float32Array.from(v), inputs[i]!.shape))));
    const ov = o.data;
    let s = 0;
    for (let k = 0; k < ov.length; k++) s += ov[k]! * R[k]!;
    return s;
  };
  const numeric: Float64Array[] = [];
  const lines: string[] = [];
  let ok = true;
  inputs.forEach((s, i) => {
    const num = new Float64Array(checked[i] ? s.data.length : 0);
    numeric.push(num);
    if (!checked[i]) return;
    const x = cur[i]!;
    for (let j = 0; j < x.length; j++) {
      const orig = x[j]!;
      x[j] = orig + h;
      const xp = x[j]!;
      const fp = J();
      x[j] = orig - h;
      const xm = x[j]!;
      const fm = J();
      x[j] = orig;
      num[j] = (fp - fm) / (xp - xm);
    }
    let maxN = 0;
    for (const v of num) maxN = Math.max(maxN, Math.abs(v));
    const bound = atol + rtol * maxN;
    const a = analytic[i]!;
    let worst = 0, worstErr = -1;
    for (let j = 0; j < num.length; j++) {
      const err = Math.abs(a[j]! - num[j]!);
      if (Number.isNaN(err) || err > worstErr) { worst = j; worstErr = Number.isNaN(err) ? Infinity : err; }
    }
    const pass = num.length === 0 || worstErr <= bound;
    if (!pass) ok = false;
    lines.push(`input ${i} (${s.shape.join(',')}): ${pass ? 'ok' : 'MISMATCH'} worst [${worst}] ` +
      `analytic ${a[worst]} numeric ${num[worst]} |err| ${worstErr.toExponential(2)} bound ${bound.toExponential(2)} ` +
      `(h ${h}, rtol ${rtol}, atol ${atol})`);
  });
  return { ok, lines, analytic, numeric };
}

/** gradcheck + an assertion whose message shows every input's worst element. */
export function expectGradcheck(what: string, f: (xs: Tensor[]) => Tensor, inputs: GradInput[],
  opts: GradcheckOptions = {}): GradcheckReport {
  const r = gradcheck(f, inputs, opts);
  expect(r.ok, `${what}:\n  ${r.lines.join('\n  ')}`).toBe(true);
  return r;
}
