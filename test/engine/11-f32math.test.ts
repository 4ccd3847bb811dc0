/**
 * 10. The portable f32 math of the Gamma sampler (src/engine/f32math.ts, twin of
 * native/include/seqfair/portable_math.h) and the sampler itself (logGammaAt):
 *   1. log / exp / cos(2πu) stay within a few ulp of the exact values over their whole input
 *      ranges, return floats, and hit their exact special values;
 *   2. Gamma draws have the right mean and variance for small, unit and large alphas (the sampler
 *      is Marsaglia–Tsang in f32; a wrong constant or acceptance test shifts these by far more
 *      than the 5-standard-error bounds).
 * Bit-identity of these functions with the native CPU (scalar and AVX2) and CUDA code is checked
 * where those backends are tested: test/backend/native-fused.test.ts 5.1 and 6.1, test/cuda, test/gpu.
 */
import { describe, expect, it } from 'vitest';

import { EXP_MIN, f32Cos2pi, f32Exp, f32Log } from '../../src/engine/f32math.js';
import { gammaParams, logGammaAt } from '../../src/engine/philox.js';

/** the spacing of floats around x (one ulp of the f32 nearest to x) */
function ulp(x: number): number {
  const a = Math.abs(Math.fround(x));
  if (a === 0) return 2 ** -149;
  return 2 ** Math.max(Math.floor(Math.log2(a)) - 23, -149);
}

/** a fixed sequence in [0, 1) (no dependence on Math.random) */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

describe('10.1 portable f32 log / exp / cos(2πu)', () => {
  it('log: within 2.5 ulp from FLT_MIN to FLT_MAX and on every 24-bit uniform', () => {
    const r = lcg(1);
    let worst = 0, notFloat = 0;
    for (let i = 0; i < 50_000; i++) {
      const x = Math.fround(2 ** (r() * 253 - 126));
      const got = f32Log(x);
      if (Math.fround(got) !== got) notFloat++;
      worst = Math.max(worst, Math.abs(got - Math.log(x)) / ulp(Math.log(x)));
    }
    expect(notFloat).toBe(0);
    for (let k = 1; k <= 1 << 24; k += 331) {
      const x = k / 16777216;
      worst = Math.max(worst, Math.abs(f32Log(x) - Math.log(x)) / ulp(Math.log(x)));
    }
    expect(worst).toBeLessThan(2.5);
    expect(f32Log(1)).toBe(0);
    expect(f32Log(2)).toBe(Math.fround(Math.LN2));
    expect(f32Log(2 ** -126)).toBeCloseTo(-126 * Math.LN2, 4);
  });

  it('exp: within 2 ulp on [EXP_MIN, 0], 0 below EXP_MIN, exp(0) = 1', () => {
    const r = lcg(2);
    let worst = 0, notFloat = 0;
    for (let i = 0; i < 50_000; i++) {
      const y = Math.fround(EXP_MIN * r());
      const got = f32Exp(y);
      if (Math.fround(got) !== got) notFloat++;
      worst = Math.max(worst, Math.abs(got - Math.exp(y)) / ulp(Math.exp(y)));
    }
    expect(notFloat).toBe(0);
    expect(worst).toBeLessThan(2);
    expect(f32Exp(0)).toBe(1);
    expect(f32Exp(-0)).toBe(1);
    expect(f32Exp(EXP_MIN)).toBeGreaterThan(0);
    expect(f32Exp(Math.fround(EXP_MIN - 0.01))).toBe(0);
    expect(f32Exp(-1e30)).toBe(0);
  });

  it('cos(2πu): within 1.2e-7 on the 24-bit grid, exact at the quarter turns', () => {
    let worst = 0, notFloat = 0;
    for (let k = 0; k < 1 << 24; k += 257) {
      const u = k / 16777216;
      const got = f32Cos2pi(u);
      if (Math.fround(got) !== got) notFloat++;
      worst = Math.max(worst, Math.abs(got - Math.cos(2 * Math.PI * u)));
    }
    expect(notFloat).toBe(0);
    expect(worst).toBeLessThan(1.2e-7);
    expect(f32Cos2pi(0)).toBe(1);
    expect(Math.abs(f32Cos2pi(0.25))).toBe(0);
    expect(f32Cos2pi(0.5)).toBe(-1);
    expect(Math.abs(f32Cos2pi(0.75))).toBe(0);
  });
});

describe('10.2 Gamma draws (f32 Marsaglia–Tsang, log space)', () => {
  it('mean and variance of Gamma(alpha, 1) within 5 standard errors', () => {
    const n = 20_000;
    for (const alpha of [0.1, 0.5, 1, 2.5, 30]) {
      const g = gammaParams(alpha);
      const key = { seed: 99, stream: 6, offset: 0 };
      let s1 = 0, s2 = 0;
      for (let d = 0; d < n; d++) {
        const lg = logGammaAt(key, d, g);
        if (Math.fround(lg) !== lg) throw new Error(`draw ${d} is not a float: ${lg}`);
        const x = Math.exp(lg);
        s1 += x;
        s2 += x * x;
      }
      const mean = s1 / n, variance = s2 / n - mean * mean;
      // Gamma(α): mean α, variance α; Var(sample variance) ≈ (μ4 − σ⁴)/n = (2α² + 6α)/n
      expect(Math.abs(mean - alpha), `mean, alpha=${alpha}`).toBeLessThan(5 * Math.sqrt(alpha / n));
      expect(Math.abs(variance - alpha), `variance, alpha=${alpha}`).toBeLessThan(5 * Math.sqrt((2 * alpha * alpha + 6 * alpha) / n));
    }
  });

  it('tiny alphas stay finite in log space (the draws themselves would underflow f32)', () => {
    const g = gammaParams(1e-3);
    const key = { seed: 5, stream: 0, offset: 0 };
    let underflow = 0;
    for (let d = 0; d < 2000; d++) {
      const lg = logGammaAt(key, d, g);
      expect(Number.isFinite(lg)).toBe(true);
      if (lg < -104) underflow++;  // exp(lg) would be 0 in f32
    }
    expect(underflow).toBeGreaterThan(1000);
  });
});
