/**
 * The `cpu` backend: the C++ addon (native/, built by `npm install` through node-gyp).
 * This file only allocates outputs and forwards to the addon, which validates every argument
 * again and writes into the arrays in place (no copies across the boundary).
 */
import {
  type AdamOptions, type AttentionDims, BOTH_GRADIENTS, type Backend, type F32, type GemmOptions, type GruDims, type I32,
  type NarmAttentionDims, type RngKey,
} from './backend.js';
import { allocF32, allocOutput } from './buffer-pool.js';

/** The functions the addon exports (see native/bind_core.cc and native/bind_fused.cc). */
export interface CpuAddon {
  /** memory: 'kept' | 'default' | 'not glibc', the heap policy the addon set (native/cpu/memory_policy.cc) */
  info(): { threads: number; simd: string; memory: string };
  setThreads(n: number): number;
  /** diagnostic: `jobs` parallel_for calls over n indices; bad = visits not exactly once, byWorkers = visits on pool threads */
  poolCheck(jobs: number, n: number, grain: number): { bad: number; byWorkers: number };
  gemm(a: F32, b: F32, c: F32, batch: number, m: number, n: number, k: number,
    transA: boolean, transB: boolean, batchedA: boolean, batchedB: boolean, accumulate: boolean): void;
  uniform(out: F32, key: RngKey): void;
  normal(out: F32, key: RngKey): void;
  attentionForward(q: F32, k: F32, v: F32, keyMask: I32, out: F32, lse: F32, B: number, H: number, L: number,
    dh: number, causal: boolean, scale: number, dropout: number, key: RngKey | null, interleaved: boolean): void;
  attentionBackward(q: F32, k: F32, v: F32, keyMask: I32, out: F32, lse: F32, dOut: F32, dq: F32, dk: F32, dv: F32,
    B: number, H: number, L: number, dh: number, causal: boolean, scale: number, dropout: number,
    key: RngKey | null, interleaved: boolean): void;
  gruForward(x: F32, h0: F32, wIh: F32, wHh: F32, bIh: F32, bHh: F32, out: F32, cache: F32,
    B: number, L: number, I: number, H: number): void;
  gruBackward(x: F32, h0: F32, wIh: F32, wHh: F32, out: F32, cache: F32, dOut: F32, dx: F32, dh0: F32,
    dWIh: F32, dWHh: F32, dBIh: F32, dBHh: F32, B: number, L: number, I: number, H: number): void;
  narmAttentionForward(q: F32, k: F32, w: F32, mask: I32, alpha: F32, B: number, T: number, L: number, H: number): void;
  narmAttentionBackward(q: F32, k: F32, w: F32, mask: I32, dAlpha: F32, dq: F32, dk: F32, dw: F32,
    B: number, T: number, L: number, H: number): void;
  projCeForward(hidden: F32, table: F32, targets: I32, weights: F32 | null, loss: F32, lse: F32,
    N: number, D: number, V: number, ignoreIndex: number): void;
  projCeBackward(hidden: F32, table: F32, targets: I32, weights: F32 | null, lse: F32, dLoss: F32,
    dHidden: F32 | null, dTable: F32 | null, N: number, D: number, V: number, ignoreIndex: number): void;
  projCeForwardBackward(hidden: F32, table: F32, targets: I32, weights: F32 | null, dLoss: F32, loss: F32, lse: F32,
    dHidden: F32 | null, dTable: F32 | null, N: number, D: number, V: number, ignoreIndex: number): void;
  crossEntropyForward(logits: F32, targets: I32, weights: F32 | null, loss: F32, lse: F32,
    N: number, C: number, ignoreIndex: number): void;
  crossEntropyBackward(logits: F32, targets: I32, weights: F32 | null, lse: F32, dLoss: F32, dLogits: F32,
    N: number, C: number, ignoreIndex: number): void;
  gather(table: F32, ids: I32, out: F32, V: number, D: number): void;
  scatterAdd(dOut: F32, ids: I32, dTable: F32, V: number, D: number): void;
  gradNorm(g: F32, mask: I32, norms: F32, rowmax: F32, argmax: I32, B: number, L: number, D: number): void;
  cosineTopk(x: F32, queries: I32 | null, indices: I32, similarities: F32, N: number, D: number, k: number): void;
  twoHop(indices: I32, twoHop: I32, count: I32, N: number, k: number): void;
  dirichlet(counts: I32, out: F32, rows: number, K: number, alpha: number, key: RngKey): void;
  neighbourMix(table: F32, ids: I32, w: F32, out: F32, R: number, K: number, V: number, D: number): void;
  neighbourMixBackward(dOut: F32, ids: I32, w: F32, dTable: F32, R: number, K: number, V: number, D: number): void;
  layerNormForward(x: F32, gamma: F32, beta: F32, y: F32, mean: F32, rstd: F32, rows: number, D: number,
    eps: number): void;
  layerNormBackward(x: F32, gamma: F32, mean: F32, rstd: F32, dy: F32, dx: F32, dGamma: F32, dBeta: F32,
    rows: number, D: number): void;
  binary(op: number, a: F32, b: F32, y: F32, dims: readonly number[], stridesA: readonly number[], stridesB: readonly number[]): void;
  geluForward(x: F32, y: F32): void;
  geluBackward(x: F32, dy: F32, dx: F32): void;
  softmaxForward(x: F32, y: F32, rows: number, C: number): void;
  softmaxBackward(y: F32, dy: F32, dx: F32, rows: number, C: number): void;
  dropoutForward(x: F32, y: F32, p: number, key: RngKey): void;
  dropoutBackward(dy: F32, dx: F32, p: number, key: RngKey): void;
  adamStep(param: F32, grad: F32, m: F32, v: F32, lr: number, beta1: number, beta2: number, eps: number,
    weightDecay: number, decoupled: boolean, step: number): void;
}

