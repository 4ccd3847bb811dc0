/**
 * Native fused kernels (native/bind_fused.cc + native/cpu/{cross_entropy,attention,gru,neighbours,
 * dirichlet,narm_attention}.cc) against the reference backend on odd sizes, the golden fixtures of these ops,
 * thread-count determinism, and bad-input handling of the addon entry points.
 *
 * Tolerances (the native kernels sum in f32 — GEMM tiles, vector exp lanes — where the reference
 * sums in f64; an indexing or masking bug is orders of magnitude larger):
 *   - forward losses / lse / attention outputs / GRU states: rtol 1e-4, atol 1e-5 (FORMAT.md's
 *     budget for these ops), scaled up by the magnitude of the tensor where it is > 1;
 *   - gradients that are sums over many rows (dTable, dk, dv, dW): rtol 1e-4 against
 *     |expected| + 1e-2·max|expected| (cancellation in softmax - onehot makes small entries noisy);
 *   - cosine top-k indices, two-hop sets, dropout masks, Dirichlet draws: exact (Dirichlet up to the
 *     last f32 bit of the double normalisation); top-k similarities 1e-5 / 1e-6 (FORMAT.md);
 *   - setThreads(1) vs setThreads(2): bit-identical for every kernel.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

import type { CpuAddon } from '../../src/backend/cpu.js';
import { cpuBackend } from '../../src/backend/cpu.js';
import { referenceBackend as ref } from '../../src/backend/reference.js';
import type { AttentionDims, GruDims, RngKey } from '../../src/backend/backend.js';

const addon = createRequire(import.meta.url)('../../build/Release/seqfair_cpu.node') as CpuAddon;
const cpu = cpuBackend;
const defaultThreads = addon.info().threads;
/** golden fixtures (FORMAT.md): $SEQFAIR_GOLDEN or ../shared/golden beside the repository; skipped when absent */
const GOLDEN = process.env.SEQFAIR_GOLDEN ?? fileURLToPath(new URL('../../../shared/golden/', import.meta.url));
const haveGolden = existsSync(join(GOLDEN, 'attention-0.json'));

// ---- helpers ---------------------------------------------------------------------------------

/** mulberry32: a tiny seeded generator for test inputs */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * (r() * 2 - 1);
  return out;
}

function randInt(n: number, lo: number, hi: number, seed: number): Int32Array {
  const r = rng(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + Math.floor(r() * (hi - lo));
  return out;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** |a - e| <= atol + rtol·|e| elementwise, reporting the worst element */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!, a = actual[i]!;
    if (e === a) continue; // covers ±Infinity
    const d = Math.abs(a - e);
    const excess = d - (atol + rtol * Math.abs(e));
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
function expectNear(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-4): void {
  expectClose(actual, expected, rtol, 1e-5 * Math.max(1, maxAbs(expected)), what);
}

/** gradient-style tolerance: sums over many rows with cancellation */
function expectGrad(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-4): void {
  expectClose(actual, expected, rtol, Math.max(1e-6, 1e-2 * rtol * maxAbs(expected)), what);
}

function expectBitEqual(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  expect(a.length, `${what}: length`).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) expect.fail(`${what}: element ${i} differs: ${a[i]} vs ${b[i]}`);
  }
}

/** runs fn with 1 thread and with 2 threads and returns both results */
function withThreads<T>(fn: () => T): [T, T] {
  addon.setThreads(1);
  const one = fn();
  addon.setThreads(2);
  const two = fn();
  addon.setThreads(defaultThreads);
  return [one, two];
}

function expectAllBitEqual(a: Record<string, ArrayLike<number>>, b: Record<string, ArrayLike<number>>, what: string): void {
  for (const key of Object.keys(a)) expectBitEqual(a[key]!, b[key]!, `${what}.${key}`);
}

interface Tensor { shape: number[]; dtype: 'f32' | 'i32'; data: number[] }
interface Golden {
  config: Record<string, unknown>;
  inputs: Record<string, Tensor>;
  upstream: Record<string, Tensor>;
  outputs: Record<string, Tensor>;
  grads: Record<string, Tensor>;
  tolerance: { rtol: number; atol: number };
}

function golden(name: string): Golden {
  return JSON.parse(readFileSync(join(GOLDEN, `${name}.json`), 'utf8')) as Golden;
}
const f32 = (t: Tensor): Float32Array => Float32Array.from(t.data);
const i32 = (t: Tensor): Int32Array => Int32Array.from(t.data);

