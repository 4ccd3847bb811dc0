/**
 * Helpers shared by the CUDA suites (test/gpu on a real GPU, test/cuda/emulated.test.ts on the
 * CPU emulation of the same kernels): seeded inputs and the comparison rules of the CPU parity
 * tests in test/backend/ (same tolerances, same reporting of the worst element).
 */
import { expect } from 'vitest';

/** mulberry32: a tiny seeded generator for test inputs */
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

export function randn(n: number, seed: number, scale = 1, offset = 0): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = offset + scale * (r() * 2 - 1);
  return out;
}

export function randInt(n: number, lo: number, hi: number, seed: number): Int32Array {
  const r = rng(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + Math.floor(r() * (hi - lo));
  return out;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** |a - e| <= atol + rtol·(scale[i] or |e|) elementwise, reporting the worst element */
export function expectClose(
  actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what: string,
  scale?: ArrayLike<number>,
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!, a = actual[i]!;
    if (e === a) continue; // covers ±Infinity
    const d = Math.abs(a - e);
    const s = scale ? scale[i]! : Math.abs(e);
    const excess = d - (atol + rtol * s);
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(d))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    expect.fail(`${what}: element ${worst} is ${actual[worst]} but expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}

/** forward-style tolerance: rtol with an atol that grows with the tensor's scale */
export function expectNear(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-4): void {
  expectClose(actual, expected, rtol, 1e-5 * Math.max(1, maxAbs(expected)), what);
}

/** gradient-style tolerance: sums over many rows with cancellation */
export function expectGrad(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-4): void {
  expectClose(actual, expected, rtol, Math.max(1e-6, 1e-2 * rtol * maxAbs(expected)), what);
}

export function expectBitEqual(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  expect(a.length, `${what}: length`).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) expect.fail(`${what}: element ${i} differs: ${a[i]} vs ${b[i]}`);
  }
}

/** expects fn to throw `type` with a message matching `msg` */
export function expectThrows(fn: () => unknown, type: ErrorConstructor, msg: RegExp): void {
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${type.name} ${msg}`).toBeInstanceOf(type);
  expect((caught as Error).message).toMatch(msg);
}
