/**
 * Small helpers shared by the engine tests: seeded test data (independent of the Philox code under
 * test), closeness assertions that report the worst element, and a plain-JS f32 rounding.
 */
import { expect } from 'vitest';

/** mulberry32: a tiny seeded generator for test inputs (not the engine's Philox). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [lo, hi), rounded to f32. */
export function uniformArr(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/** n values with |x| in [minAbs, maxAbs) and a random sign (away from 0 / a kink at 0). */
export function awayFromZero(n: number, seed: number, minAbs = 0.2, maxAbs = 1.5): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const m = minAbs + (maxAbs - minAbs) * r();
    out[i] = r() < 0.5 ? -m : m;
  }
  return out;
}

/** A random permutation of {offset + i·step}: distinct values spaced `step` apart. */
export function distinctArr(n: number, seed: number, step = 0.1, offset = -1): Float32Array {
  const r = rng(seed);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return Float32Array.from(idx, (i) => offset + i * step);
}

/** n integers in [lo, hi). */
export function intArr(n: number, seed: number, lo: number, hi: number): Int32Array {
  const r = rng(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + Math.floor(r() * (hi - lo));
  return out;
}

export const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/**
 * |actual - expected| <= atol + rtol·|expected| elementwise; on failure names the worst element.
 * NaN in either array fails unless both are NaN at the same place.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>,
  opts: { rtol?: number; atol?: number } = {}, what = 'values'): void {
  const rtol = opts.rtol ?? 1e-5, atol = opts.atol ?? 1e-6;
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (Number.isNaN(a) && Number.isNaN(e)) continue;
    if (a === e) continue; // also covers equal infinities
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  if (worst >= 0) {
    expect.fail(`${what}: element ${worst} is ${actual[worst]} but expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}

/** Bit-exact equality (Object.is per element), naming the first difference. */
export function expectExact(actual: ArrayLike<number>, expected: ArrayLike<number>, what = 'values'): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) expect.fail(`${what}: element ${i} is ${actual[i]} but expected ${expected[i]}`);
  }
}

/** row-major strides */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** multi-index of flat index i in `shape` */
export function unravel(i: number, shape: readonly number[]): number[] {
  const st = strides(shape);
  return st.map((s, d) => Math.floor(i / s) % shape[d]!);
}

/** flat index of a multi-index in `shape`, reading broadcast (size-1 or missing leading) dims at 0 */
export function ravelBroadcast(idx: readonly number[], shape: readonly number[]): number {
  const st = strides(shape);
  const off = idx.length - shape.length;
  let j = 0;
  for (let d = 0; d < shape.length; d++) j += (shape[d] === 1 ? 0 : idx[off + d]!) * st[d]!;
  return j;
}
