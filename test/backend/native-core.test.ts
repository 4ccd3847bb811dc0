/**
 * Native core kernels (native/bind_core.cc + native/cpu/{gemm,rowwise,random,embedding,adam}.cc)
 * against the reference backend, on odd sizes, plus thread-count determinism, the golden fixtures
 * of these ops, and bad-input handling of the addon entry points.
 *   1  gemm (every flag combination, odd sizes, blocking tails, degenerate dims, threads)
 *   1b gemm in child processes on every SIMD level and tile geometry (SEQFAIR_SIMD,
 *      SEQFAIR_GEMM_SCALAR_TILE=14x32 runs the AVX-512 blocking on any machine, small blocks)
 *   2  random streams and dropout (bit-exact)     3  gather / scatterAdd / gradNorm
 *   4  LayerNorm, GELU, softmax, broadcast binary ops   4b the same on every SIMD level (child processes)
 *   5  Adam / AdamW    6  golden fixtures of these ops    7  bad inputs
 *
 * Tolerances:
 *   - GEMM: f32 products summed in f32 (blocked) vs the reference's f64 sums. The error of a sum
 *     of k products is bounded by ~k·2^-24·Σ|a||b|; we allow 2e-5·Σ|a_ip b_pj| + 1e-6 elementwise
 *     (a few times the typical √k growth at k = 257, far below a wrong-index error).
 *   - row-wise kernels: LayerNorm and Adam accumulate in f64 like the reference (rtol 1e-5,
 *     atol 1e-6; LayerNorm parameter grads summed over rows: 1e-5 / 1e-5); softmax and GELU use
 *     float vector exp / erfc (softmax rtol 1e-5; GELU rtol 2e-6, atol 3e-7, inside the golden
 *     rtol 1e-5, atol 3e-6).
 *   - random streams, gather, argmax, dropout masks, binary ops (+ − × ÷: one rounding each): exact.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CpuAddon } from '../../src/backend/cpu.js';
import { cpuBackend } from '../../src/backend/cpu.js';
import { referenceBackend as ref } from '../../src/backend/reference.js';
import { ADD, type BinaryOp, DIV, type GemmOptions, MUL, type RngKey, SUB } from '../../src/backend/backend.js';
import { broadcastShapes, collapse } from '../../src/engine/shape.js';

const addon = createRequire(import.meta.url)('../../build/Release/seqfair_cpu.node') as CpuAddon;
const cpu = cpuBackend;
const defaultThreads = addon.info().threads;

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

function randn(n: number, seed: number, scale = 1, offset = 0): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = offset + scale * (r() * 2 - 1);
  return out;
}

function randInt(n: number, lo: number, hi: number, seed: number): Int32Array {
  const r = rng(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + Math.floor(r() * (hi - lo));
  return out;
}

/** |a - e| <= atol + rtol |e| (or + rtol·scale[i] when a per-element scale is given) */
function expectClose(
  actual: Float32Array, expected: Float32Array, rtol: number, atol: number, what: string, scale?: Float32Array,
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const s = scale ? scale[i]! : Math.abs(expected[i]!);
    const d = Math.abs(actual[i]! - expected[i]!);
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

afterAll(() => {
  addon.setThreads(defaultThreads);
});

// ---- 1. GEMM ---------------------------------------------------------------------------------

interface GemmCase { batch: number; m: number; n: number; k: number }

function gemmCheck(c: GemmCase, flags: Omit<GemmOptions, 'batch' | 'm' | 'n' | 'k'>, accumulate: boolean, seed: number) {
  const o: GemmOptions = { ...c, ...flags };
  const a = randn((o.batchedA ? o.batch : 1) * o.m * o.k, seed);
  const b = randn((o.batchedB ? o.batch : 1) * o.k * o.n, seed + 1);
  const c0 = accumulate ? randn(o.batch * o.m * o.n, seed + 2) : undefined;
  const got = cpu.gemm(a, b, o, c0 ? Float32Array.from(c0) : undefined);
  const want = ref.gemm(a, b, o, c0 ? Float32Array.from(c0) : undefined);
  // error scale Σ|a||b| (+|c0|)
  const absScale = ref.gemm(a.map(Math.abs), b.map(Math.abs), o, c0 ? c0.map(Math.abs) : undefined);
  const label = `gemm ${JSON.stringify(o)} acc=${accumulate}`;
  expectClose(got, want, 2e-5, 1e-6, label, absScale);
}

const allFlags = (() => {
  const out: Omit<GemmOptions, 'batch' | 'm' | 'n' | 'k'>[] = [];
  for (const transA of [false, true])
    for (const transB of [false, true])
      for (const batchedA of [false, true])
        for (const batchedB of [false, true]) out.push({ transA, transB, batchedA, batchedB });
  return out;
})();

describe('1. gemm', () => {
  it('1.1 every transpose / broadcast / accumulate combination on a small odd shape', () => {
    let seed = 100;
    for (const flags of allFlags) {
      for (const acc of [false, true]) {
        gemmCheck({ batch: 3, m: 7, n: 33, k: 17 }, flags, acc, seed++);
        gemmCheck({ batch: 2, m: 33, n: 7, k: 9 }, flags, acc, seed++);
      }
    }
  });

  it('1.2 odd sizes 1, 7, 33, 257 (tails of every tile and block)', () => {
    const sizes = [1, 7, 33, 257];
    let seed = 1000;
    for (const m of sizes)
      for (const n of sizes)
        for (const k of [1, 7, 33, 257]) {
          if (m * n * k > 257 * 257 * 33) continue; // keep the f64 reference quick
          gemmCheck({ batch: 1, m, n, k }, allFlags[seed % 16]!, seed % 3 === 0, seed);
          seed++;
        }
  });

  it('1.3 shapes that cross the blocking (m, n > one cache block, k > one k-panel)', () => {
    const shapes: GemmCase[] = [
      { batch: 1, m: 257, n: 257, k: 257 },
      { batch: 1, m: 130, n: 513, k: 300 },
      { batch: 1, m: 300, n: 97, k: 600 },
      { batch: 2, m: 65, n: 129, k: 1031 },
      { batch: 5, m: 15, n: 31, k: 8 },
      // weight-gradient shapes: A stored (k,m) and B stored (k,n) with m, n <= 256 are read in
      // place (full strips and panels) across several k-panels, their edges packed
      { batch: 1, m: 192, n: 64, k: 1300 },
      { batch: 1, m: 29, n: 45, k: 700 },
    ];
    let seed = 5000;
    for (const s of shapes) {
      for (const flags of [allFlags[0]!, allFlags[15]!, allFlags[6]!, allFlags[9]!]) {
        gemmCheck(s, flags, seed % 2 === 1, seed);
        seed++;
      }
    }
  });

  it('1.4 degenerate dimensions: k = 0 gives zeros (or leaves C), m/n/batch = 0 do nothing', () => {
    const o: GemmOptions = { batch: 2, m: 3, n: 4, k: 0, transA: false, transB: false, batchedA: true, batchedB: true };
    const c = new Float32Array(24).fill(7);
    addon.gemm(new Float32Array(0), new Float32Array(0), c, 2, 3, 4, 0, false, false, true, true, false);
    expect([...c]).toEqual(new Array(24).fill(0));
    const acc = new Float32Array(24).fill(7);
    expect([...cpu.gemm(new Float32Array(0), new Float32Array(0), o, acc)]).toEqual(new Array(24).fill(7));
    expect(cpu.gemm(new Float32Array(0), new Float32Array(5), { ...o, m: 0, k: 5, n: 1, batchedB: false }).length).toBe(0);
    expect(cpu.gemm(new Float32Array(6), new Float32Array(0), { ...o, batch: 0, m: 2, k: 3, batchedA: false })).toHaveLength(0);
  });

  it('1.5 result does not depend on the thread count', () => {
    for (const s of [{ batch: 1, m: 300, n: 300, k: 300 }, { batch: 7, m: 33, n: 65, k: 40 }]) {
      const o: GemmOptions = { ...s, transA: true, transB: false, batchedA: true, batchedB: false };
      const a = randn(s.batch * s.m * s.k, 1), b = randn(s.k * s.n, 2);
      const [one, two] = withThreads(() => cpu.gemm(a, b, o));
      expectBitEqual(one, two, 'gemm 1 vs 2 threads');
    }
  });

  it('1.6 accumulate adds to C in place', () => {
    const o: GemmOptions = { batch: 1, m: 5, n: 6, k: 4, transA: false, transB: true, batchedA: false, batchedB: false };
    const a = randn(20, 3), b = randn(24, 4);
    const plain = cpu.gemm(a, b, o);
    const c = new Float32Array(30).fill(1);
    const ret = cpu.gemm(a, b, o, c);
    expect(ret).toBe(c);
    expectClose(c, plain.map((x) => x + 1), 1e-6, 1e-6, 'accumulate');
  });
});

/**
 * Runs gemm in a child process with the given environment (SIMD level / tile geometry are chosen
 * once per process) on a set of shapes and returns the worst error relative to the bound.
 */
const addonPath = fileURLToPath(new URL('../../build/Release/seqfair_cpu.node', import.meta.url));
const childScript = `
const addon = require(process.argv[1]);
let seed = 7;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 * 2 - 1; };
const shapes = [[1,1,1,1],[2,7,33,17],[1,33,7,257],[1,257,65,33],[3,15,31,9],[1,29,100,600],[2,6,16,256],[1,14,32,513],[1,130,97,300],[4,1,50,128],[3,2,65,300],[1,1,70,600]];
let worst = 0, info = addon.info();
for (const [batch, m, n, k] of shapes) for (let f = 0; f < 32; f++) {
  if (batch * m * n * k > 20000 && ![0, 3, 5, 10, 15, 22, 25, 31].includes(f)) continue;
  const tA = !!(f & 1), tB = !!(f & 2), bA = !!(f & 4), bB = !!(f & 8), acc = !!(f & 16);
  const a = Float32Array.from({ length: (bA ? batch : 1) * m * k }, rnd);
  const b = Float32Array.from({ length: (bB ? batch : 1) * k * n }, rnd);
  const c0 = Float32Array.from({ length: batch * m * n }, rnd);
  const c = Float32Array.from(c0);
  addon.gemm(a, b, c, batch, m, n, k, tA, tB, bA, bB, acc);
  for (let q = 0; q < batch; q++) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = acc ? c0[(q * m + i) * n + j] : 0, sa = Math.abs(s);
    for (let p = 0; p < k; p++) {
      const x = tA ? a[(bA ? q * m * k : 0) + p * m + i] : a[(bA ? q * m * k : 0) + i * k + p];
      const y = tB ? b[(bB ? q * k * n : 0) + j * k + p] : b[(bB ? q * k * n : 0) + p * n + j];
      s += x * y; sa += Math.abs(x * y);
    }
    const err = Math.abs(c[(q * m + i) * n + j] - s) / (2e-5 * sa + 1e-6);
    if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
  }
}
console.log(JSON.stringify({ worst, simd: info.simd }));
`;
function gemmInChild(env: Record<string, string>): { worst: number; simd: string } {
  const out = execFileSync(process.execPath, ['-e', childScript, addonPath], {
    env: { ...process.env, ...env }, encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop()!) as { worst: number; simd: string };
}

describe('1b. gemm on every SIMD level and tile geometry (child processes)', () => {
  const configs: [string, Record<string, string>][] = [
    ['native level, 2 threads', { SEQFAIR_THREADS: '2' }],
    ['avx2 (or lower)', { SEQFAIR_SIMD: 'avx2', SEQFAIR_THREADS: '2' }],
    ['scalar 4x8', { SEQFAIR_SIMD: 'scalar', SEQFAIR_THREADS: '2' }],
    ['scalar with the AVX2 geometry 6x16', { SEQFAIR_SIMD: 'scalar', SEQFAIR_GEMM_SCALAR_TILE: '6x16', SEQFAIR_THREADS: '2' }],
    ['scalar with the AVX-512 geometry 14x32', { SEQFAIR_SIMD: 'scalar', SEQFAIR_GEMM_SCALAR_TILE: '14x32', SEQFAIR_THREADS: '2' }],
    ['small blocks (many k-panels and row blocks)', { SEQFAIR_GEMM_BLOCKS: "7,40,25", SEQFAIR_THREADS: '2' }],
  ];
  for (const [name, env] of configs) {
    it(name, () => {
      const r = gemmInChild(env);
      expect(r.worst, `${name} (${r.simd}): worst error / bound`).toBeLessThanOrEqual(1);
    });
  }

  // Two shortcuts must give the very bits of the general path: products of 1 or 2 rows run a
  // one-row micro-kernel (SEQFAIR_GEMM_THIN = the most rows that do; 0 turns it off), and operands
  // laid out k-major are read in place instead of packed (SEQFAIR_GEMM_DIRECT=0 packs them all).
  // Each sums every element in the same order, so a hash of the outputs over every flag
  // combination, broadcast and k-panel count must not change when the shortcut is turned off.
  const hashScript = `
const addon = require(process.argv[1]);
const shapes = JSON.parse(process.argv[2]);
const { createHash } = require('node:crypto');
let seed = 11;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 * 2 - 1; };
const h = createHash('sha256');
for (const [batch, m, n, k] of shapes) for (let f = 0; f < 32; f++) {
  const tA = !!(f & 1), tB = !!(f & 2), bA = !!(f & 4), bB = !!(f & 8), acc = !!(f & 16);
  const a = Float32Array.from({ length: (bA ? batch : 1) * m * k }, rnd);
  const b = Float32Array.from({ length: (bB ? batch : 1) * k * n }, rnd);
  const c = Float32Array.from({ length: batch * m * n }, rnd);
  addon.gemm(a, b, c, batch, m, n, k, tA, tB, bA, bB, acc);
  h.update(Buffer.from(c.buffer));
}
console.log(h.digest('hex'));
`;
  const outputHash = (shapes: number[][], env: Record<string, string>): string =>
    execFileSync(process.execPath, ['-e', hashScript, addonPath, JSON.stringify(shapes)], {
      env: { ...process.env, SEQFAIR_THREADS: '2', ...env }, encoding: 'utf8',
    }).trim();
  const thinShapes = [[1, 1, 1, 1], [1, 1, 31, 7], [3, 1, 50, 128], [2, 2, 65, 300], [1, 2, 200, 600], [5, 1, 33, 257]];
  // A (k,m) / B (k,n) with m, n <= 256 across k-panels, single strips, and edges of both
  const directShapes = [[1, 192, 64, 700], [1, 29, 45, 300], [2, 7, 33, 17], [1, 300, 257, 260], [3, 14, 64, 520]];
  for (const [name, env] of configs.filter(([n]) => n !== 'scalar 4x8' && !n.startsWith('small blocks'))) { // 4x8 has no one-row plan
    it(`one-row kernel = MR-row kernel bit for bit: ${name}`, () => {
      expect(outputHash(thinShapes, env)).toBe(outputHash(thinShapes, { ...env, SEQFAIR_GEMM_THIN: '0' }));
    });
  }
  for (const [name, env] of configs) {
    it(`in-place operands = packed operands bit for bit: ${name}`, () => {
      expect(outputHash(directShapes, env)).toBe(outputHash(directShapes, { ...env, SEQFAIR_GEMM_DIRECT: '0' }));
    });
  }
});

// ---- 2. random streams -------------------------------------------------------------------------

describe('2. random', () => {
  const keys: RngKey[] = [
    { seed: 0, stream: 0, offset: 0 },
    { seed: 42, stream: 3, offset: 5 },
    { seed: 2 ** 40 + 12345, stream: 2 ** 32 - 1, offset: 2 ** 33 + 3 },
  ];
  it('2.1 uniform and normal are bit-identical to the reference (any offset, any thread count)', () => {
    for (const key of keys) {
      for (const n of [1, 3, 7, 33, 257, 20001]) {
        expectBitEqual(cpu.uniform(n, key), ref.uniform(n, key), `uniform n=${n}`);
        expectBitEqual(cpu.normal(n, key), ref.normal(n, key), `normal n=${n}`);
      }
      const [u1, u2] = withThreads(() => cpu.uniform(50001, key));
      expectBitEqual(u1, u2, 'uniform threads');
      const [n1, n2] = withThreads(() => cpu.normal(50001, key));
      expectBitEqual(n1, n2, 'normal threads');
    }
  });

  it('2.2 a stream split at any offset equals the stream drawn at once', () => {
    const key = { seed: 9, stream: 1, offset: 6 };
    const whole = cpu.uniform(40, key);
    const tail = cpu.uniform(29, { ...key, offset: key.offset + 11 });
    expectBitEqual(whole.subarray(11), tail, 'uniform split');
  });

  it('2.3 dropout forward/backward: same mask and values as the reference', () => {
    for (const [n, p] of [[1, 0.5], [33, 0], [257, 0.1], [30011, 0.9]] as const) {
      const key = { seed: 7, stream: 2, offset: 13 };
      const x = randn(n, n);
      expectBitEqual(cpu.dropoutForward(x, p, key), ref.dropoutForward(x, p, key), `dropout fwd n=${n} p=${p}`);
      expectBitEqual(cpu.dropoutBackward(x, p, key), ref.dropoutBackward(x, p, key), `dropout bwd n=${n} p=${p}`);
      const [a, b] = withThreads(() => cpu.dropoutForward(x, p, key));
      expectBitEqual(a, b, 'dropout threads');
    }
  });
});

// ---- 3. embeddings -------------------------------------------------------------------------------

describe('3. embeddings', () => {
  it('3.1 gather is exact, scatterAdd matches the f64 reference', () => {
    for (const [n, V, D] of [[1, 1, 1], [7, 3, 33], [257, 33, 7], [5000, 257, 16], [33, 1000, 1]] as const) {
      const table = randn(V * D, V + D);
      const ids = randInt(n, 0, V, n + 1);
      expectBitEqual(cpu.gather(table, ids, V, D), ref.gather(table, ids, V, D), 'gather');
      const dOut = randn(n * D, n);
      expectClose(cpu.scatterAdd(dOut, ids, V, D), ref.scatterAdd(dOut, ids, V, D), 1e-5, 1e-6, 'scatterAdd');
      const [a, b] = withThreads(() => cpu.scatterAdd(dOut, ids, V, D));
      expectBitEqual(a, b, 'scatterAdd threads');
    }
  });

  it('3.2 scatterAdd overwrites every row (rows never looked up are 0) and handles n = 0', () => {
    const ids = Int32Array.of(2, 2, 0);
    const dOut = Float32Array.of(1, 2, 3, 4, 5, 6);
    const g = new Float32Array(8).fill(9);
    addon.scatterAdd(dOut, ids, g, 4, 2);
    expect([...g]).toEqual([5, 6, 0, 0, 4, 6, 0, 0]);
    expect([...cpu.scatterAdd(new Float32Array(0), new Int32Array(0), 3, 2)]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('3.3 gradNorm: norms, first-max ties, masked rows', () => {
    for (const [B, L, D] of [[1, 1, 1], [2, 7, 33], [33, 7, 1], [9, 257, 8]] as const) {
      const g = randn(B * L * D, B * L * D);
      const mask = randInt(B * L, 0, 2, B + L);
      for (let l = 0; l < L; l++) mask[l] = 0; // a fully masked first row
      if (B > 1 && L > 2) {
        // an exact tie in row 1: copy position 1 to position 2 (first max must win)
        for (let d = 0; d < D; d++) g[(L + 2) * D + d] = g[(L + 1) * D + d] = 100 + d / 8;
        mask[L + 1] = mask[L + 2] = 1;
      }
      const got = cpu.gradNorm(g, mask, B, L, D);
      const want = ref.gradNorm(g, mask, B, L, D);
      expectClose(got.norms, want.norms, 1e-6, 0, 'norms');
      expectClose(got.rowmax, want.rowmax, 1e-6, 0, 'rowmax');
      expectBitEqual(got.argmax, want.argmax, 'argmax');
      expect(got.argmax[0]).toBe(0);
      expect(got.rowmax[0]).toBe(0);
      if (B > 1 && L > 2) expect(got.argmax[1]).toBe(1);
    }
  });
});

// ---- 4. row-wise kernels -----------------------------------------------------------------------------

describe('4. row-wise', () => {
  const shapes = [[1, 1], [7, 33], [33, 257], [257, 7], [3, 1024]] as const;

  it('4.1 layerNorm forward and backward', () => {
    for (const [rows, D] of shapes) {
      for (const offset of [0, 1000]) {
        const x = randn(rows * D, rows * D + offset, 1, offset);
        const gamma = randn(D, D, 0.2, 1), beta = randn(D, D + 1, 0.1);
        const got = cpu.layerNormForward(x, gamma, beta, rows, D, 1e-5);
        const want = ref.layerNormForward(x, gamma, beta, rows, D, 1e-5);
        // float lanes, two passes; offset 1000: x itself carries only ~6e-5 absolute precision
        const tol = offset ? 1e-3 : 1e-5;
        expectClose(got.y, want.y, tol, tol, `ln y ${rows}x${D}+${offset}`);
        expectClose(got.mean, want.mean, 1e-6, offset ? 1e-4 : 1e-6, 'ln mean');
        expectClose(got.rstd, want.rstd, offset ? 1e-3 : 1e-5, 0, 'ln rstd');
        const dy = randn(rows * D, 77);
        const gb = cpu.layerNormBackward(x, gamma, want.mean, want.rstd, dy, rows, D);
        const wb = ref.layerNormBackward(x, gamma, want.mean, want.rstd, dy, rows, D);
        expectClose(gb.dx, wb.dx, tol * 10, tol, 'ln dx');
        expectClose(gb.dGamma, wb.dGamma, 1e-5, 1e-5, 'ln dGamma');
        expectClose(gb.dBeta, wb.dBeta, 1e-5, 1e-5, 'ln dBeta');
      }
    }
  });

  it('4.2 layerNorm backward parameter grads do not depend on the thread count', () => {
    const rows = 3001, D = 33;
    const x = randn(rows * D, 5), gamma = randn(D, 6), beta = randn(D, 7);
    const f = ref.layerNormForward(x, gamma, beta, rows, D, 1e-5);
    const dy = randn(rows * D, 8);
    const [a, b] = withThreads(() => cpu.layerNormBackward(x, gamma, f.mean, f.rstd, dy, rows, D));
    expectBitEqual(a.dGamma, b.dGamma, 'dGamma threads');
    expectBitEqual(a.dBeta, b.dBeta, 'dBeta threads');
    expectBitEqual(a.dx, b.dx, 'dx threads');
  });

  it('4.3 gelu forward and backward, special values included', () => {
    const special = Float32Array.of(0, -0, 1e-3, -1e-3, 0.5, -0.5, 1, -1, 3, -3, 5, -5, 8, -8, 10, -10, 20, -20, 40, -40);
    const x = new Float32Array(special.length + 257);
    x.set(special);
    x.set(randn(257, 11, 6), special.length);
    const dy = randn(x.length, 12);
    // vector erfc/exp in float (measured on a dense grid over [-20, 20]: ≤ 5e-7 absolute)
    expectClose(cpu.geluForward(x), ref.geluForward(x), 2e-6, 3e-7, 'gelu');
    expectClose(cpu.geluBackward(x, dy), ref.geluBackward(x, dy), 2e-6, 3e-7, 'gelu grad');
  });

  it('4.4 softmax forward and backward (large logits included)', () => {
    for (const [rows, C] of [[1, 1], [7, 33], [33, 257], [257, 7]] as const) {
      const x = randn(rows * C, rows + C, 30);
      x[0] = 120;
      const y = cpu.softmaxForward(x, rows, C);
      expectClose(y, ref.softmaxForward(x, rows, C), 1e-5, 1e-7, 'softmax');
      const dy = randn(rows * C, 3);
      expectClose(cpu.softmaxBackward(y, dy, rows, C), ref.softmaxBackward(y, dy, rows, C), 1e-5, 1e-6, 'softmax grad');
    }
  });

  it('4.5 elementwise and row kernels are identical for 1 and 2 threads', () => {
    const x = randn(40000, 1, 4), dy = randn(40000, 2);
    const [g1, g2] = withThreads(() => [cpu.geluForward(x), cpu.geluBackward(x, dy), cpu.softmaxForward(x, 400, 100)]);
    g1.forEach((a, i) => expectBitEqual(a, g2[i]!, `row kernel ${i}`));
  });

  it('4.6 broadcast binary ops: the same bits as the reference for every op and broadcast pattern', () => {
    // specials: signed zeros, infinities, NaN, a subnormal, values that round differently
    const special = Float32Array.of(0, -0, Infinity, -Infinity, NaN, 1e-40, -3.5, 1 / 3, 16777217, 3e38);
    const pairs: [number[], number[]][] = [
      [[1000], [1000]], [[7, 33], []], [[], [7, 33]], [[7, 33], [33]], [[33], [7, 33]], [[64, 50, 64], [64, 50, 1]],
      [[64, 1, 16], [1, 50, 16]], [[5, 1, 3, 1], [1, 4, 1, 6]], [[1], [1]], [[3, 1], [1, 1]], [[40000], [40000]],
    ];
    for (const [sa, sb] of pairs) {
      const out = broadcastShapes(sa, sb, 'test');
      const na = sa.reduce((x, y) => x * y, 1), nb = sb.reduce((x, y) => x * y, 1);
      const a = randn(na, na + 1, 10), b = randn(nb, nb + 2, 10);
      a.set(special.subarray(0, Math.min(na, special.length)));
      b.set(special.subarray(0, Math.min(nb, special.length)).reverse());
      const { dims, strides: [stA, stB] } = collapse(out, [sa, sb]);
      for (const op of [ADD, SUB, MUL, DIV] as BinaryOp[]) {
        const want = ref.binary(op, a, b, dims, stA!, stB!);
        const [one, two] = withThreads(() => cpu.binary(op, a, b, dims, stA!, stB!));
        expectBitEqual(one, want, `binary op ${op} (${sa}) (${sb}) 1 thread`);
        expectBitEqual(two, want, `binary op ${op} (${sa}) (${sb}) 2 threads`);
      }
    }
  });
});

describe('4b. row-wise and random kernels on every SIMD level (child processes)', () => {
  // The child computes on inputs it builds from the same seeded generator; the parent checks the
  // results against the reference backend.
  const script = `
const addon = require(process.argv[1]);
let seed = 11;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 * 8 - 4; };
const rows = 37, D = 33, n = rows * D;
const x = Float32Array.from({ length: n }, rnd), dy = Float32Array.from({ length: n }, rnd);
const gamma = Float32Array.from({ length: D }, rnd), beta = Float32Array.from({ length: D }, rnd);
const out = {};
const put = (name, a) => { out[name] = Array.from(a); };
const y = new Float32Array(n), mean = new Float32Array(rows), rstd = new Float32Array(rows);
addon.layerNormForward(x, gamma, beta, y, mean, rstd, rows, D, 1e-5); put('lnY', y); put('lnMean', mean); put('lnRstd', rstd);
const dx = new Float32Array(n), dg = new Float32Array(D), db = new Float32Array(D);
addon.layerNormBackward(x, gamma, mean, rstd, dy, dx, dg, db, rows, D); put('lnDx', dx); put('lnDg', dg); put('lnDb', db);
const g = new Float32Array(n); addon.geluForward(x, g); put('gelu', g);
const gd = new Float32Array(n); addon.geluBackward(x, dy, gd); put('geluGrad', gd);
const sm = new Float32Array(n); addon.softmaxForward(x, sm, rows, D); put('softmax', sm);
const sd = new Float32Array(n); addon.softmaxBackward(sm, dy, sd, rows, D); put('softmaxGrad', sd);
const key = { seed: 5, stream: 9, offset: 3 };
const dr = new Float32Array(n); addon.dropoutForward(x, dr, 0.3, key); put('dropout', dr);
const u = new Float32Array(n); addon.uniform(u, key); put('uniform', u);
console.log(JSON.stringify({ simd: addon.info().simd, out }));
`;
  const rows = 37, D = 33, n = rows * D;
  let seed = 11;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return (seed / 2147483648) * 8 - 4; };
  const x = Float32Array.from({ length: n }, rnd), dy = Float32Array.from({ length: n }, rnd);
  const gamma = Float32Array.from({ length: D }, rnd), beta = Float32Array.from({ length: D }, rnd);
  const key = { seed: 5, stream: 9, offset: 3 };

  for (const level of ['scalar', 'avx2', 'avx512']) {
    it(`SEQFAIR_SIMD=${level} (or the best level below it)`, () => {
      const raw = execFileSync(process.execPath, ['-e', script, addonPath], {
        env: { ...process.env, SEQFAIR_SIMD: level, SEQFAIR_THREADS: '2' }, encoding: 'utf8',
      });
      const { out } = JSON.parse(raw.trim().split('\n').pop()!) as { simd: string; out: Record<string, number[]> };
      const f = (name: string) => Float32Array.from(out[name]!);
      const ln = ref.layerNormForward(x, gamma, beta, rows, D, 1e-5);
      expectClose(f('lnY'), ln.y, 1e-5, 1e-5, `${level} ln y`);
      expectClose(f('lnMean'), ln.mean, 1e-6, 1e-6, `${level} ln mean`);
      expectClose(f('lnRstd'), ln.rstd, 1e-5, 0, `${level} ln rstd`);
      const lb = ref.layerNormBackward(x, gamma, f('lnMean'), f('lnRstd'), dy, rows, D);
      expectClose(f('lnDx'), lb.dx, 1e-4, 1e-5, `${level} ln dx`);
      expectClose(f('lnDg'), lb.dGamma, 1e-5, 1e-5, `${level} ln dGamma`);
      expectClose(f('lnDb'), lb.dBeta, 1e-5, 1e-5, `${level} ln dBeta`);
      expectClose(f('gelu'), ref.geluForward(x), 2e-6, 3e-7, `${level} gelu`);
      expectClose(f('geluGrad'), ref.geluBackward(x, dy), 2e-6, 3e-7, `${level} gelu grad`);
      const sm = ref.softmaxForward(x, rows, D);
      expectClose(f('softmax'), sm, 1e-5, 1e-7, `${level} softmax`);
      expectClose(f('softmaxGrad'), ref.softmaxBackward(f('softmax'), dy, rows, D), 1e-5, 1e-6, `${level} softmax grad`);
      expectBitEqual(f('dropout'), ref.dropoutForward(x, 0.3, key), `${level} dropout`);
      expectBitEqual(f('uniform'), ref.uniform(n, key), `${level} uniform`);
    });
  }
});

// ---- 5. Adam -----------------------------------------------------------------------------------------

describe('5. adam', () => {
  it('5.1 Adam and AdamW over several steps match the reference', () => {
    for (const decoupled of [false, true]) {
      for (const P of [1, 7, 257, 20001]) {
        const p1 = randn(P, P), m1 = new Float32Array(P), v1 = new Float32Array(P);
        const p2 = Float32Array.from(p1), m2 = new Float32Array(P), v2 = new Float32Array(P);
        for (let step = 1; step <= 5; step++) {
          const g = randn(P, P * 10 + step, step === 3 ? 1e3 : 1);
          if (step === 2) g.fill(0, 0, Math.min(3, P));
          const o = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled, step };
          cpu.adamStep(p1, g, m1, v1, o);
          ref.adamStep(p2, g, m2, v2, o);
        }
        expectClose(p1, p2, 1e-6, 1e-7, `adam param decoupled=${decoupled}`);
        expectClose(m1, m2, 1e-5, 1e-9, 'adam m');
        expectClose(v1, v2, 1e-5, 1e-12, 'adam v');
      }
    }
  });
});

// ---- 6. golden fixtures of these ops -----------------------------------------------------------------

const goldenDir = new URL('../../../shared/golden/', import.meta.url);
interface Tensor { shape: number[]; dtype: 'f32' | 'i32'; data: number[] }
interface Golden {
  config: Record<string, unknown>;
  inputs: Record<string, Tensor>;
  upstream: Record<string, Tensor>;
  outputs: Record<string, Tensor>;
  grads: Record<string, Tensor>;
  tolerance: { rtol: number; atol: number };
}
const load = (name: string): Golden => JSON.parse(readFileSync(new URL(`${name}.json`, goldenDir), 'utf8')) as Golden;
const f32 = (t: Tensor) => Float32Array.from(t.data);
const i32 = (t: Tensor) => Int32Array.from(t.data);
const haveGolden = existsSync(new URL('gelu-0.json', goldenDir));

describe.skipIf(!haveGolden)('6. golden fixtures', () => {
  it('6.1 linear (gemm with transB), layer_norm, gelu', () => {
    for (let i = 0; i < 3; i++) {
      const g = load(`linear-${i}`);
      const { rtol, atol } = g.tolerance;
      const x = f32(g.inputs.x!), w = f32(g.inputs.weight!), bias = f32(g.inputs.bias!);
      const [N, IN] = g.inputs.x!.shape as [number, number];
      const OUT = g.inputs.weight!.shape[0]!;
      const y = cpu.gemm(x, w, { batch: 1, m: N, n: OUT, k: IN, transA: false, transB: true, batchedA: false, batchedB: false });
      for (let r = 0; r < N; r++) for (let o = 0; o < OUT; o++) y[r * OUT + o]! += bias[o]!;
      expectClose(y, f32(g.outputs.y!), rtol, atol, `linear-${i} y`);
      const dy = f32(g.upstream.y!);
      const dx = cpu.gemm(dy, w, { batch: 1, m: N, n: IN, k: OUT, transA: false, transB: false, batchedA: false, batchedB: false });
      const dw = cpu.gemm(dy, x, { batch: 1, m: OUT, n: IN, k: N, transA: true, transB: false, batchedA: false, batchedB: false });
      expectClose(dx, f32(g.grads.x!), rtol, atol, `linear-${i} dx`);
      expectClose(dw, f32(g.grads.weight!), rtol, atol, `linear-${i} dW`);
    }
    for (let i = 0; i < 3; i++) {
      const g = load(`layer_norm-${i}`);
      const { rtol, atol } = g.tolerance;
      const shape = g.inputs.x!.shape;
      const D = shape[shape.length - 1]!;
      const rows = g.inputs.x!.data.length / D;
      const x = f32(g.inputs.x!), gamma = f32(g.inputs.gamma!), beta = f32(g.inputs.beta!);
      const f = cpu.layerNormForward(x, gamma, beta, rows, D, g.config.eps as number);
      expectClose(f.y, f32(g.outputs.y!), rtol, atol, `layer_norm-${i} y`);
      const b = cpu.layerNormBackward(x, gamma, f.mean, f.rstd, f32(g.upstream.y!), rows, D);
      expectClose(b.dx, f32(g.grads.x!), rtol, atol, `layer_norm-${i} dx`);
      expectClose(b.dGamma, f32(g.grads.gamma!), rtol, atol, `layer_norm-${i} dgamma`);
      expectClose(b.dBeta, f32(g.grads.beta!), rtol, atol, `layer_norm-${i} dbeta`);
    }
    for (let i = 0; i < 3; i++) {
      const g = load(`gelu-${i}`);
      const { rtol, atol } = g.tolerance;
      const x = f32(g.inputs.x!);
      expectClose(cpu.geluForward(x), f32(g.outputs.y!), rtol, atol, `gelu-${i} y`);
      expectClose(cpu.geluBackward(x, f32(g.upstream.y!)), f32(g.grads.x!), rtol, atol, `gelu-${i} dx`);
    }
  });

  it('6.2 embedding, embedding_grad_norm, adam, adamw', () => {
    for (let i = 0; i < 3; i++) {
      const g = load(`embedding-${i}`);
      const { rtol, atol } = g.tolerance;
      const [V, D] = g.inputs.table!.shape as [number, number];
      const ids = i32(g.inputs.ids!);
      expectClose(cpu.gather(f32(g.inputs.table!), ids, V, D), f32(g.outputs.out!), rtol, atol, `embedding-${i}`);
      expectClose(cpu.scatterAdd(f32(g.upstream.out!), ids, V, D), f32(g.grads.table!), rtol, atol, `embedding-${i} grad`);
    }
    for (let i = 0; i < 3; i++) {
      const g = load(`embedding_grad_norm-${i}`);
      const { rtol, atol } = g.tolerance;
      const [B, L, D] = g.inputs.g!.shape as [number, number, number];
      const r = cpu.gradNorm(f32(g.inputs.g!), i32(g.inputs.mask!), B, L, D);
      expectClose(r.norms, f32(g.outputs.norms!), rtol, atol, `grad_norm-${i} norms`);
      expectClose(r.rowmax, f32(g.outputs.rowmax!), rtol, atol, `grad_norm-${i} rowmax`);
      expectBitEqual(r.argmax, i32(g.outputs.argmax!), `grad_norm-${i} argmax`);
    }
    for (const op of ['adam', 'adamw']) {
      for (let i = 0; i < 3; i++) {
        const g = load(`${op}-${i}`);
        const { rtol, atol } = g.tolerance;
        const c = g.config as { lr: number; beta1: number; beta2: number; eps: number; weight_decay: number; steps: number };
        const param = f32(g.inputs.param!);
        const P = param.length;
        const grads = f32(g.inputs.grads!);
        const m = new Float32Array(P), v = new Float32Array(P);
        const rows = new Float32Array(c.steps * P);
        for (let t = 1; t <= c.steps; t++) {
          cpu.adamStep(param, grads.slice((t - 1) * P, t * P), m, v, {
            lr: c.lr, beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weight_decay,
            decoupled: op === 'adamw', step: t,
          });
          rows.set(param, (t - 1) * P);
        }
        expectClose(rows, f32(g.outputs.params!), rtol, atol, `${op}-${i}`);
      }
    }
  });
});

// ---- 7. bad inputs: JS errors, never a crash ------------------------------------------------------------

describe('7. bad inputs', () => {
  const a = new Float32Array(6), b = new Float32Array(12), c = new Float32Array(8);
  const key = { seed: 1, stream: 0, offset: 0 };
  beforeAll(() => addon.setThreads(defaultThreads));

  it('7.1 gemm: argument count, types, lengths, dims, overlap', () => {
    expect(() => (addon.gemm as (...x: unknown[]) => void)(a, b, c)).toThrow(TypeError);
    expect(() => (addon.gemm as (...x: unknown[]) => void)(a, b, c, 1, 2, 4, 3, false, false, false, false, false, 1))
      .toThrow(/expected 12 arguments, got 13/);
    expect(() => addon.gemm(new Float64Array(6) as unknown as Float32Array, b, c, 1, 2, 4, 3, false, false, false, false, false))
      .toThrow(TypeError);
    expect(() => addon.gemm(a, b, c, 1, 2, 4, 4, false, false, false, false, false))
      .toThrow(/gemm: a must be a Float32Array of length 8, got length 6/);
    expect(() => addon.gemm(a, b, new Float32Array(7), 1, 2, 4, 3, false, false, false, false, false)).toThrow(RangeError);
    expect(() => addon.gemm(a, b, c, 2, 2, 4, 3, false, false, true, false, false)).toThrow(/length 12/);
    expect(() => addon.gemm(a, b, c, 1, -2, 4, 3, false, false, false, false, false)).toThrow(RangeError);
    expect(() => addon.gemm(a, b, c, 1, 2.5, 4, 3, false, false, false, false, false)).toThrow(RangeError);
    expect(() => addon.gemm(a, b, c, 1, NaN, 4, 3, false, false, false, false, false)).toThrow(RangeError);
    expect(() => addon.gemm(a, b, c, 1, 2, 4, 3, 0 as unknown as boolean, false, false, false, false)).toThrow(TypeError);
    expect(() => addon.gemm(a, b, c, 2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, 3, false, false, true, true, false))
      .toThrow(/dimensions too large/);
    const buf = new Float32Array(20);
    expect(() => addon.gemm(buf.subarray(0, 6), b, buf.subarray(4, 12), 1, 2, 4, 3, false, false, false, false, false))
      .toThrow(/must not overlap/);
  });

  it('7.2 random and dropout: keys and probabilities', () => {
    expect(() => addon.uniform(new Float32Array(4), { seed: -1, stream: 0, offset: 0 })).toThrow(RangeError);
    expect(() => addon.uniform(new Float32Array(4), { seed: 1, stream: 2 ** 32, offset: 0 })).toThrow(RangeError);
    expect(() => addon.normal(new Float32Array(4), { seed: 1, stream: 0, offset: 0.5 })).toThrow(RangeError);
    expect(() => addon.normal(new Float32Array(4), null as unknown as RngKey)).toThrow(TypeError);
    expect(() => addon.uniform(new Float32Array(4), { seed: 1, stream: 0 } as unknown as RngKey)).toThrow(TypeError);
    expect(() => addon.dropoutForward(a, new Float32Array(6), 1, key)).toThrow(/p must be in \[0, 1\)/);
    expect(() => addon.dropoutForward(a, new Float32Array(6), -0.1, key)).toThrow(RangeError);
    expect(() => addon.dropoutBackward(a, new Float32Array(5), 0.5, key)).toThrow(RangeError);
  });

  it('7.3 embeddings: out-of-range ids and masks', () => {
    const table = new Float32Array(12);
    expect(() => addon.gather(table, Int32Array.of(0, 4), new Float32Array(6), 4, 3)).toThrow(/ids\[1\] = 4 is out of range \[0, 4\)/);
    expect(() => addon.gather(table, Int32Array.of(-1), new Float32Array(3), 4, 3)).toThrow(RangeError);
    expect(() => addon.gather(table, Float32Array.of(0) as unknown as Int32Array, new Float32Array(3), 4, 3)).toThrow(TypeError);
    expect(() => addon.scatterAdd(new Float32Array(3), Int32Array.of(7), table, 4, 3)).toThrow(RangeError);
    expect(() => addon.scatterAdd(new Float32Array(4), Int32Array.of(1), table, 4, 3)).toThrow(RangeError);
    expect(() => addon.gradNorm(new Float32Array(4), Int32Array.of(1, 2), new Float32Array(2), new Float32Array(1), new Int32Array(1), 1, 2, 2))
      .toThrow(/mask\[1\] = 2/);
    // an output sharing bytes with the ids would overwrite them while they are used as addresses
    const shared = new ArrayBuffer(15 * 4);
    const ids = new Int32Array(shared, 0, 5).fill(1), out = new Float32Array(shared);
    expect(() => addon.gather(table, ids, out, 4, 3)).toThrow(/gather: output out must not overlap input ids/);
    expect(() => addon.scatterAdd(new Float32Array(15), ids, new Float32Array(shared, 0, 12), 4, 3))
      .toThrow(/scatterAdd: output dTable must not overlap input ids/);
  });

  it('7.4 row-wise kernels and adam', () => {
    expect(() => addon.layerNormForward(a, new Float32Array(3), new Float32Array(3), new Float32Array(6), new Float32Array(2), new Float32Array(2), 2, 3, -1))
      .toThrow(/eps/);
    expect(() => addon.layerNormForward(new Float32Array(0), new Float32Array(0), new Float32Array(0), new Float32Array(0), new Float32Array(2), new Float32Array(2), 2, 0, 1e-5))
      .toThrow(/D must be >= 1/);
    expect(() => addon.layerNormBackward(a, new Float32Array(3), new Float32Array(2), new Float32Array(1), a, new Float32Array(6), new Float32Array(3), new Float32Array(3), 2, 3))
      .toThrow(/rstd/);
    expect(() => addon.softmaxForward(a, new Float32Array(6), 4, 2)).toThrow(RangeError);
    expect(() => addon.geluBackward(a, new Float32Array(5), new Float32Array(6))).toThrow(RangeError);
    const p = new Float32Array(4);
    expect(() => addon.adamStep(p, new Float32Array(4), new Float32Array(4), new Float32Array(3), 1e-3, 0.9, 0.999, 1e-8, 0, false, 1)).toThrow(RangeError);
    expect(() => addon.adamStep(p, new Float32Array(4), new Float32Array(4), new Float32Array(4), 1e-3, 1, 0.999, 1e-8, 0, false, 1)).toThrow(/beta1/);
    expect(() => addon.adamStep(p, new Float32Array(4), new Float32Array(4), new Float32Array(4), 1e-3, 0.9, 0.999, 1e-8, 0, false, 0)).toThrow(/step/);
    expect(() => addon.adamStep(p, new Float32Array(4), p, new Float32Array(4), 1e-3, 0.9, 0.999, 1e-8, 0, false, 1)).toThrow(/overlap/);
    expect(() => addon.adamStep(p, new Float32Array(4), new Float32Array(4), new Float32Array(4), Infinity, 0.9, 0.999, 1e-8, 0, false, 1)).toThrow(/finite/);
  });

  it('7.5 the process is alive and the addon still works afterwards', () => {
    const o: GemmOptions = { batch: 1, m: 2, n: 2, k: 2, transA: false, transB: false, batchedA: false, batchedB: false };
    expect([...cpu.gemm(Float32Array.of(1, 2, 3, 4), Float32Array.of(5, 6, 7, 8), o)]).toEqual([19, 22, 43, 50]);
  });
  it('7.9 binary: op, loop arrays, lengths and overlap', () => {
    const x = new Float32Array(6), y = new Float32Array(6), z = new Float32Array(6);
    const call = (...args: unknown[]) => () => (addon.binary as (...a: unknown[]) => void)(...args);
    expect(call(ADD, x, y, z, [6], [1], [1])).not.toThrow();
    expect(call(ADD, x, y, z, [6], [1])).toThrow(/expected 7 arguments, got 6/);
    expect(call(4, x, y, z, [6], [1], [1])).toThrow(/op to be an integer in \[0, 3\]/);
    expect(call(ADD, x, y, z, 6, [1], [1])).toThrow(TypeError);
    expect(call(ADD, x, y, z, [6], [1, 0], [1])).toThrow(/stridesA has 2 entries, dims has 1/);
    expect(call(ADD, x, y, z, [0], [1], [1])).toThrow(/dims\[0\] must be an integer >= 1/);
    expect(call(ADD, x, y, z, [2, 3], [3, -1], [3, 1])).toThrow(/stridesA\[1\] must be an integer >= 0/);
    expect(call(ADD, x, y, z, [2, 3], [3, 1.5], [3, 1])).toThrow(RangeError);
    expect(call(ADD, x, y, z, [5], [1], [1])).toThrow(/covers 5 elements, y has 6/);
    expect(call(ADD, x, y, z, [3, 2], [1, 3], [2, 1])).toThrow(/last loop axis must have stride 0 or 1/);
    expect(call(ADD, x, new Float32Array(2), z, [6], [1], [1])).toThrow(/reads past the end of b/);
    expect(call(ADD, x, y, z, [2, 3], [4, 1], [3, 1])).toThrow(/reads past the end of a/);
    expect(call(ADD, x, y, x, [6], [1], [1])).toThrow(/must not overlap input a/);
    expect(call(ADD, x, new Float64Array(6), z, [6], [1], [1])).toThrow(TypeError);
    expect(call(ADD, x, y, z, Array(17).fill(1), Array(17).fill(0), Array(17).fill(0))).toThrow(/at most 16 loop axes/);
  });
});