/** expects the addon call to throw `type` with a message matching `msg`, and the addon to work after */
function expectThrows(fn: () => unknown, type: ErrorConstructor, msg: RegExp): void {
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${type.name} ${msg}`).toBeInstanceOf(type);
  expect((caught as Error).message).toMatch(msg);
  // still alive and working
  expect(addon.info().threads).toBeGreaterThan(0);
}

afterAll(() => {
  addon.setThreads(defaultThreads);
});

// ---- 1. cross-entropy --------------------------------------------------------------------------

/** targets in [0,V) with some rows set to the ignore index */
function makeTargets(N: number, V: number, seed: number, ignoreIndex: number, ignoredEvery = 5): Int32Array {
  const t = randInt(N, 0, V, seed);
  for (let n = 0; n < N; n++) if (n % ignoredEvery === 2) t[n] = ignoreIndex;
  return t;
}

describe('1. cross-entropy', () => {
  it('1.1 crossEntropy forward/backward vs reference, odd sizes, weights, ignored rows, large logits', () => {
    let seed = 10;
    for (const [N, C] of [[1, 1], [1, 7], [7, 33], [33, 257], [5, 3000], [257, 7]] as const) {
      for (const weighted of [false, true]) {
        for (const scale of [1, 60]) {
          const logits = randn(N * C, seed++, scale);
          const targets = makeTargets(N, C, seed++, -100);
          const weights = weighted ? randn(N, seed++, 2) : null;
          const dLoss = randn(N, seed++);
          const label = `ce N=${N} C=${C} w=${weighted} scale=${scale}`;
          const got = cpu.crossEntropyForward(logits, targets, weights, N, C, -100);
          const want = ref.crossEntropyForward(logits, targets, weights, N, C, -100);
          expectNear(got.loss, want.loss, `${label} loss`);
          expectNear(got.lse, want.lse, `${label} lse`);
          const gd = cpu.crossEntropyBackward(logits, targets, weights, want.lse, dLoss, N, C, -100);
          const wd = ref.crossEntropyBackward(logits, targets, weights, want.lse, dLoss, N, C, -100);
          expectGrad(gd, wd, `${label} dLogits`);
        }
      }
    }
  });

  it('1.2 projCe forward/backward vs reference: V not a multiple of the chunk, padding rows, weights', () => {
    let seed = 100;
    const cases: [number, number, number][] = [
      [1, 1, 1], [7, 7, 7], [33, 16, 257], [7, 33, 513], [3, 8, 1500], [257, 9, 333], [70, 5, 2049], [40, 0, 10],
    ];
    for (const [N, D, V] of cases) {
      for (const weighted of [false, true]) {
        const hidden = randn(N * D, seed++);
        const table = randn(V * D, seed++);
        const targets = makeTargets(N, V, seed++, 0, 4); // padding id 0 is the ignore index here
        const weights = weighted ? randn(N, seed++, 2) : null;
        const dLoss = randn(N, seed++);
        const label = `projCe N=${N} D=${D} V=${V} w=${weighted}`;
        const got = cpu.projCeForward(hidden, table, targets, weights, N, D, V, 0);
        const want = ref.projCeForward(hidden, table, targets, weights, N, D, V, 0);
        expectNear(got.loss, want.loss, `${label} loss`);
        expectNear(got.lse, want.lse, `${label} lse`);
        const gb = cpu.projCeBackward(hidden, table, targets, weights, want.lse, dLoss, N, D, V, 0);
        const wb = ref.projCeBackward(hidden, table, targets, weights, want.lse, dLoss, N, D, V, 0);
        expectGrad(gb.dHidden, wb.dHidden, `${label} dHidden`);
        expectGrad(gb.dTable, wb.dTable, `${label} dTable`);
      }
    }
  });

  it.skipIf(!haveGolden)('1.3 golden softmax_cross_entropy and projection_cross_entropy', () => {
    for (let c = 0; c < 3; c++) {
      const g = golden(`softmax_cross_entropy-${c}`);
      const [N, C] = g.inputs.logits!.shape as [number, number];
      const logits = f32(g.inputs.logits!), targets = i32(g.inputs.targets!);
      const weights = g.inputs.weights ? f32(g.inputs.weights) : null;
      const ignore = g.config.ignore_index as number;
      const { rtol, atol } = g.tolerance;
      const fw = cpu.crossEntropyForward(logits, targets, weights, N, C, ignore);
      expectClose(fw.loss, g.outputs.loss!.data, rtol, atol, `softmax_cross_entropy-${c} loss`);
      // upstream of loss plus that of the mean (Σ loss / count) folded into each row
      let count = 0;
      for (const t of targets) if (t !== ignore) count++;
      const dMean = g.upstream.mean ? g.upstream.mean.data[0]! / Math.max(count, 1) : 0;
      const dLoss = Float32Array.from(g.upstream.loss!.data, (u) => u + dMean);
      const d = cpu.crossEntropyBackward(logits, targets, weights, fw.lse, dLoss, N, C, ignore);
      expectClose(d, g.grads.logits!.data, rtol, atol, `softmax_cross_entropy-${c} dLogits`);
    }
    for (let c = 0; c < 3; c++) {
      const g = golden(`projection_cross_entropy-${c}`);
      const [N, D] = g.inputs.hidden!.shape as [number, number];
      const V = g.inputs.table!.shape[0]!;
      const hidden = f32(g.inputs.hidden!), table = f32(g.inputs.table!), targets = i32(g.inputs.targets!);
      const { rtol, atol } = g.tolerance;
      const fw = cpu.projCeForward(hidden, table, targets, null, N, D, V, 0);
      expectClose(fw.loss, g.outputs.loss!.data, rtol, atol, `projection_cross_entropy-${c} loss`);
      const bw = cpu.projCeBackward(hidden, table, targets, null, fw.lse, f32(g.upstream.loss!), N, D, V, 0);
      expectClose(bw.dHidden, g.grads.hidden!.data, rtol, atol, `projection_cross_entropy-${c} dHidden`);
      expectClose(bw.dTable, g.grads.table!.data, rtol, atol, `projection_cross_entropy-${c} dTable`);
    }
  });

  it('1.4 identical results for 1 and 2 threads (many row blocks, and few rows × many items)', () => {
    for (const [N, D, V] of [[300, 16, 1100], [5, 24, 5000]] as const) {
      const hidden = randn(N * D, 1), table = randn(V * D, 2), targets = makeTargets(N, V, 3, 0);
      const weights = randn(N, 4), dLoss = randn(N, 5);
      const [a, b] = withThreads(() => {
        const f = cpu.projCeForward(hidden, table, targets, weights, N, D, V, 0);
        const g = cpu.projCeBackward(hidden, table, targets, weights, f.lse, dLoss, N, D, V, 0);
        const ce = cpu.crossEntropyForward(table, randInt(V, 0, D, 6), null, V, D, -1);
        const ceb = cpu.crossEntropyBackward(table, randInt(V, 0, D, 6), null, ce.lse, randn(V, 7), V, D, -1);
        return { loss: f.loss, lse: f.lse, dHidden: g.dHidden, dTable: g.dTable, ce: ce.loss, ceb };
      });
      expectAllBitEqual(a, b, `projCe ${N},${D},${V}`);
    }
  });

  it('1.4b one gradient only (wants): bit-equal to that gradient of the full backward, the other null', () => {
    // few and many row blocks (1 and several row groups), ignored rows, weights, 1 and 2 threads
    for (const [N, D, V] of [[7, 33, 513], [300, 16, 1100], [5, 24, 5000], [6, 4, 9]] as const) {
      const hidden = randn(N * D, 11), table = randn(V * D, 12), targets = makeTargets(N, V, 13, 0, 3);
      const weights = randn(N, 14), dLoss = randn(N, 15);
      const lse = cpu.projCeForward(hidden, table, targets, weights, N, D, V, 0).lse;
      const [a, b] = withThreads(() => {
        const full = cpu.projCeBackward(hidden, table, targets, weights, lse, dLoss, N, D, V, 0);
        const h = cpu.projCeBackward(hidden, table, targets, weights, lse, dLoss, N, D, V, 0, { hidden: true, table: false });
        const t = cpu.projCeBackward(hidden, table, targets, weights, lse, dLoss, N, D, V, 0, { hidden: false, table: true });
        expect(h.dTable).toBeNull();
        expect(t.dHidden).toBeNull();
        expectBitEqual(h.dHidden!, full.dHidden!, `dHidden only ${N},${D},${V}`);
        expectBitEqual(t.dTable!, full.dTable!, `dTable only ${N},${D},${V}`);
        const none = cpu.projCeBackward(hidden, table, targets, weights, lse, dLoss, N, D, V, 0, { hidden: false, table: false });
        expect(none).toEqual({ dHidden: null, dTable: null });
        return { dHidden: h.dHidden!, dTable: t.dTable! };
      });
      expectAllBitEqual(a, b, `projCe wants ${N},${D},${V}`);
      const r = ref.projCeBackward(hidden, table, targets, weights, lse, dLoss, N, D, V, 0, { hidden: true, table: false });
      expect(r.dTable).toBeNull();
      expectGrad(a.dHidden, r.dHidden!, `reference dHidden only ${N},${D},${V}`);
    }
  });

  it('1.4c projCeForwardBackward: bit-equal to projCeForward then projCeBackward, in one pass and in every fallback', () => {
    // one pass (several row groups); V above the single-pass limit; one row block (a single row
    // group: one pass on 1 thread, the two kernels on 2); a zero-weight row; no weights, D = 64
    const cases = [
      { N: 300, D: 16, V: 1100, weights: 'random' }, { N: 5, D: 24, V: 5000, weights: 'random' },
      { N: 7, D: 33, V: 513, weights: 'random' }, { N: 2000, D: 20, V: 700, weights: 'zero-row' },
      { N: 3000, D: 64, V: 1683, weights: 'none' },
    ] as const;
    for (const { N, D, V, weights: kind } of cases) {
      const hidden = randn(N * D, 21), table = randn(V * D, 22), targets = makeTargets(N, V, 23, 0, 4);
      const weights = kind === 'none' ? null : randn(N, 24);
      if (kind === 'zero-row') weights![1] = 0;
      for (const dLoss of [new Float32Array(N).fill(Math.fround(1 / 300)), randn(N, 25)]) {
        for (const wants of [{ hidden: true, table: true }, { hidden: true, table: false }, { hidden: false, table: true }]) {
          const what = `projCeForwardBackward ${N},${D},${V} ${kind} wants=${JSON.stringify(wants)}`;
          const [a, b] = withThreads(() => {
            const f = cpu.projCeForward(hidden, table, targets, weights, N, D, V, 0);
            const g = cpu.projCeBackward(hidden, table, targets, weights, f.lse, dLoss, N, D, V, 0, wants);
            const fb = cpu.projCeForwardBackward(hidden, table, targets, weights, dLoss, N, D, V, 0, wants);
            expect(fb.dHidden === null, `${what}: dHidden null`).toBe(!wants.hidden);
            expect(fb.dTable === null, `${what}: dTable null`).toBe(!wants.table);
            expectAllBitEqual({ loss: f.loss, lse: f.lse, ...(wants.hidden ? { dHidden: g.dHidden! } : {}), ...(wants.table ? { dTable: g.dTable! } : {}) },
              { loss: fb.loss, lse: fb.lse, ...(wants.hidden ? { dHidden: fb.dHidden! } : {}), ...(wants.table ? { dTable: fb.dTable! } : {}) }, what);
            return { loss: fb.loss, ...(wants.hidden ? { dHidden: fb.dHidden! } : {}), ...(wants.table ? { dTable: fb.dTable! } : {}) };
          });
          expectAllBitEqual(a, b, `${what}, 1 vs 2 threads`);
        }
      }
    }
    // and against the reference (the definition: forward, then backward)
    const N = 300, D = 16, V = 1100;
    const hidden = randn(N * D, 31), table = randn(V * D, 32), targets = makeTargets(N, V, 33, 0), dLoss = randn(N, 34);
    const got = cpu.projCeForwardBackward(hidden, table, targets, null, dLoss, N, D, V, 0);
    const want = ref.projCeForwardBackward(hidden, table, targets, null, dLoss, N, D, V, 0);
    expectNear(got.loss, want.loss, 'projCeForwardBackward loss vs reference');
    expectGrad(got.dHidden!, want.dHidden!, 'projCeForwardBackward dHidden vs reference');
    expectGrad(got.dTable!, want.dTable!, 'projCeForwardBackward dTable vs reference');
  });

  it('1.5 every row ignored: zeros everywhere, and N = 0', () => {
    const N = 6, D = 4, V = 9;
    const targets = new Int32Array(N).fill(-1);
    const f = cpu.projCeForward(randn(N * D, 1), randn(V * D, 2), targets, null, N, D, V, -1);
    expect([...f.loss]).toEqual(new Array(N).fill(0));
    const b = cpu.projCeBackward(randn(N * D, 1), randn(V * D, 2), targets, null, f.lse, randn(N, 3), N, D, V, -1);
    expect(maxAbs(b.dHidden) + maxAbs(b.dTable)).toBe(0);
    expect(cpu.projCeForward(new Float32Array(0), randn(V * D, 2), new Int32Array(0), null, 0, D, V, 0).loss).toHaveLength(0);
  });

  it('1.6 a NaN logit gives a NaN loss on its row only (never silently finite)', () => {
    for (const C of [3, 40]) {
      const logits = randn(2 * C, 1);
      logits[1] = NaN;
      const f = cpu.crossEntropyForward(logits, Int32Array.from([0, 2]), null, 2, C, -100);
      expect(Number.isNaN(f.loss[0])).toBe(true);
      expect(Number.isFinite(f.loss[1])).toBe(true);
    }
    const D = 4, V = 700;
    const hidden = randn(2 * D, 2);
    hidden[D + 1] = NaN;
    const f = cpu.projCeForward(hidden, randn(V * D, 3), Int32Array.from([5, 6]), null, 2, D, V, -1);
    expect(Number.isFinite(f.loss[0])).toBe(true);
    expect(Number.isNaN(f.loss[1])).toBe(true);
  });

  it('1.7 bad inputs throw and leave the process alive', () => {
    const N = 4, D = 3, V = 5;
    const h = randn(N * D, 1), t = randn(V * D, 2), loss = new Float32Array(N), lse = new Float32Array(N);
    expectThrows(() => addon.projCeForward(h, t, Int32Array.from([1, 2, 5, 0]), null, loss, lse, N, D, V, 0),
      RangeError, /projCeForward: targets\[2\] = 5 is outside \[0, 5\)/);
    expectThrows(() => addon.projCeForward(h, t, Int32Array.from([1, -3, 2, 0]), null, loss, lse, N, D, V, 0),
      RangeError, /targets\[1\] = -3/);
    expectThrows(() => addon.projCeForward(h.subarray(1), t, new Int32Array(N), null, loss, lse, N, D, V, 0),
      RangeError, /hidden must be a Float32Array of length 12, got length 11/);
    expectThrows(() => addon.projCeForward(h, t, new Int32Array(N), new Float32Array(3), loss, lse, N, D, V, 0),
      RangeError, /weights/);
    expectThrows(() => addon.projCeForward(h, t, new Float32Array(N) as never, null, loss, lse, N, D, V, 0),
      TypeError, /targets to be a Int32Array/);
    const projCeAnyArity = addon.projCeForward as (...args: unknown[]) => void;
    expectThrows(() => projCeAnyArity(h, t, new Int32Array(N), null, loss, lse, N, D, V),
      TypeError, /expected 10 arguments/);
    expectThrows(() => addon.projCeForward(h, t, new Int32Array(N), null, loss, loss, N, D, V, 0),
      RangeError, /loss must not overlap lse/);
    expectThrows(() => addon.projCeForward(h, t, new Int32Array(N), null, loss, lse, N, D, -1, 0),
      RangeError, /V to be an integer/);
    expectThrows(() => addon.crossEntropyForward(randn(N * V, 1), Int32Array.from([0, 9, 0, 0]), null, loss, lse, N, V, -100),
      RangeError, /crossEntropyForward: targets\[1\] = 9/);
    expectThrows(() => addon.crossEntropyBackward(randn(N * V, 1), new Int32Array(N), null, lse, randn(N, 2),
      new Float32Array(N * V - 1), N, V, -100), RangeError, /dLogits must be a Float32Array of length 20/);
  });
});

// ---- 2. attention ------------------------------------------------------------------------------

type MaskKind = 'full' | 'left' | 'holes' | 'right+empty';

/** key masks: all real; left padding of varying length; random holes; right padding + one fully padded sequence */
function makeMask(B: number, L: number, kind: MaskKind, seed: number): Int32Array {
  const m = new Int32Array(B * L).fill(1);
  const r = rng(seed);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < L; j++) {
      if (kind === 'left' && j < Math.floor((b * L) / (B + 1))) m[b * L + j] = 0;
      if (kind === 'holes' && r() < 0.3) m[b * L + j] = 0;
      if (kind === 'right+empty' && (b === B - 1 || j >= L - b)) m[b * L + j] = 0;
    }
  }
  return m;
}

function attnDims(B: number, H: number, L: number, dh: number, causal: boolean, dropout = 0, rngKey: RngKey | null = null): AttentionDims {
  return { B, H, L, dh, causal, scale: 1 / Math.sqrt(Math.max(dh, 1)), dropout, rng: rngKey };
}

function attnCheck(d: AttentionDims, kind: MaskKind, seed: number, qScale = 1): void {
  const n = d.B * d.H * d.L * d.dh;
  const q = randn(n, seed, qScale), k = randn(n, seed + 1, qScale), v = randn(n, seed + 2);
  const mask = makeMask(d.B, d.L, kind, seed + 3);
  const dOut = randn(n, seed + 4);
  const label = `attention ${JSON.stringify({ ...d, rng: undefined })} ${kind}`;
  const got = cpu.attentionForward(q, k, v, mask, d);
  const want = ref.attentionForward(q, k, v, mask, d);
  expectNear(got.out, want.out, `${label} out`);
  expectNear(got.lse, want.lse, `${label} lse`);
  const gb = cpu.attentionBackward(q, k, v, mask, want.out, want.lse, dOut, d);
  const wb = ref.attentionBackward(q, k, v, mask, want.out, want.lse, dOut, d);
  expectGrad(gb.dq, wb.dq, `${label} dq`, 2e-4);
  expectGrad(gb.dk, wb.dk, `${label} dk`, 2e-4);
  expectGrad(gb.dv, wb.dv, `${label} dv`, 2e-4);
}

describe('2. attention', () => {
  it('2.1 forward/backward vs reference: odd sizes, causal and bidirectional, padding kinds', () => {
    let seed = 1;
    const shapes: [number, number, number, number][] = [[1, 1, 1, 1], [2, 3, 7, 5], [3, 2, 33, 8], [2, 1, 130, 16], [1, 2, 257, 3]];
    for (const [B, H, L, dh] of shapes) {
      for (const causal of [true, false]) {
        for (const kind of ['full', 'left', 'holes', 'right+empty'] as MaskKind[]) {
          attnCheck(attnDims(B, H, L, dh, causal), kind, (seed += 10));
        }
      }
    }
    attnCheck(attnDims(2, 2, 20, 8, false), 'holes', 999, 4); // sharp softmax
  });

  it('2.2 dropout: forward/backward vs reference with the same key, odd sizes', () => {
    let seed = 500;
    for (const [B, H, L, dh] of [[1, 1, 7, 3], [2, 3, 33, 8], [2, 1, 70, 5]] as const) {
      for (const causal of [true, false]) {
        const key: RngKey = { seed: 1234 + seed, stream: 7, offset: 3 + seed };
        attnCheck(attnDims(B, H, L, dh, causal, 0.3, key), 'left', (seed += 10));
      }
    }
    // key words above 32 bits: seed hi word, stream 2^32-1, block counters past 2^32
    const big: RngKey = { seed: 2 ** 40 + 12345, stream: 2 ** 32 - 1, offset: 2 ** 40 + 3 };
    attnCheck(attnDims(2, 2, 19, 4, false, 0.5, big), 'holes', 9000);
  });

  it('2.3 dropout keeps exactly the reference elements (out = dropped p with v = identity)', () => {
    const B = 2, H = 2, L = 37, dh = 37;
    for (const causal of [false, true]) {
      const n = B * H * L * dh;
      const q = randn(n, 1), k = randn(n, 2);
      const v = new Float32Array(n);
      for (let bh = 0; bh < B * H; bh++) for (let j = 0; j < L; j++) v[(bh * L + j) * dh + j] = 1;
      const mask = makeMask(B, L, 'left', 3);
      const d = attnDims(B, H, L, dh, causal, 0.4, { seed: 99, stream: 5, offset: 11 });
      const got = cpu.attentionForward(q, k, v, mask, d).out;
      const want = ref.attentionForward(q, k, v, mask, d).out;
      let kept = 0, dropped = 0;
      for (let e = 0; e < n; e++) {
        expect(got[e] === 0, `element ${e} kept/dropped differs`).toBe(want[e] === 0);
        if (want[e] !== 0) kept++;
        else dropped++;
      }
      expect(kept).toBeGreaterThan(100);
      expect(dropped).toBeGreaterThan(100);
      expectNear(got, want, 'dropped p');
      // the backward pass regenerates the same mask: dv = p_dropped^T dOut, so dv's zero pattern too
      const dOut = new Float32Array(n);
      for (let bh = 0; bh < B * H; bh++) for (let i = 0; i < L; i++) dOut[(bh * L + i) * dh + i] = 1;
      const lse = ref.attentionForward(q, k, v, mask, d).lse;
      const dv = cpu.attentionBackward(q, k, v, mask, want, lse, dOut, d).dv;
      // dv[j, i] = p_dropped[i, j]
      for (let bh = 0; bh < B * H; bh++)
        for (let i = 0; i < L; i++)
          for (let j = 0; j < L; j++) {
            expect(dv[(bh * L + j) * dh + i] === 0).toBe(want[(bh * L + i) * dh + j] === 0);
          }
    }
  });

  it.skipIf(!haveGolden)('2.4 golden attention fixtures', () => {
    for (let c = 0; c < 3; c++) {
      const g = golden(`attention-${c}`);
      const [B, H, L, dh] = g.inputs.q!.shape as [number, number, number, number];
      const d: AttentionDims = { B, H, L, dh, causal: g.config.causal as boolean, scale: g.config.scale as number, dropout: 0, rng: null };
      const q = f32(g.inputs.q!), k = f32(g.inputs.k!), v = f32(g.inputs.v!), mask = i32(g.inputs.key_mask!);
      const { rtol, atol } = g.tolerance;
      const fw = cpu.attentionForward(q, k, v, mask, d);
      expectClose(fw.out, g.outputs.out!.data, rtol, atol, `attention-${c} out`);
      const bw = cpu.attentionBackward(q, k, v, mask, fw.out, fw.lse, f32(g.upstream.out!), d);
      expectClose(bw.dq, g.grads.q!.data, rtol, atol, `attention-${c} dq`);
      expectClose(bw.dk, g.grads.k!.data, rtol, atol, `attention-${c} dk`);
      expectClose(bw.dv, g.grads.v!.data, rtol, atol, `attention-${c} dv`);
    }
  });

  it('2.5 rows without allowed keys: out 0, lse -Infinity, no gradient', () => {
    const B = 2, H = 1, L = 5, dh = 3, n = B * H * L * dh;
    const mask = Int32Array.from([0, 0, 1, 1, 1, 0, 0, 0, 0, 0]);
    const q = randn(n, 1), k = randn(n, 2), v = randn(n, 3);
    const d = attnDims(B, H, L, dh, true);
    const f = cpu.attentionForward(q, k, v, mask, d);
    expect([...f.lse.slice(0, 2)]).toEqual([-Infinity, -Infinity]);
    expect([...f.lse.slice(5)]).toEqual(new Array(5).fill(-Infinity));
    expect(maxAbs(f.out.slice(0, 2 * dh)) + maxAbs(f.out.slice(L * dh))).toBe(0);
    const g = cpu.attentionBackward(q, k, v, mask, f.out, f.lse, randn(n, 4), d);
    expect(maxAbs(g.dq.slice(0, 2 * dh)) + maxAbs(g.dq.slice(L * dh)) + maxAbs(g.dk.slice(L * dh)) + maxAbs(g.dv.slice(L * dh))).toBe(0);
  });

  it('2.6 identical results for 1 and 2 threads, with dropout', () => {
    const B = 3, H = 2, L = 150, dh = 8, n = B * H * L * dh;
    const q = randn(n, 1), k = randn(n, 2), v = randn(n, 3), dOut = randn(n, 4);
    const mask = makeMask(B, L, 'left', 5);
    for (const causal of [true, false]) {
      const d = attnDims(B, H, L, dh, causal, 0.2, { seed: 3, stream: 1, offset: 0 });
      const [a, b] = withThreads(() => {
        const f = cpu.attentionForward(q, k, v, mask, d);
        const g = cpu.attentionBackward(q, k, v, mask, f.out, f.lse, dOut, d);
        return { out: f.out, lse: f.lse, ...g };
      });
      expectAllBitEqual(a, b, `attention causal=${causal}`);
    }
  });

  it('2.8 interleaved heads (B,L,H,dh): vs reference, and the same bits as (B,H,L,dh) permuted, on both paths', () => {
    // (B,H,L,dh) -> (B,L,H,dh)
    const interleave = (x: Float32Array, B: number, H: number, L: number, dh: number): Float32Array => {
      const y = new Float32Array(x.length);
      for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < L; i++)
        for (let c = 0; c < dh; c++) y[((b * L + i) * H + h) * dh + c] = x[((b * H + h) * L + i) * dh + c]!;
      return y;
    };
    let seed = 3000;
    // dh multiple of 8 and L <= 256: the small-head path reading rows H·dh apart; dh = 5 and
    // L = 257: the general path through its (B,H,L,dh) copies
    for (const [B, H, L, dh] of [[3, 2, 33, 8], [2, 2, 50, 32], [2, 3, 19, 5], [1, 2, 257, 16]] as const) {
      for (const [causal, p] of [[true, 0], [false, 0], [true, 0.3]] as const) {
        const key: RngKey | null = p > 0 ? { seed: 77, stream: 2, offset: 9 } : null;
        const d = attnDims(B, H, L, dh, causal, p, key), di = { ...d, interleaved: true };
        attnCheck(di, 'left', (seed += 10));
        const n = B * H * L * dh;
        const q = randn(n, seed + 1), k = randn(n, seed + 2), v = randn(n, seed + 3), dOut = randn(n, seed + 4);
        const mask = makeMask(B, L, 'holes', seed + 5);
        const I = (x: Float32Array) => interleave(x, B, H, L, dh);
        const label = `interleaved ${B},${H},${L},${dh} causal=${causal} p=${p}`;
        for (const be of [cpu, ref]) {
          const f = be.attentionForward(q, k, v, mask, d), fi = be.attentionForward(I(q), I(k), I(v), mask, di);
          expectBitEqual(fi.out, I(f.out), `${be.name} ${label} out`);
          expectBitEqual(fi.lse, f.lse, `${be.name} ${label} lse`);
          const g = be.attentionBackward(q, k, v, mask, f.out, f.lse, dOut, d);
          const gi = be.attentionBackward(I(q), I(k), I(v), mask, fi.out, fi.lse, I(dOut), di);
          expectBitEqual(gi.dq, I(g.dq), `${be.name} ${label} dq`);
          expectBitEqual(gi.dk, I(g.dk), `${be.name} ${label} dk`);
          expectBitEqual(gi.dv, I(g.dv), `${be.name} ${label} dv`);
        }
      }
    }
  });

  it('2.7 bad inputs throw and leave the process alive', () => {
    const B = 1, H = 1, L = 4, dh = 2, n = 8;
    const q = randn(n, 1), out = new Float32Array(n), lse = new Float32Array(4);
    const mask = Int32Array.from([1, 1, 2, 1]);
    const args = (m: Int32Array, p: number, key: RngKey | null) =>
      [q, q, q, m, out, lse, B, H, L, dh, true, 0.5, p, key, false] as const;
    expectThrows(() => addon.attentionForward(...args(mask, 0, null)), RangeError, /keyMask\[2\] = 2 must be 0 or 1/);
    const ok = new Int32Array(4).fill(1);
    expectThrows(() => addon.attentionForward(...args(ok, 1, { seed: 1, stream: 0, offset: 0 })), RangeError, /dropout probability/);
    expectThrows(() => addon.attentionForward(...args(ok, 0.1, null)), RangeError, /needs an rng key/);
    expectThrows(() => addon.attentionForward(...args(ok, 0.1, { seed: -1, stream: 0, offset: 0 })), RangeError, /key.seed/);
    expectThrows(() => addon.attentionForward(q.subarray(1), q, q, ok, out, lse, B, H, L, dh, true, 0.5, 0, null, false),
      RangeError, /q must be a Float32Array of length 8/);
    expectThrows(() => addon.attentionForward(q, q, q, ok, q, lse, B, H, L, dh, true, 0.5, 0, null, false),
      RangeError, /out must not overlap q/);
    expectThrows(() => addon.attentionForward(q, q, q, ok, out, lse, B, H, L, dh, true, NaN, 0, null, false), RangeError, /scale must be finite/);
    expectThrows(() => addon.attentionForward(q, q, q, ok, out, lse, B, H, L, dh, true, 0.5, 0, null), TypeError, /expected 15 arguments, got 14/);
    expectThrows(() => addon.attentionForward(q, q, q, ok, out, lse, B, H, L, dh, true, 0.5, 0, null, 1 as never), TypeError, /interleaved to be a boolean/);
    expectThrows(() => addon.attentionBackward(q, q, q, ok, out, lse, q, out, new Float32Array(n), new Float32Array(n),
      B, H, L, dh, true, 0.5, 0, null, false), RangeError, /dq must not overlap out/);
    expectThrows(() => addon.attentionBackward(q, q, q, ok, out, lse, q, new Float32Array(n), new Float32Array(n),
      new Float32Array(n), B, H, L, dh, 1 as never, 0.5, 0, null, false), TypeError, /causal to be a boolean/);
  });
});

// ---- 3. GRU --------------------------------------------------------------------------------------

function gruInputs(d: GruDims, seed: number, wScale = 0.5) {
  const { B, L, I, H } = d;
  return {
    x: randn(B * L * I, seed), h0: randn(B * H, seed + 1),
    wIh: randn(3 * H * I, seed + 2, wScale), wHh: randn(3 * H * H, seed + 3, wScale),
    bIh: randn(3 * H, seed + 4, 0.3), bHh: randn(3 * H, seed + 5, 0.3), dOut: randn(B * L * H, seed + 6),
  };
}

describe('3. GRU', () => {
  it('3.1 forward/backward vs reference on odd sizes', () => {
    let seed = 1;
    const shapes: [number, number, number, number][] = [
      [1, 1, 1, 1], [2, 3, 5, 7], [7, 9, 4, 33], [9, 5, 17, 8], [17, 4, 3, 2], [1, 40, 6, 5], [3, 2, 0, 4],
      [2, 0, 3, 4], [0, 3, 3, 4], // empty sequences and an empty batch: every output still written (NaN poisoning)
    ];
    for (const [B, L, I, H] of shapes) {
      for (const wScale of [0.3, 1.5]) {
        const d: GruDims = { B, L, I, H };
        const g = gruInputs(d, (seed += 10), wScale);
        const label = `gru ${B},${L},${I},${H} w=${wScale}`;
        const got = cpu.gruForward(g.x, g.h0, g.wIh, g.wHh, g.bIh, g.bHh, d);
        const want = ref.gruForward(g.x, g.h0, g.wIh, g.wHh, g.bIh, g.bHh, d);
        expectNear(got.out, want.out, `${label} out`);
        expectNear(got.cache, want.cache, `${label} cache`);
        const gb = cpu.gruBackward(g.x, g.h0, g.wIh, g.wHh, want.out, want.cache, g.dOut, d);
        const wb = ref.gruBackward(g.x, g.h0, g.wIh, g.wHh, want.out, want.cache, g.dOut, d);
        for (const key of ['dx', 'dh0', 'dWIh', 'dWHh', 'dBIh', 'dBHh'] as const) {
          expectGrad(gb[key], wb[key], `${label} ${key}`, 2e-4);
        }
      }
    }
  });

  it.skipIf(!haveGolden)('3.2 golden gru fixtures (out, h_n and all six gradients)', () => {
    for (let c = 0; c < 3; c++) {
      const g = golden(`gru-${c}`);
      const [B, L, I] = g.inputs.x!.shape as [number, number, number];
      const H = g.inputs.h0!.shape[1]!;
      const d: GruDims = { B, L, I, H };
      const x = f32(g.inputs.x!), h0 = f32(g.inputs.h0!);
      const wIh = f32(g.inputs.weight_ih!), wHh = f32(g.inputs.weight_hh!);
      const bIh = f32(g.inputs.bias_ih!), bHh = f32(g.inputs.bias_hh!);
      const { rtol, atol } = g.tolerance;
      const fw = cpu.gruForward(x, h0, wIh, wHh, bIh, bHh, d);
      expectClose(fw.out, g.outputs.out!.data, rtol, atol, `gru-${c} out`);
      const hn = new Float32Array(B * H);
      for (let b = 0; b < B; b++) hn.set(fw.out.subarray((b * L + L - 1) * H, (b * L + L) * H), b * H);
      expectClose(hn, g.outputs.h_n!.data, rtol, atol, `gru-${c} h_n`);
      const dOut = f32(g.upstream.out!);
      const upHn = g.upstream.h_n!.data;
      for (let b = 0; b < B; b++) for (let u = 0; u < H; u++) dOut[(b * L + L - 1) * H + u] += upHn[b * H + u]!;
      const bw = cpu.gruBackward(x, h0, wIh, wHh, fw.out, fw.cache, dOut, d);
      const names = { x: 'dx', h0: 'dh0', weight_ih: 'dWIh', weight_hh: 'dWHh', bias_ih: 'dBIh', bias_hh: 'dBHh' } as const;
      for (const [gname, key] of Object.entries(names)) {
        expectClose(bw[key], g.grads[gname]!.data, rtol, atol, `gru-${c} d${gname}`);
      }
    }
  });

  it('3.3 identical results for 1 and 2 threads', () => {
    const d: GruDims = { B: 21, L: 13, I: 9, H: 20 };
    const g = gruInputs(d, 77);
    const [a, b] = withThreads(() => {
      const f = cpu.gruForward(g.x, g.h0, g.wIh, g.wHh, g.bIh, g.bHh, d);
      return { ...f, ...cpu.gruBackward(g.x, g.h0, g.wIh, g.wHh, f.out, f.cache, g.dOut, d) };
    });
    expectAllBitEqual(a, b, 'gru');
  });

  it('3.4 empty sequences (L = 0) and H = 0', () => {
    const d: GruDims = { B: 2, L: 0, I: 3, H: 4 };
    const g = gruInputs(d, 5);
    const f = cpu.gruForward(g.x, g.h0, g.wIh, g.wHh, g.bIh, g.bHh, d);
    expect(f.out).toHaveLength(0);
    const b = cpu.gruBackward(g.x, g.h0, g.wIh, g.wHh, f.out, f.cache, g.dOut, d);
    expect(maxAbs(b.dh0) + maxAbs(b.dWIh) + maxAbs(b.dWHh) + maxAbs(b.dBIh) + maxAbs(b.dBHh)).toBe(0);
    const d0: GruDims = { B: 2, L: 3, I: 3, H: 0 };
    const g0 = gruInputs(d0, 6);
    const f0 = cpu.gruForward(g0.x, g0.h0, g0.wIh, g0.wHh, g0.bIh, g0.bHh, d0);
    const b0 = cpu.gruBackward(g0.x, g0.h0, g0.wIh, g0.wHh, f0.out, f0.cache, g0.dOut, d0);
    expect([...b0.dx]).toEqual(new Array(18).fill(0));
  });

  it('3.5 bad inputs throw and leave the process alive', () => {
    const d: GruDims = { B: 2, L: 3, I: 4, H: 5 };
    const g = gruInputs(d, 9);
    const out = new Float32Array(30), cache = new Float32Array(120);
    expectThrows(() => addon.gruForward(g.x, g.h0, g.wIh.subarray(1), g.wHh, g.bIh, g.bHh, out, cache, 2, 3, 4, 5),
      RangeError, /gruForward: wIh must be a Float32Array of length 60, got length 59/);
    expectThrows(() => addon.gruForward(g.x, g.h0, g.wIh, g.wHh, g.bIh, g.bHh, out, new Float32Array(119), 2, 3, 4, 5),
      RangeError, /cache must be a Float32Array of length 120/);
    expectThrows(() => addon.gruForward(g.x, g.h0, g.wIh, g.wHh, g.bIh, g.bHh, out, cache, 2, 3, 4, 5.5),
      RangeError, /H to be an integer/);
    const shared = new Float32Array(60);
    expectThrows(() => addon.gruForward(shared.subarray(0, 24), g.h0, g.wIh, g.wHh, g.bIh, g.bHh, shared.subarray(20, 50),
      cache, 2, 3, 4, 5), RangeError, /out must not overlap x/);
    expectThrows(() => addon.gruBackward(g.x, g.h0, g.wIh, g.wHh, out, cache, g.dOut, new Float32Array(24),
      new Float32Array(10), new Float32Array(60), new Float32Array(75), new Float32Array(15), new Float32Array(14),
      2, 3, 4, 5), RangeError, /dBHh must be a Float32Array of length 15/);
  });
});

// ---- 4. cosine top-k and two-hop ----------------------------------------------------------------

/** random rows with duplicated rows (bitwise copies, also of a scaled copy) and zero rows */
function neighbourRows(N: number, D: number, seed: number): Float32Array {
  const x = randn(N * D, seed);
  const r = rng(seed + 1);
  for (let i = 0; i < N; i++) {
    const u = r();
    if (u < 0.05) x.fill(0, i * D, (i + 1) * D); // zero row
    else if (u < 0.2 && i > 0) {
      const src = Math.floor(r() * i); // duplicate of an earlier row
      x.copyWithin(i * D, src * D, (src + 1) * D);
    }
  }
  return x;
}

/**
 * Checks a top-k result against exact (double) similarities: every listed similarity matches
 * sim(i, j) to 1e-6, entries are distinct and never the query, the list is sorted by
 * (sim desc, index asc) up to 1e-6, and its values equal the reference's k best values. Where
 * the reference's ranking is decisive (neighbouring candidates differ by > 1e-5 or tie exactly),
 * indices must be equal exactly; elsewhere f32 rounding may legitimately swap near-ties.
 */
function checkTopk(x: Float32Array, N: number, D: number, k: number, queries: Int32Array | null, got: { indices: Int32Array; similarities: Float32Array }, label: string): number {
  const want = ref.cosineTopk(x, N, D, k, queries);
  const norm = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let c = 0; c < D; c++) s += x[i * D + c]! ** 2;
    norm[i] = Math.sqrt(s);
  }
  const sim = (i: number, j: number) => {
    if (norm[i] === 0 || norm[j] === 0) return 0;
    let s = 0;
    for (let c = 0; c < D; c++) s += x[i * D + c]! * x[j * D + c]!;
    return s / (norm[i]! * norm[j]!);
  };
  const Q = queries ? queries.length : N;
  let decisive = 0;
  for (let q = 0; q < Q; q++) {
    const i = queries ? queries[q]! : q;
    const ids = [...got.indices.subarray(q * k, (q + 1) * k)];
    expect(new Set(ids).size, `${label} q=${q} distinct`).toBe(k);
    expect(ids.includes(i), `${label} q=${q} excludes itself`).toBe(false);
    const all: number[] = [];
    for (let j = 0; j < N; j++) if (j !== i) all.push(sim(i, j));
    all.sort((a, b) => b - a);
    let isDecisive = true;
    for (let m = 0; m < k && m + 1 < all.length; m++) {
      const gap = all[m]! - all[m + 1]!;
      if (gap !== 0 && gap <= 1e-5) isDecisive = false;
    }
    for (let m = 0; m < k; m++) {
      const j = ids[m]!;
      expect(Math.abs(got.similarities[q * k + m]! - sim(i, j)), `${label} q=${q} sim of ${j}`).toBeLessThanOrEqual(1e-6);
      expect(Math.abs(got.similarities[q * k + m]! - want.similarities[q * k + m]!), `${label} q=${q} value ${m}`).toBeLessThanOrEqual(2e-6);
      if (m > 0) expect(got.similarities[q * k + m]!, `${label} q=${q} sorted`).toBeLessThanOrEqual(got.similarities[q * k + m - 1]! + 1e-6);
    }
    if (isDecisive) {
      decisive++;
      expect(ids, `${label} q=${q} indices`).toEqual([...want.indices.subarray(q * k, (q + 1) * k)]);
    }
  }
  return decisive;
}

describe('4. cosine top-k, two-hop', () => {
  it.skipIf(!haveGolden)('4.1 golden cosine_topk fixtures: indices, similarities, two_hop, counts', () => {
    for (let c = 0; c < 3; c++) {
      const g = golden(`cosine_topk-${c}`);
      const [N, D] = g.inputs.x!.shape as [number, number];
      const k = g.config.k as number;
      const x = f32(g.inputs.x!);
      const { rtol, atol } = g.tolerance;
      for (const threads of [1, 2]) {
        addon.setThreads(threads);
        const got = cpu.cosineTopk(x, N, D, k, null);
        expect([...got.indices], `cosine_topk-${c} indices`).toEqual(g.outputs.indices!.data);
        expectClose(got.similarities, g.outputs.similarities!.data, rtol, atol, `cosine_topk-${c} similarities`);
        const th = cpu.twoHop(got.indices, N, k);
        expect([...th.twoHop], `cosine_topk-${c} two_hop`).toEqual(g.outputs.two_hop!.data);
        expect([...th.count], `cosine_topk-${c} two_hop_count`).toEqual(g.outputs.two_hop_count!.data);
        // queries = a subset in any order gives the matching rows
        const qs = Int32Array.from([N - 1, 0, Math.floor(N / 2), 0]);
        const sub = cpu.cosineTopk(x, N, D, k, qs);
        for (let q = 0; q < qs.length; q++) {
          expect([...sub.indices.subarray(q * k, (q + 1) * k)]).toEqual(g.outputs.indices!.data.slice(qs[q]! * k, (qs[q]! + 1) * k));
        }
      }
      addon.setThreads(defaultThreads);
    }
  });

  it('4.2 vs reference: odd sizes, duplicates, zero rows, query subsets, many candidate blocks', () => {
    let seed = 1;
    for (const [N, D, k] of [[2, 1, 1], [7, 3, 6], [33, 7, 5], [257, 16, 7], [700, 5, 3], [600, 0, 4]] as const) {
      const x = neighbourRows(N, D, (seed += 10));
      const got = cpu.cosineTopk(x, N, D, k, null);
      const decisive = checkTopk(x, N, D, k, null, got, `topk N=${N} D=${D} k=${k}`);
      if (N >= 33) expect(decisive).toBeGreaterThan(N / 2);
      const qs = randInt(5, 0, N, seed + 3);
      checkTopk(x, N, D, k, qs, cpu.cosineTopk(x, N, D, k, qs), `topk queries N=${N}`);
      // two-hop vs reference on the same table
      const th = cpu.twoHop(got.indices, N, k);
      const want = ref.twoHop(got.indices, N, k);
      expect([...th.twoHop]).toEqual([...want.twoHop]);
      expect([...th.count]).toEqual([...want.count]);
    }
  });

  it('4.3 zero rows rank candidates by index; duplicates tie exactly; k = N-1', () => {
    const N = 9, D = 4;
    const x = randn(N * D, 5);
    x.fill(0, 3 * D, 4 * D); // row 3 is zero
    x.copyWithin(7 * D, 1 * D, 2 * D); // row 7 = row 1
    x.copyWithin(8 * D, 1 * D, 2 * D); // row 8 = row 1
    const r = cpu.cosineTopk(x, N, D, N - 1, null);
    expect([...r.indices.subarray(3 * (N - 1), 4 * (N - 1))]).toEqual([0, 1, 2, 4, 5, 6, 7, 8]);
    expect(maxAbs(r.similarities.subarray(3 * (N - 1), 4 * (N - 1)))).toBe(0);
    expect([...r.indices.subarray(1 * (N - 1), 1 * (N - 1) + 2)]).toEqual([7, 8]);
    expect([...r.indices.subarray(7 * (N - 1), 7 * (N - 1) + 2)]).toEqual([1, 8]);
    expect(r.similarities[7 * (N - 1)]).toBe(r.similarities[7 * (N - 1) + 1]);
  });

  it('4.6 the integer screen of the AVX2 path drops no neighbour: near-ties, spiky rows, D not a multiple of 8', () => {
    // (a) every row close to one direction: the similarities differ by ~1e-4, far below the
    //     screen's error bound, so nearly every candidate must go to the exact check;
    // (b) one large component per row: the shared 6-bit candidate scale is as coarse as it gets;
    // (c) D = 13 and N not a multiple of 8: padded dims and a padded last block.
    const cases: [number, number, number, (x: Float32Array, N: number, D: number) => void][] = [
      [400, 64, 6, (x, N, D) => { for (let i = 0; i < N; i++) for (let c = 0; c < D; c++) x[i * D + c] = 1 + 0.01 * x[i * D + c]!; }],
      [500, 32, 5, (x, N, D) => { for (let i = 0; i < N; i++) x[i * D + (i % D)] = 40 * (i % 2 ? 1 : -1); }],
      [301, 13, 7, () => {}],
    ];
    let seed = 4600;
    for (const [N, D, k, shape] of cases) {
      const x = randn(N * D, (seed += 10));
      shape(x, N, D);
      checkTopk(x, N, D, k, null, cpu.cosineTopk(x, N, D, k, null), `screen N=${N} D=${D}`);
      const qs = randInt(40, 0, N, seed + 1);
      checkTopk(x, N, D, k, qs, cpu.cosineTopk(x, N, D, k, qs), `screen queries N=${N} D=${D}`);
    }
  });

  it('4.4 identical results for 1 and 2 threads', () => {
    const N = 900, D = 12, k = 9;
    const x = neighbourRows(N, D, 3);
    const [a, b] = withThreads(() => {
      const t = cpu.cosineTopk(x, N, D, k, null);
      const q = cpu.cosineTopk(x, N, D, k, Int32Array.from([5, 800, 5]));
      return { ...t, ...cpu.twoHop(t.indices, N, k), qi: q.indices, qs: q.similarities };
    });
    expectAllBitEqual(a, b, 'cosineTopk');
  });

  it('4.5 bad inputs throw and leave the process alive', () => {
    const N = 5, D = 2, k = 2, x = randn(N * D, 1);
    const ind = new Int32Array(N * k), sims = new Float32Array(N * k);
    expectThrows(() => addon.cosineTopk(x, null, new Int32Array(N * N), new Float32Array(N * N), N, D, N),
      RangeError, /cosineTopk: k = 5 must be at most N-1 = 4/);
    expectThrows(() => addon.cosineTopk(x, Int32Array.from([0, 5]), new Int32Array(4), new Float32Array(4), N, D, k),
      RangeError, /queries\[1\] = 5 is out of range \[0, 5\)/);
    expectThrows(() => addon.cosineTopk(x, Int32Array.from([0, -1]), new Int32Array(4), new Float32Array(4), N, D, k),
      RangeError, /queries\[1\] = -1/);
    expectThrows(() => addon.cosineTopk(x, null, ind, new Float32Array(9), N, D, k), RangeError, /similarities must be a Float32Array of length 10/);
    expectThrows(() => addon.cosineTopk(x, null, ind, sims, 0, D, 0), RangeError, /x must be a Float32Array of length 0|k = 0 must be at most N-1 = -1/);
    const bad = Int32Array.from([1, 2, 0, 3, 4, 7, 0, 1, 2, 3]);
    expectThrows(() => addon.twoHop(bad, new Int32Array(N * 6), new Int32Array(N), N, k), RangeError, /twoHop: indices\[5\] = 7 is out of range/);
    expectThrows(() => addon.twoHop(Int32Array.from([1, 2, 0, 3, 4, 1, 0, 1, 2, 3]), new Int32Array(N * 6 - 1), new Int32Array(N), N, k),
      RangeError, /twoHop must be a Int32Array of length 30/);
  });
});

// ---- 5. Dirichlet and neighbour mixing -------------------------------------------------------------

describe('5. Dirichlet, neighbour mix', () => {
  it('5.1 dirichlet equals the reference bit for bit (alpha < 1, = 1, > 1; varying counts)', () => {
    let seed = 0;
    for (const alpha of [0.05, 0.5, 1, 2.5, 30]) {
      for (const [rows, K] of [[1, 1], [7, 5], [257, 33]] as const) {
        const counts = randInt(rows, 1, K + 1, ++seed);
        const key: RngKey = { seed: 1000 + seed, stream: 4, offset: 17 * seed };
        const got = cpu.dirichlet(counts, rows, K, alpha, key);
        const want = ref.dirichlet(counts, rows, K, alpha, key);
        expectBitEqual(got, want, `dirichlet alpha=${alpha} ${rows}x${K}`);
        for (let r = 0; r < rows; r++) {
          let s = 0;
          for (let j = 0; j < K; j++) s += got[r * K + j]!;
          expect(Math.abs(s - 1)).toBeLessThan(1e-5);
        }
      }
    }
    // tiny alpha: rows whose draws all underflow become uniform, like the reference
    const counts = new Int32Array(50).fill(3);
    const key = { seed: 5, stream: 0, offset: 0 };
    expectBitEqual(cpu.dirichlet(counts, 50, 4, 1e-3, key), ref.dirichlet(counts, 50, 4, 1e-3, key), 'dirichlet tiny alpha');
  });

  it('5.2 neighbourMix forward/backward vs reference (-1 holes, repeated ids)', () => {
    let seed = 0;
    for (const [R, K, V, D] of [[1, 1, 1, 1], [7, 3, 5, 33], [257, 7, 40, 8], [33, 42, 300, 3]] as const) {
      const ids = randInt(R * K, -1, V, ++seed);
      const w = randn(R * K, ++seed);
      const table = randn(V * D, ++seed), dOut = randn(R * D, ++seed);
      expectNear(cpu.neighbourMix(table, ids, w, R, K, V, D), ref.neighbourMix(table, ids, w, R, K, V, D), `mix ${R},${K},${V},${D}`);
      expectGrad(cpu.neighbourMixBackward(dOut, ids, w, R, K, V, D), ref.neighbourMixBackward(dOut, ids, w, R, K, V, D),
        `mix backward ${R},${K},${V},${D}`);
    }
  });

  it('5.3 identical results for 1 and 2 threads', () => {
    const R = 500, K = 9, V = 120, D = 16;
    const ids = randInt(R * K, -1, V, 1), w = randn(R * K, 2), table = randn(V * D, 3), dOut = randn(R * D, 4);
    const counts = randInt(R, 1, K + 1, 5);
    const [a, b] = withThreads(() => ({
      mix: cpu.neighbourMix(table, ids, w, R, K, V, D),
      back: cpu.neighbourMixBackward(dOut, ids, w, R, K, V, D),
      dir: cpu.dirichlet(counts, R, K, 0.7, { seed: 9, stream: 2, offset: 3 }),
    }));
    expectAllBitEqual(a, b, 'mix/dirichlet');
  });

  it('5.5 Dirichlet marginals have the right mean and variance, from alpha 0.01 to 1000', () => {
    // Dirichlet(α,…,α) in K dims: E w_j = 1/K, Var w_j = (1/K)(1 − 1/K)/(Kα + 1)
    const rows = 40_000, K = 6, counts = new Int32Array(rows).fill(K);
    for (const alpha of [0.01, 0.3, 1, 30, 1000]) {
      const w = cpu.dirichlet(counts, rows, K, alpha, { seed: 31, stream: 6, offset: 0 });
      const v = (1 / K) * (1 - 1 / K) / (K * alpha + 1);
      for (let j = 0; j < K; j++) {
        let s1 = 0, s2 = 0;
        for (let r = 0; r < rows; r++) {
          const x = w[r * K + j]!;
          s1 += x;
          s2 += x * x;
        }
        const mean = s1 / rows, variance = s2 / rows - mean * mean;
        expect(Math.abs(mean - 1 / K), `mean alpha=${alpha} j=${j}`).toBeLessThan(5 * Math.sqrt(v / rows));
        expect(Math.abs(variance / v - 1), `variance alpha=${alpha} j=${j}`).toBeLessThan(0.06);
      }
    }
  });

  it('5.4 bad inputs throw and leave the process alive', () => {
    const key = { seed: 1, stream: 0, offset: 0 };
    expectThrows(() => addon.dirichlet(Int32Array.from([1, 0]), new Float32Array(6), 2, 3, 1, key), RangeError, /counts\[1\] = 0 is outside \[1, 3\]/);
    expectThrows(() => addon.dirichlet(Int32Array.from([1, 4]), new Float32Array(6), 2, 3, 1, key), RangeError, /counts\[1\] = 4/);
    expectThrows(() => addon.dirichlet(Int32Array.from([1, 1]), new Float32Array(6), 2, 3, 0, key), RangeError, /alpha must be positive/);
    expectThrows(() => addon.dirichlet(Int32Array.from([1, 1]), new Float32Array(6), 2, 3, 1, null as never), TypeError, /key/);
    expectThrows(() => addon.dirichlet(Int32Array.from([1, 1]), new Float32Array(5), 2, 3, 1, key), RangeError, /out must be a Float32Array of length 6/);
    const ids = Int32Array.from([0, -1, 3, -2]);
    expectThrows(() => addon.neighbourMix(randn(6, 1), ids, randn(4, 2), new Float32Array(4), 2, 2, 3, 2),
      RangeError, /neighbourMix: ids\[2\] = 3 is outside \[0, 3\) and is not -1/);
    expectThrows(() => addon.neighbourMixBackward(randn(4, 1), Int32Array.from([0, -1, 2, -2]), randn(4, 2), new Float32Array(6), 2, 2, 3, 2),
      RangeError, /ids\[3\] = -2/);
    expectThrows(() => addon.neighbourMix(randn(6, 1), new Int32Array(4), randn(3, 2), new Float32Array(4), 2, 2, 3, 2),
      RangeError, /w must be a Float32Array of length 4/);
  });
});

// ---- 6. vector code paths ----------------------------------------------------------------------

/** Runs `script` (which prints one JSON object) in a child process at a SIMD level (undefined: the default). */
function atSimdLevel(script: string, simd: string | undefined): Record<string, number[]> & { simd: string } {
  const env = { ...process.env };
  if (simd) env.SEQFAIR_SIMD = simd;
  else delete env.SEQFAIR_SIMD;
  const r = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, number[]> & { simd: string };
}

describe('6. SIMD levels', () => {
  it('6.1 the scalar fallback (SEQFAIR_SIMD=scalar) agrees with the default vector code', () => {
    const addonPath = fileURLToPath(new URL('../../build/Release/seqfair_cpu.node', import.meta.url));
    // the same kernels on the same formula-generated inputs, in a child process per SIMD level
    const script = `
      const a = require(${JSON.stringify(addonPath)});
      const gen = (n, s) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + s) * 1.5);
      const B = 2, H = 2, L = 45, dh = 7, n = B * H * L * dh;
      const q = gen(n, 1), k = gen(n, 2), v = gen(n, 3), dOut = gen(n, 4);
      const mask = Int32Array.from({ length: B * L }, (_, i) => (i % L) >= 3 * (i / L | 0) ? 1 : 0);
      const out = new Float32Array(n), lse = new Float32Array(B * H * L);
      const dq = new Float32Array(n), dk = new Float32Array(n), dv = new Float32Array(n);
      const key = { seed: 7, stream: 3, offset: 5 };
      a.attentionForward(q, k, v, mask, out, lse, B, H, L, dh, true, 0.4, 0.25, key, false);
      a.attentionBackward(q, k, v, mask, out, lse, dOut, dq, dk, dv, B, H, L, dh, true, 0.4, 0.25, key, false);
      const gB = 3, gL = 4, gI = 5, gH = 19;
      const x = gen(gB * gL * gI, 5), h0 = gen(gB * gH, 6), wih = gen(3 * gH * gI, 7), whh = gen(3 * gH * gH, 8);
      const bih = gen(3 * gH, 9), bhh = gen(3 * gH, 10);
      const go = new Float32Array(gB * gL * gH), gc = new Float32Array(gB * gL * 4 * gH);
      a.gruForward(x, h0, wih, whh, bih, bhh, go, gc, gB, gL, gI, gH);
      const N = 9, C = 1000, logits = gen(N * C, 11).map((z) => z * 20), tg = Int32Array.from({ length: N }, (_, i) => i * 97);
      const loss = new Float32Array(N), cl = new Float32Array(N);
      a.crossEntropyForward(logits, tg, null, loss, cl, N, C, -1);
      const cx = gen(300 * 6, 12), ind = new Int32Array(300 * 4), sim = new Float32Array(300 * 4);
      a.cosineTopk(cx, null, ind, sim, 300, 6, 4);
      const dirOut = new Float32Array(777 * 13), dirCounts = Int32Array.from({ length: 777 }, (_, i) => 1 + (i * 7) % 13);
      a.dirichlet(dirCounts, dirOut, 777, 13, 0.3, key);
      process.stdout.write(JSON.stringify({ simd: a.info().simd, out: [...out], dv: [...dv], dq: [...dq], go: [...go], loss: [...loss], ind: [...ind], dir: [...dirOut] }));
    `;
    const vec = atSimdLevel(script, undefined), sc = atSimdLevel(script, 'scalar');
    expect(sc.simd).toBe('scalar');
    for (let e = 0; e < vec.out.length; e++) {
      // a different dropout mask would move outputs by O(1), far beyond this tolerance
      expect(Math.abs(vec.out[e]! - sc.out[e]!)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(sc.out[e]!)));
    }
    expectNear(vec.dv, sc.dv, 'dv scalar vs vector');
    expectNear(vec.dq, sc.dq, 'dq scalar vs vector');
    expectNear(vec.go, sc.go, 'gru out scalar vs vector');
    expectNear(vec.loss, sc.loss, 'ce loss scalar vs vector');
    expect(vec.ind).toEqual(sc.ind);
    expect(vec.dir).toEqual(sc.dir);  // the sampler is bit-identical at every SIMD level
  });
});

describe('7. NARM attention', () => {
  /** left-padded rows: row b has its first (b·3) mod L positions padded */
  function narmInputs(B: number, T: number, L: number, H: number, seed: number) {
    const mask = Int32Array.from({ length: B * L }, (_, i) => ((i % L) >= ((Math.floor(i / L) * 3) % L) ? 1 : 0));
    return {
      d: { B, T, L, H }, mask,
      q: randn(B * T * H, seed, 1.5), k: randn(B * L * H, seed + 1, 1.5), w: randn(H, seed + 2), up: randn(B * T * L, seed + 3),
    };
  }
  const SHAPES = [[1, 1, 1, 1], [3, 7, 7, 19], [2, 1, 9, 33], [4, 3, 8, 16], [5, 50, 50, 128], [9, 1, 50, 128]] as const;

  it('7.1 forward and backward vs reference: every prefix, the last position, T < L, vector tails', () => {
    let seed = 100;
    for (const [B, T, L, H] of SHAPES) {
      const x = narmInputs(B, T, L, H, (seed += 10));
      const label = `narm ${B},${T},${L},${H}`;
      expectNear(cpu.narmAttentionForward(x.q, x.k, x.w, x.mask, x.d), ref.narmAttentionForward(x.q, x.k, x.w, x.mask, x.d), label);
      const got = cpu.narmAttentionBackward(x.q, x.k, x.w, x.mask, x.up, x.d);
      const want = ref.narmAttentionBackward(x.q, x.k, x.w, x.mask, x.up, x.d);
      expectGrad(got.dq, want.dq, `${label} dq`);
      expectGrad(got.dk, want.dk, `${label} dk`);
      expectGrad(got.dw, want.dw, `${label} dw`);
    }
  });

  it('7.2 saturated sigmoids stay finite and exact at the limits; NaN propagates', () => {
    const d = { B: 1, T: 1, L: 2, H: 17 };
    const q = new Float32Array(17).fill(60), k = Float32Array.from({ length: 34 }, (_, i) => (i < 17 ? -200 : 200));
    const w = new Float32Array(17).fill(1), mask = Int32Array.from([1, 1]);
    expect(Array.from(cpu.narmAttentionForward(q, k, w, mask, d))).toEqual(Array.from(ref.narmAttentionForward(q, k, w, mask, d)));
    const g = cpu.narmAttentionBackward(q, k, w, mask, Float32Array.from([1, 1]), d);
    for (const v of [...g.dq, ...g.dk, ...g.dw]) expect(Number.isFinite(v)).toBe(true);
    q[3] = NaN;
    expect(Number.isNaN(cpu.narmAttentionForward(q, k, w, mask, d)[0])).toBe(true);
  });

  it('7.3 identical results for 1 and 2 threads', () => {
    const x = narmInputs(37, 20, 20, 40, 7);
    const [a, b] = withThreads(() => {
      const g = cpu.narmAttentionBackward(x.q, x.k, x.w, x.mask, x.up, x.d);
      return { alpha: cpu.narmAttentionForward(x.q, x.k, x.w, x.mask, x.d), dq: g.dq, dk: g.dk, dw: g.dw };
    });
    expectAllBitEqual(a, b, 'narm attention');
  });

  it('7.4 the scalar and AVX2 paths agree with the default vector code', () => {
    const addonPath = fileURLToPath(new URL('../../build/Release/seqfair_cpu.node', import.meta.url));
    const script = `
      const a = require(${JSON.stringify(addonPath)});
      const gen = (n, s) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + s) * 2);
      const B = 3, T = 11, L = 11, H = 37;
      const q = gen(B * T * H, 1), k = gen(B * L * H, 2), w = gen(H, 3), up = gen(B * T * L, 4);
      const mask = Int32Array.from({ length: B * L }, (_, i) => (i % L) >= 2 * (i / L | 0) ? 1 : 0);
      const alpha = new Float32Array(B * T * L), dq = new Float32Array(q.length), dk = new Float32Array(k.length), dw = new Float32Array(H);
      a.narmAttentionForward(q, k, w, mask, alpha, B, T, L, H);
      a.narmAttentionBackward(q, k, w, mask, up, dq, dk, dw, B, T, L, H);
      process.stdout.write(JSON.stringify({ simd: a.info().simd, alpha: [...alpha], dq: [...dq], dk: [...dk], dw: [...dw] }));
    `;
    const vec = atSimdLevel(script, undefined);
    for (const level of ['scalar', 'avx2']) {
      const other = atSimdLevel(script, level);
      expect(other.simd).toBe(level);
      for (const key of ['alpha', 'dq', 'dk', 'dw']) expectNear(other[key]!, vec[key]!, `${key} ${level} vs ${vec.simd}`);
    }
  });

  it('7.5 bad inputs throw and leave the process alive', () => {
    const z = (n: number) => new Float32Array(n);
    const ones = (n: number) => new Int32Array(n).fill(1);
    expectThrows(() => addon.narmAttentionForward(z(3), z(6), z(2), ones(3), z(6), 1, 2, 3, 2), RangeError,
      /narmAttentionForward: q must be a Float32Array of length 4, got length 3/);
    expectThrows(() => addon.narmAttentionForward(z(4), z(5), z(2), ones(3), z(6), 1, 2, 3, 2), RangeError,
      /narmAttentionForward: k must be a Float32Array of length 6, got length 5/);
    expectThrows(() => addon.narmAttentionForward(z(4), z(6), z(2), Int32Array.from([1, 3, 1]), z(6), 1, 2, 3, 2), RangeError,
      /narmAttentionForward: mask\[1\] = 3 must be 0 or 1/);
    expectThrows(() => addon.narmAttentionForward(z(8), z(6), z(2), ones(3), z(12), 1, 4, 3, 2), RangeError,
      /T = 4 query rows exceed L = 3/);
    const buf = z(8);
    expectThrows(() => addon.narmAttentionForward(buf.subarray(0, 4), z(6), z(2), ones(3), buf.subarray(2, 8), 1, 2, 3, 2), RangeError,
      /alpha must not overlap/);
    expectThrows(() => addon.narmAttentionBackward(z(4), z(6), z(2), ones(3), z(5), z(4), z(6), z(2), 1, 2, 3, 2), RangeError,
      /narmAttentionBackward: dAlpha must be a Float32Array of length 6/);
    expectThrows(() => addon.narmAttentionBackward(z(4), z(6), z(2), ones(3), z(6), z(4), z(6), z(2), 1, 2, 3), TypeError,
      /expected 12 arguments/);
  });
});