// outputs come from the pool inside scope() (./buffer-pool.ts): f32 zeroed, written for outputs the
// kernel writes in full (not zeroed first; tests run those with NaN poisoning to prove it)
const f32 = (n: number): F32 => allocF32(n);
const written = (n: number): F32 => allocOutput(n);
const i32 = (n: number): I32 => new Int32Array(n);

export function makeCpuBackend(addon: CpuAddon): Backend {
  const info = addon.info();
  return {
    name: 'cpu',
    get threads() { return addon.info().threads; },
    simd: info.simd,

    uniform(n, key) { const o = written(n); addon.uniform(o, key); return o; },
    normal(n, key) { const o = written(n); addon.normal(o, key); return o; },

    gemm(a, b, o: GemmOptions, accumulate?: F32) {
      const c = accumulate ?? written(o.batch * o.m * o.n);
      addon.gemm(a, b, c, o.batch, o.m, o.n, o.k, o.transA, o.transB, o.batchedA, o.batchedB, accumulate !== undefined);
      return c;
    },

    attentionForward(q, k, v, keyMask, d: AttentionDims) {
      const o = written(q.length);
      const lse = written(d.B * d.H * d.L);
      addon.attentionForward(q, k, v, keyMask, o, lse, d.B, d.H, d.L, d.dh, d.causal, d.scale, d.dropout, d.rng, d.interleaved ?? false);
      return { out: o, lse };
    },
    attentionBackward(q, k, v, keyMask, out, lse, dOut, d: AttentionDims) {
      const dq = written(q.length), dk = written(k.length), dv = written(v.length);
      addon.attentionBackward(q, k, v, keyMask, out, lse, dOut, dq, dk, dv,
        d.B, d.H, d.L, d.dh, d.causal, d.scale, d.dropout, d.rng, d.interleaved ?? false);
      return { dq, dk, dv };
    },

    gruForward(x, h0, wIh, wHh, bIh, bHh, d: GruDims) {
      const out = written(d.B * d.L * d.H);
      const cache = written(d.B * d.L * 4 * d.H);
      addon.gruForward(x, h0, wIh, wHh, bIh, bHh, out, cache, d.B, d.L, d.I, d.H);
      return { out, cache };
    },
    gruBackward(x, h0, wIh, wHh, out, cache, dOut, d: GruDims) {
      const r = {
        dx: written(x.length), dh0: written(h0.length), dWIh: written(wIh.length), dWHh: written(wHh.length),
        dBIh: written(3 * d.H), dBHh: written(3 * d.H),
      };
      addon.gruBackward(x, h0, wIh, wHh, out, cache, dOut, r.dx, r.dh0, r.dWIh, r.dWHh, r.dBIh, r.dBHh,
        d.B, d.L, d.I, d.H);
      return r;
    },

    narmAttentionForward(q, k, w, mask, d: NarmAttentionDims) {
      const alpha = f32(d.B * d.T * d.L);
      addon.narmAttentionForward(q, k, w, mask, alpha, d.B, d.T, d.L, d.H);
      return alpha;
    },
    narmAttentionBackward(q, k, w, mask, dAlpha, d: NarmAttentionDims) {
      const r = { dq: f32(q.length), dk: f32(k.length), dw: f32(w.length) };
      addon.narmAttentionBackward(q, k, w, mask, dAlpha, r.dq, r.dk, r.dw, d.B, d.T, d.L, d.H);
      return r;
    },

    projCeForward(hidden, table, targets, weights, N, D, V, ignoreIndex) {
      const loss = f32(N), lse = f32(N);
      addon.projCeForward(hidden, table, targets, weights, loss, lse, N, D, V, ignoreIndex);
      return { loss, lse };
    },
    projCeBackward(hidden, table, targets, weights, lse, dLoss, N, D, V, ignoreIndex, wants = BOTH_GRADIENTS) {
      const dHidden = wants.hidden ? written(N * D) : null, dTable = wants.table ? written(V * D) : null;
      addon.projCeBackward(hidden, table, targets, weights, lse, dLoss, dHidden, dTable, N, D, V, ignoreIndex);
      return { dHidden, dTable };
    },
    projCeForwardBackward(hidden, table, targets, weights, dLoss, N, D, V, ignoreIndex, wants = BOTH_GRADIENTS) {
      const loss = f32(N), lse = f32(N);
      const dHidden = wants.hidden ? written(N * D) : null, dTable = wants.table ? written(V * D) : null;
      addon.projCeForwardBackward(hidden, table, targets, weights, dLoss, loss, lse, dHidden, dTable, N, D, V, ignoreIndex);
      return { loss, lse, dHidden, dTable };
    },
    crossEntropyForward(logits, targets, weights, N, C, ignoreIndex) {
      const loss = f32(N), lse = f32(N);
      addon.crossEntropyForward(logits, targets, weights, loss, lse, N, C, ignoreIndex);
      return { loss, lse };
    },
    crossEntropyBackward(logits, targets, weights, lse, dLoss, N, C, ignoreIndex) {
      const dLogits = f32(N * C);
      addon.crossEntropyBackward(logits, targets, weights, lse, dLoss, dLogits, N, C, ignoreIndex);
      return dLogits;
    },

    gather(table, ids, V, D) { const o = written(ids.length * D); addon.gather(table, ids, o, V, D); return o; },
    scatterAdd(dOut, ids, V, D) { const g = f32(V * D); addon.scatterAdd(dOut, ids, g, V, D); return g; },
    gradNorm(g, mask, B, L, D) {
      const norms = f32(B * L), rowmax = f32(B), argmax = i32(B);
      addon.gradNorm(g, mask, norms, rowmax, argmax, B, L, D);
      return { norms, rowmax, argmax };
    },

    cosineTopk(x, N, D, k, queries) {
      const Q = queries ? queries.length : N;
      const indices = i32(Q * k), similarities = f32(Q * k);
      addon.cosineTopk(x, queries, indices, similarities, N, D, k);
      return { indices, similarities };
    },
    twoHop(indices, N, k) {
      const twoHop = i32(N * (k + k * k)), count = i32(N);
      addon.twoHop(indices, twoHop, count, N, k);
      return { twoHop, count };
    },
    dirichlet(counts, rows, K, alpha, key) {
      const out = f32(rows * K);
      addon.dirichlet(counts, out, rows, K, alpha, key);
      return out;
    },
    neighbourMix(table, ids, w, R, K, V, D) {
      const out = f32(R * D);
      addon.neighbourMix(table, ids, w, out, R, K, V, D);
      return out;
    },
    neighbourMixBackward(dOut, ids, w, R, K, V, D) {
      const dTable = f32(V * D);
      addon.neighbourMixBackward(dOut, ids, w, dTable, R, K, V, D);
      return dTable;
    },

    layerNormForward(x, gamma, beta, rows, D, eps) {
      const y = written(rows * D), mean = written(rows), rstd = written(rows);
      addon.layerNormForward(x, gamma, beta, y, mean, rstd, rows, D, eps);
      return { y, mean, rstd };
    },
    layerNormBackward(x, gamma, mean, rstd, dy, rows, D) {
      const dx = written(rows * D), dGamma = f32(D), dBeta = f32(D);
      addon.layerNormBackward(x, gamma, mean, rstd, dy, dx, dGamma, dBeta, rows, D);
      return { dx, dGamma, dBeta };
    },
    binary(op, a, b, dims, stridesA, stridesB) {
      let n = 1;
      for (const d of dims) n *= d;
      const y = written(n);
      addon.binary(op, a, b, y, dims, stridesA, stridesB);
      return y;
    },
    geluForward(x) { const y = written(x.length); addon.geluForward(x, y); return y; },
    geluBackward(x, dy) { const dx = written(x.length); addon.geluBackward(x, dy, dx); return dx; },
    softmaxForward(x, rows, C) { const y = written(rows * C); addon.softmaxForward(x, y, rows, C); return y; },
    softmaxBackward(y, dy, rows, C) { const dx = written(rows * C); addon.softmaxBackward(y, dy, dx, rows, C); return dx; },
    dropoutForward(x, p, key) { const y = written(x.length); addon.dropoutForward(x, y, p, key); return y; },
    dropoutBackward(dy, p, key) { const dx = written(dy.length); addon.dropoutBackward(dy, dx, p, key); return dx; },

    adamStep(param, grad, m, v, o: AdamOptions) {
      addon.adamStep(param, grad, m, v, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, o.decoupled, o.step);
    },
  };
}

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: src/backend/ in development, dist/backend/ when installed. */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where node-gyp leaves the addon (Release, then Debug builds). */
export const cpuAddonCandidates = ['build/Release/seqfair_cpu.node', 'build/Debug/seqfair_cpu.node'];

/** Loads the addon or throws an Error that says what was tried and how to build it. */
export function loadCpuAddon(): CpuAddon {
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const rel of cpuAddonCandidates) {
    const file = join(packageRoot, rel);
    if (!existsSync(file)) { tried.push(`${rel} (missing)`); continue; }
    try {
      return require(file) as CpuAddon;
    } catch (e) {
      tried.push(`${rel} (${(e as Error).message.split('\n')[0]})`);
    }
  }
  throw new Error(`the native cpu addon did not load: tried ${tried.join('; ')}. ` +
    `Build it with \`npm rebuild seqfair\` (or \`npx node-gyp rebuild\` in the package directory).`);
}

let cached: Backend | null = null;

/** The cpu backend (loads the addon on first use; throws if it cannot). */
export function loadCpuBackend(): Backend {
  cached ??= makeCpuBackend(loadCpuAddon());
  return cached;
}

/** The cpu backend as a value, for tests and benchmarks; any use throws if the addon is missing. */
export const cpuBackend: Backend = new Proxy({} as Backend, {
  get: (_t, prop) => Reflect.get(loadCpuBackend(), prop),
});
