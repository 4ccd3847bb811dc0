/**
 * Tests of the reference backend (src/backend/reference.ts), the oracle of every kernel.
 *
 *   1. golden fixtures (../shared/golden, FORMAT.md): forward outputs and gradients per kernel
 *   2. finite-difference gradient checks of every differentiable kernel
 *   3. randomness: Philox counter layout, dropout, normal/uniform, Dirichlet
 *   4. extra kernel checks: gemm flags, cosine top-k subsets, empty attention rows
 *   5. bad inputs throw RangeErrors that name the method
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { AttentionDims, GemmOptions, RngKey } from '../../src/backend/backend.js';
import { erf, erfc } from '../../src/backend/math.js';
import { referenceBackend as R } from '../../src/backend/reference.js';
import { normalAt, uniformAt } from '../../src/engine/philox.js';

// ---- helpers --------------------------------------------------------------------------------

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const goldenDir = process.env.SEQFAIR_GOLDEN ?? path.resolve(repoRoot, '../shared/golden');
const haveGolden = fs.existsSync(goldenDir) && fs.readdirSync(goldenDir).some((f) => f.endsWith('.json'));

interface Tensor {
  shape: number[];
  dtype: 'f32' | 'i32';
  data: number[];
}
interface Golden {
  op: string;
  config: Record<string, unknown>;
  inputs: Record<string, Tensor>;
  upstream: Record<string, Tensor>;
  outputs: Record<string, Tensor>;
  grads: Record<string, Tensor>;
  tolerance: { rtol: number; atol: number };
}

const f32 = (t: Tensor): Float32Array => new Float32Array(t.data); // rounds to f32 as FORMAT.md 2 asks
const i32 = (t: Tensor): Int32Array => Int32Array.from(t.data);
const prod = (s: number[]): number => s.reduce((a, b) => a * b, 1);

/** Elementwise |a - e| <= atol + rtol |e| (FORMAT.md 3), reporting the worst element. */
function expectClose(what: string, actual: ArrayLike<number>, expected: Tensor, tol: { rtol: number; atol: number }): void {
  expect(actual.length, `${what}: length`).toBe(prod(expected.shape));
  let worst = -1;
  let worstExcess = -Infinity;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected.data[i]!;
    const excess = Number.isNaN(a) ? Infinity : Math.abs(a - e) - (tol.atol + tol.rtol * Math.abs(e));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (actual.length === 0) return;
  expect(worstExcess, `${what}: worst element ${worst}: got ${actual[worst]}, expected ${expected.data[worst]}`).toBeLessThanOrEqual(0);
}

function expectExact(what: string, actual: ArrayLike<number>, expected: Tensor): void {
  expect(Array.from(actual), what).toEqual(expected.data);
}

/** Small deterministic test data (mulberry32), independent of the Philox code under test. */
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
  for (let i = 0; i < n; i++) out[i] = scale * (r() + r() + r() + r() - 2) * 1.7;
  return out;
}

/** Σ a·b in double: the scalar S whose gradient the backward kernels compute for upstream b. */
function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * Central differences on inputs perturbed in f32: for each element, S(x + h) and S(x - h) with
 * the actual f32 step as denominator. Accepts |fd - an| <= rtol |an| + 2e-3 max|an| + 1e-5.
 */
function fdCheck(
  what: string, inputs: Record<string, Float32Array>, S: () => number, analytic: Record<string, Float32Array>,
  eps = 1e-2, rtol = 2e-2,
): void {
  let maxAbs = 0;
  for (const g of Object.values(analytic)) for (const v of g) maxAbs = Math.max(maxAbs, Math.abs(v));
  expect(maxAbs, `${what}: gradient is not all zero`).toBeGreaterThan(0);
  for (const [name, x] of Object.entries(inputs)) {
    const an = analytic[name]!;
    expect(an.length, `${what}: d${name} length`).toBe(x.length);
    for (let i = 0; i < x.length; i++) {
      const orig = x[i]!;
      x[i] = orig + eps;
      const up = x[i]!;
      const sp = S();
      x[i] = orig - eps;
      const down = x[i]!;
      const sm = S();
      x[i] = orig;
      const fd = (sp - sm) / (up - down);
      const bound = rtol * Math.abs(an[i]!) + 2e-3 * maxAbs + 1e-5;
      expect(Math.abs(fd - an[i]!), `${what}: d${name}[${i}] analytic ${an[i]} vs finite difference ${fd}`).toBeLessThanOrEqual(bound);
    }
  }
}

/** A naive product for checking gemm flags: op(A)[i,p] and op(B)[p,j] given as functions. */
function naiveGemm(m: number, n: number, k: number, a: (i: number, p: number) => number, b: (p: number, j: number) => number): number[] {
  const c: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a(i, p) * b(p, j);
      c.push(Math.fround(s));
    }
  }
  return c;
}

const gemmOpts = (o: Partial<GemmOptions> & { m: number; n: number; k: number }): GemmOptions => ({
  batch: 1, transA: false, transB: false, batchedA: true, batchedB: true, ...o,
});

// ---- 1. golden fixtures ---------------------------------------------------------------------

const GOLDEN_OPS = [
  'linear', 'layer_norm', 'gelu', 'attention', 'gru', 'softmax_cross_entropy', 'projection_cross_entropy',
  'embedding', 'embedding_grad_norm', 'cosine_topk', 'adam', 'adamw',
] as const;

function goldenCases(op: string): string[] {
  if (!haveGolden) return [`${op}-0`]; // placeholder names; the whole suite is skipped
  return fs.readdirSync(goldenDir)
    .filter((f) => f.startsWith(`${op}-`) && /^\d+\.json$/.test(f.slice(op.length + 1)))
    .map((f) => f.slice(0, -5))
    .sort();
}

function loadGolden(name: string): Golden {
  return JSON.parse(fs.readFileSync(path.join(goldenDir, `${name}.json`), 'utf8')) as Golden;
}

/** Runs one golden case through the reference kernels and compares every output and gradient. */
function runGolden(name: string): void {
  const g = loadGolden(name);
  const tol = g.tolerance;
  const inp = g.inputs;
  const up = g.upstream;
  const out = (k: string, a: ArrayLike<number>): void => expectClose(`${name} outputs.${k}`, a, g.outputs[k]!, tol);
  const grad = (k: string, a: ArrayLike<number>): void => expectClose(`${name} grads.${k}`, a, g.grads[k]!, tol);

  switch (g.op) {
    case 'linear': {
      // y = x W^T + b as one gemm accumulating into a bias-filled C; the grads are gemms too.
      const [N, IN] = inp.x!.shape as [number, number];
      const OUT = inp.weight!.shape[0]!;
      const x = f32(inp.x!);
      const w = f32(inp.weight!);
      const b = f32(inp.bias!);
      const y = new Float32Array(N * OUT);
      for (let n = 0; n < N; n++) y.set(b, n * OUT);
      R.gemm(x, w, gemmOpts({ m: N, n: OUT, k: IN, transB: true }), y);
      out('y', y);
      const dy = f32(up.y!);
      grad('x', R.gemm(dy, w, gemmOpts({ m: N, n: IN, k: OUT })));
      grad('weight', R.gemm(dy, x, gemmOpts({ m: OUT, n: IN, k: N, transA: true })));
      grad('bias', R.gemm(new Float32Array(N).fill(1), dy, gemmOpts({ m: 1, n: OUT, k: N })));
      break;
    }
    case 'layer_norm': {
      const shape = inp.x!.shape;
      const D = shape[shape.length - 1]!;
      const rows = prod(shape) / D;
      const x = f32(inp.x!);
      const gamma = f32(inp.gamma!);
      const f = R.layerNormForward(x, gamma, f32(inp.beta!), rows, D, g.config.eps as number);
      out('y', f.y);
      const b = R.layerNormBackward(x, gamma, f.mean, f.rstd, f32(up.y!), rows, D);
      grad('x', b.dx);
      grad('gamma', b.dGamma);
      grad('beta', b.dBeta);
      break;
    }
    case 'gelu': {
      const x = f32(inp.x!);
      out('y', R.geluForward(x));
      grad('x', R.geluBackward(x, f32(up.y!)));
      break;
    }
    case 'attention': {
      const [B, H, L, dh] = inp.q!.shape as [number, number, number, number];
      const d: AttentionDims = {
        B, H, L, dh, causal: g.config.causal as boolean, scale: g.config.scale as number, dropout: 0, rng: null,
      };
      const q = f32(inp.q!);
      const k = f32(inp.k!);
      const v = f32(inp.v!);
      const mask = i32(inp.key_mask!);
      const f = R.attentionForward(q, k, v, mask, d);
      out('out', f.out);
      const b = R.attentionBackward(q, k, v, mask, f.out, f.lse, f32(up.out!), d);
      grad('q', b.dq);
      grad('k', b.dk);
      grad('v', b.dv);
      break;
    }
    case 'gru': {
      const [B, L, I] = inp.x!.shape as [number, number, number];
      const H = inp.h0!.shape[1]!;
      const d = { B, L, I, H };
      const x = f32(inp.x!);
      const h0 = f32(inp.h0!);
      const wIh = f32(inp.weight_ih!);
      const wHh = f32(inp.weight_hh!);
      const f = R.gruForward(x, h0, wIh, wHh, f32(inp.bias_ih!), f32(inp.bias_hh!), d);
      out('out', f.out);
      const hn = new Float32Array(B * H);
      for (let b = 0; b < B; b++) hn.set(f.out.subarray((b * L + L - 1) * H, (b * L + L) * H), b * H);
      out('h_n', hn);
      // h_n is h_L: its upstream joins the last step's.
      const dOut = f32(up.out!);
      const dHn = f32(up.h_n!);
      for (let b = 0; b < B; b++) for (let u = 0; u < H; u++) dOut[(b * L + L - 1) * H + u] += dHn[b * H + u]!;
      const b = R.gruBackward(x, h0, wIh, wHh, f.out, f.cache, dOut, d);
      grad('x', b.dx);
      grad('h0', b.dh0);
      grad('weight_ih', b.dWIh);
      grad('weight_hh', b.dWHh);
      grad('bias_ih', b.dBIh);
      grad('bias_hh', b.dBHh);
      break;
    }
    case 'softmax_cross_entropy': {
      const [N, C] = inp.logits!.shape as [number, number];
      const ignore = g.config.ignore_index as number;
      const logits = f32(inp.logits!);
      const targets = i32(inp.targets!);
      const weights = inp.weights ? f32(inp.weights) : null;
      const f = R.crossEntropyForward(logits, targets, weights, N, C, ignore);
      out('loss', f.loss);
      // mean = Σ loss / max(count, 1) over non-ignored rows (FORMAT.md 4.6)
      const count = targets.filter((t) => t !== ignore).length;
      const mean = f.loss.reduce((a, b) => a + b, 0) / Math.max(count, 1);
      out('mean', [mean]);
      const dLoss = f32(up.loss!);
      const dMean = up.mean!.data[0]!;
      for (let n = 0; n < N; n++) if (targets[n] !== ignore) dLoss[n] = dLoss[n]! + dMean / Math.max(count, 1);
      grad('logits', R.crossEntropyBackward(logits, targets, weights, f.lse, dLoss, N, C, ignore));
      break;
    }
    case 'projection_cross_entropy': {
      const [N, D] = inp.hidden!.shape as [number, number];
      const V = inp.table!.shape[0]!;
      const ignore = g.config.padding_id as number;
      const hidden = f32(inp.hidden!);
      const table = f32(inp.table!);
      const targets = i32(inp.targets!);
      const f = R.projCeForward(hidden, table, targets, null, N, D, V, ignore);
      out('loss', f.loss);
      const b = R.projCeBackward(hidden, table, targets, null, f.lse, f32(up.loss!), N, D, V, ignore);
      grad('hidden', b.dHidden);
      grad('table', b.dTable);
      break;
    }
    case 'embedding': {
      const [V, D] = inp.table!.shape as [number, number];
      const ids = i32(inp.ids!);
      out('out', R.gather(f32(inp.table!), ids, V, D));
      grad('table', R.scatterAdd(f32(up.out!), ids, V, D));
      break;
    }
    case 'embedding_grad_norm': {
      const [B, L, D] = inp.g!.shape as [number, number, number];
      const f = R.gradNorm(f32(inp.g!), i32(inp.mask!), B, L, D);
      out('norms', f.norms);
      out('rowmax', f.rowmax);
      expectExact(`${name} outputs.argmax`, f.argmax, g.outputs.argmax!);
      break;
    }
    case 'cosine_topk': {
      const [N, D] = inp.x!.shape as [number, number];
      const k = g.config.k as number;
      const x = f32(inp.x!);
      const f = R.cosineTopk(x, N, D, k, null);
      expectExact(`${name} outputs.indices`, f.indices, g.outputs.indices!);
      out('similarities', f.similarities);
      const t = R.twoHop(f.indices, N, k);
      expectExact(`${name} outputs.two_hop`, t.twoHop, g.outputs.two_hop!);
      expectExact(`${name} outputs.two_hop_count`, t.count, g.outputs.two_hop_count!);
      // A query subset (in any order) gives exactly those rows of the full result.
      const queries = Int32Array.from([N - 1, 0, Math.floor(N / 2)]);
      const sub = R.cosineTopk(x, N, D, k, queries);
      queries.forEach((qi, r) => {
        expect(Array.from(sub.indices.subarray(r * k, (r + 1) * k))).toEqual(Array.from(f.indices.subarray(qi * k, (qi + 1) * k)));
        expect(Array.from(sub.similarities.subarray(r * k, (r + 1) * k))).toEqual(Array.from(f.similarities.subarray(qi * k, (qi + 1) * k)));
      });
      break;
    }
    case 'adam':
    case 'adamw': {
      const c = g.config as Record<string, number>;
      const param = f32(inp.param!);
      const grads = f32(inp.grads!);
      const P = param.length;
      const m = new Float32Array(P);
      const v = new Float32Array(P);
      const params = new Float32Array(c.steps! * P);
      for (let t = 1; t <= c.steps!; t++) {
        R.adamStep(param, grads.subarray((t - 1) * P, t * P), m, v, {
          lr: c.lr!, beta1: c.beta1!, beta2: c.beta2!, eps: c.eps!, weightDecay: c.weight_decay!,
          decoupled: g.op === 'adamw', step: t,
        });
        params.set(param, (t - 1) * P);
      }
      out('params', params);
      break;
    }
    default:
      throw new Error(`no runner for golden op ${g.op}`);
  }
}

describe.skipIf(!haveGolden)(
  haveGolden ? `1. golden fixtures (${goldenDir})` : `1. golden fixtures SKIPPED: no *.json in ${goldenDir} (set SEQFAIR_GOLDEN)`,
  () => {
    for (const op of GOLDEN_OPS) {
      describe(op, () => {
        const cases = goldenCases(op);
        it('has fixtures', () => expect(cases.length).toBeGreaterThan(0));
        for (const name of cases) it(name, () => runGolden(name));
      });
    }
  },
);

// ---- 2. finite-difference gradient checks ---------------------------------------------------

describe('2. finite-difference gradients', () => {
  it('attention: causal, left padding, a fully padded sequence', () => {
    const d: AttentionDims = { B: 2, H: 2, L: 4, dh: 3, causal: true, scale: 1 / Math.sqrt(3), dropout: 0, rng: null };
    const n = 2 * 2 * 4 * 3;
    const q = randn(n, 1);
    const k = randn(n, 2);
    const v = randn(n, 3);
    const mask = Int32Array.from([0, 1, 1, 1, 0, 0, 0, 0]);
    const upOut = randn(n, 4);
    const f = R.attentionForward(q, k, v, mask, d);
    // query 0 of sequence 0 (left padding, causal) and all of sequence 1 have no allowed key
    for (const row of [0, 4, 8, 9, 10, 11, 12, 13, 14, 15]) {
      expect(f.lse[row]).toBe(-Infinity);
      expect(Array.from(f.out.subarray(row * 3, row * 3 + 3))).toEqual([0, 0, 0]);
    }
    expect(Number.isFinite(f.lse[1]!)).toBe(true);
    const b = R.attentionBackward(q, k, v, mask, f.out, f.lse, upOut, d);
    for (let i = 24; i < 48; i++) expect([b.dq[i], b.dk[i], b.dv[i]]).toEqual([0, 0, 0]);
    const S = (): number => dot(R.attentionForward(q, k, v, mask, d).out, upOut);
    fdCheck('attention', { q, k, v }, S, { q: b.dq, k: b.dk, v: b.dv });
  });

  it('attention: bidirectional with a hole and dropout (backward regenerates the mask)', () => {
    const key: RngKey = { seed: 7, stream: 3, offset: 11 };
    const d: AttentionDims = { B: 1, H: 2, L: 5, dh: 2, causal: false, scale: 0.8, dropout: 0.3, rng: key };
    const n = 1 * 2 * 5 * 2;
    const q = randn(n, 5);
    const k = randn(n, 6);
    const v = randn(n, 7);
    const mask = Int32Array.from([1, 0, 1, 1, 1]);
    const upOut = randn(n, 8);
    const f = R.attentionForward(q, k, v, mask, d);
    const b = R.attentionBackward(q, k, v, mask, f.out, f.lse, upOut, d);
    const S = (): number => dot(R.attentionForward(q, k, v, mask, d).out, upOut);
    fdCheck('attention+dropout', { q, k, v }, S, { q: b.dq, k: b.dk, v: b.dv });
  });

  it('gru: all six gradients', () => {
    const d = { B: 2, L: 3, I: 2, H: 3 };
    const x = randn(2 * 3 * 2, 10);
    const h0 = randn(2 * 3, 11, 0.5);
    const wIh = randn(9 * 2, 12, 0.6);
    const wHh = randn(9 * 3, 13, 0.6);
    const bIh = randn(9, 14, 0.3);
    const bHh = randn(9, 15, 0.3);
    const upOut = randn(2 * 3 * 3, 16);
    const f = R.gruForward(x, h0, wIh, wHh, bIh, bHh, d);
    const b = R.gruBackward(x, h0, wIh, wHh, f.out, f.cache, upOut, d);
    const S = (): number => dot(R.gruForward(x, h0, wIh, wHh, bIh, bHh, d).out, upOut);
    fdCheck('gru', { x, h0, wIh, wHh, bIh, bHh }, S, {
      x: b.dx, h0: b.dh0, wIh: b.dWIh, wHh: b.dWHh, bIh: b.dBIh, bHh: b.dBHh,
    });
  });

  it('projCe: weights and ignored rows', () => {
    const [N, D, V, ignore] = [5, 4, 7, 0];
    const hidden = randn(N * D, 20);
    const table = randn(V * D, 21);
    const targets = Int32Array.from([3, 0, 6, 1, 0]);
    const weights = Float32Array.from([0.5, 2, 1.5, 1, 0.7]);
    const upLoss = Float32Array.from([1, 3, -0.5, 0.8, 2]);
    const f = R.projCeForward(hidden, table, targets, weights, N, D, V, ignore);
    expect([f.loss[1], f.loss[4]]).toEqual([0, 0]);
    const b = R.projCeBackward(hidden, table, targets, weights, f.lse, upLoss, N, D, V, ignore);
    expect(Array.from(b.dHidden.subarray(4, 8))).toEqual([0, 0, 0, 0]);
    const S = (): number => dot(R.projCeForward(hidden, table, targets, weights, N, D, V, ignore).loss, upLoss);
    fdCheck('projCe', { hidden, table }, S, { hidden: b.dHidden, table: b.dTable });
    // With the same logits, projCe and crossEntropy agree.
    const logits = R.gemm(hidden, table, gemmOpts({ m: N, n: V, k: D, transB: true }));
    const ce = R.crossEntropyForward(logits, targets, weights, N, V, ignore);
    for (let n = 0; n < N; n++) expect(ce.loss[n]).toBeCloseTo(f.loss[n]!, 5);
  });

  it('crossEntropy: weights, ignored rows, large logits', () => {
    const [N, C, ignore] = [5, 6, -100];
    const logits = randn(N * C, 30, 2);
    logits[7] = 95; // a large logit: without the max shift exp overflows f32
    const targets = Int32Array.from([2, -100, 5, 1, 0]);
    const weights = Float32Array.from([1.5, 1, 0.25, 2, 1]);
    const upLoss = Float32Array.from([0.7, 1, -1.2, 0.4, 1.1]);
    const f = R.crossEntropyForward(logits, targets, weights, N, C, ignore);
    expect(f.loss[1]).toBe(0);
    expect(Number.isFinite(f.loss[0]!) && Number.isFinite(f.loss[3]!)).toBe(true);
    const dl = R.crossEntropyBackward(logits, targets, weights, f.lse, upLoss, N, C, ignore);
    expect(Array.from(dl.subarray(C, 2 * C))).toEqual(new Array(C).fill(0));
    const S = (): number => dot(R.crossEntropyForward(logits, targets, weights, N, C, ignore).loss, upLoss);
    fdCheck('crossEntropy', { logits }, S, { logits: dl });
  });

  it('layerNorm', () => {
    const [rows, D] = [3, 5];
    const x = randn(rows * D, 40, 2);
    const gamma = randn(D, 41, 0.5);
    const beta = randn(D, 42, 0.5);
    const upY = randn(rows * D, 43);
    const f = R.layerNormForward(x, gamma, beta, rows, D, 1e-5);
    const b = R.layerNormBackward(x, gamma, f.mean, f.rstd, upY, rows, D);
    const S = (): number => dot(R.layerNormForward(x, gamma, beta, rows, D, 1e-5).y, upY);
    fdCheck('layerNorm', { x, gamma, beta }, S, { x: b.dx, gamma: b.dGamma, beta: b.dBeta });
  });

  it('gelu', () => {
    const x = Float32Array.from([-6, -3, -1.5, -0.7, -0.01, 0, 0.2, 0.9, 1.7, 3.5, 6]);
    const upY = randn(x.length, 50);
    const dx = R.geluBackward(x, upY);
    fdCheck('gelu', { x }, () => dot(R.geluForward(x), upY), { x: dx }, 1e-3);
  });

  it('softmax', () => {
    const [rows, C] = [3, 5];
    const x = randn(rows * C, 60, 2);
    const upY = randn(rows * C, 61);
    const y = R.softmaxForward(x, rows, C);
    const dx = R.softmaxBackward(y, upY, rows, C);
    fdCheck('softmax', { x }, () => dot(R.softmaxForward(x, rows, C), upY), { x: dx });
  });

  it('neighbourMix (ids -1 skipped)', () => {
    const [R_, K, V, D] = [4, 3, 6, 3];
    const table = randn(V * D, 70);
    const ids = Int32Array.from([0, 5, -1, 2, 2, 3, -1, -1, -1, 4, 0, 1]);
    const w = randn(R_ * K, 71);
    const upOut = randn(R_ * D, 72);
    const out = R.neighbourMix(table, ids, w, R_, K, V, D);
    expect(Array.from(out.subarray(2 * D, 3 * D))).toEqual([0, 0, 0]);
    const dTable = R.neighbourMixBackward(upOut, ids, w, R_, K, V, D);
    fdCheck('neighbourMix', { table }, () => dot(R.neighbourMix(table, ids, w, R_, K, V, D), upOut), { table: dTable });
  });
  it('narmAttention: every prefix (T = L), the last position only (T = 1) and T = 2 < L; padded keys skipped', () => {
    const [B, L, H] = [2, 4, 3];
    const mask = Int32Array.from([0, 1, 1, 1, 1, 1, 0, 1]);
    const k = randn(B * L * H, 80);
    const w = randn(H, 81);
    for (const T of [L, 1, 2]) {
      const d = { B, T, L, H };
      const q = randn(B * T * H, 82 + T);
      const up = randn(B * T * L, 90 + T);
      const alpha = R.narmAttentionForward(q, k, w, mask, d);
      // one entry by hand: b = 1, last query row (position L − 1), key j = 1
      const sig = (x: number): number => 1 / (1 + Math.exp(-x));
      let want = 0;
      for (let h = 0; h < H; h++) want += w[h]! * sig(q[(1 * T + T - 1) * H + h]! + k[(1 * L + 1) * H + h]!);
      expect(alpha[(1 * T + T - 1) * L + 1]).toBeCloseTo(want, 6);
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          for (let j = 0; j < L; j++) {
            // keys after the query's position, and padded keys, weigh exactly 0
            if (j > L - T + t || mask[b * L + j] === 0) expect(alpha[(b * T + t) * L + j], `T=${T} b=${b} t=${t} j=${j}`).toBe(0);
          }
        }
      }
      const g = R.narmAttentionBackward(q, k, w, mask, up, d);
      fdCheck(`narmAttention T=${T}`, { q, k, w }, () => dot(R.narmAttentionForward(q, k, w, mask, d), up), { q: g.dq, k: g.dk, w: g.dw });
    }
  });
});

// ---- 3. randomness --------------------------------------------------------------------------

describe('3. randomness', () => {
  const key: RngKey = { seed: 12345, stream: 4, offset: 1000 };

  it('uniform and normal follow the counter layout and have the right moments', () => {
    const n = 20000;
    const u = R.uniform(n, key);
    const z = R.normal(n, key);
    for (const i of [0, 1, 2, 3, 4, 777, n - 1]) {
      expect(u[i]).toBe(uniformAt(key, key.offset + i));
      expect(z[i]).toBe(Math.fround(normalAt(key, key.offset + i)));
    }
    // offset shifts the window: element i at offset o+5 is element i+5 at offset o
    expect(Array.from(R.uniform(10, { ...key, offset: key.offset + 5 }))).toEqual(Array.from(u.subarray(5, 15)));
    let su = 0, sz = 0, szz = 0;
    for (let i = 0; i < n; i++) {
      expect(u[i]! >= 0 && u[i]! < 1).toBe(true);
      su += u[i]!;
      sz += z[i]!;
      szz += z[i]! ** 2;
    }
    expect(Math.abs(su / n - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(sz / n)).toBeLessThan(0.03);
    expect(Math.abs(szz / n - 1)).toBeLessThan(0.04);
    expect(Array.from(R.normal(50, key))).toEqual(Array.from(z.subarray(0, 50)));
  });

  it('dropout p=0.3 keeps ~70%, scales by 1/0.7, and backward uses the same mask', () => {
    const n = 20000;
    const x = randn(n, 80);
    for (let i = 0; i < n; i++) if (x[i] === 0) x[i] = 1;
    const y = R.dropoutForward(x, 0.3, key);
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const keep = uniformAt(key, key.offset + i) >= 0.3;
      expect(y[i]).toBe(keep ? Math.fround(x[i]! / 0.7) : 0);
      if (keep) kept++;
    }
    expect(Math.abs(kept / n - 0.7)).toBeLessThan(0.015);
    const dy = randn(n, 81);
    const dx = R.dropoutBackward(dy, 0.3, key);
    for (let i = 0; i < n; i++) expect(dx[i]).toBe(y[i] === 0 ? 0 : Math.fround(dy[i]! / 0.7));
    expect(Array.from(R.dropoutForward(x, 0.3, key))).toEqual(Array.from(y));
    expect(Array.from(R.dropoutForward(x, 0, key))).toEqual(Array.from(x));
  });

  it('attention dropout keeps weight e = ((b*H+h)*L+i)*L+j iff uniform(offset + e) >= p', () => {
    const akey: RngKey = { seed: 99, stream: 6, offset: 40 };
    const d: AttentionDims = { B: 2, H: 2, L: 3, dh: 2, causal: true, scale: 0.7, dropout: 0.4, rng: akey };
    const n = 2 * 2 * 3 * 2;
    const [q, k, v] = [randn(n, 90), randn(n, 91), randn(n, 92)];
    const mask = Int32Array.from([1, 1, 1, 0, 1, 1]);
    const f = R.attentionForward(q, k, v, mask, d);
    for (let b = 0; b < 2; b++) {
      for (let h = 0; h < 2; h++) {
        for (let i = 0; i < 3; i++) {
          const bh = b * 2 + h;
          const s: number[] = [];
          for (let j = 0; j < 3; j++) {
            const ok = mask[b * 3 + j] === 1 && j <= i;
            s.push(ok ? 0.7 * (q[(bh * 3 + i) * 2]! * k[(bh * 3 + j) * 2]! + q[(bh * 3 + i) * 2 + 1]! * k[(bh * 3 + j) * 2 + 1]!) : -Infinity);
          }
          const mx = Math.max(...s);
          const expected = [0, 0];
          if (mx !== -Infinity) {
            const z = s.reduce((a, sj) => a + Math.exp(sj - mx), 0);
            for (let j = 0; j < 3; j++) {
              const e = (bh * 3 + i) * 3 + j;
              const m = uniformAt(akey, akey.offset + e) >= 0.4 ? 1 / 0.6 : 0;
              for (let c = 0; c < 2; c++) expected[c] += (Math.exp(s[j]! - mx) / z) * m * v[(bh * 3 + j) * 2 + c]!;
            }
          }
          for (let c = 0; c < 2; c++) expect(f.out[(bh * 3 + i) * 2 + c]).toBeCloseTo(expected[c]!, 6);
        }
      }
    }
  });

  it('dirichlet rows: positive, sum to 1, inactive zero, mean ≈ uniform, counter layout', () => {
    const rows = 4000;
    const K = 5;
    const counts = new Int32Array(rows);
    for (let r = 0; r < rows; r++) counts[r] = r % 3 === 0 ? 3 : 5;
    for (const alpha of [0.5, 1, 2.5]) {
      const dkey: RngKey = { seed: 2024, stream: 9, offset: 17 };
      const w = R.dirichlet(counts, rows, K, alpha, dkey);
      const mean5 = new Float64Array(K);
      let full = 0;
      for (let r = 0; r < rows; r++) {
        let sum = 0;
        for (let j = 0; j < K; j++) {
          const x = w[r * K + j]!;
          if (j < counts[r]!) expect(x).toBeGreaterThan(0);
          else expect(x).toBe(0);
          sum += x;
        }
        expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
        if (counts[r] === 5) {
          full++;
          for (let j = 0; j < K; j++) mean5[j] += w[r * K + j]!;
        }
      }
      for (let j = 0; j < K; j++) expect(Math.abs(mean5[j]! / full - 0.2)).toBeLessThan(0.02);
      // same key -> same draws; draw (r,j) uses gamma counter offset + r*K + j only
      expect(Array.from(R.dirichlet(counts, rows, K, alpha, dkey))).toEqual(Array.from(w));
      const shifted = R.dirichlet(counts.subarray(2, 10), 8, K, alpha, { ...dkey, offset: dkey.offset + 2 * K });
      expect(Array.from(shifted)).toEqual(Array.from(w.subarray(2 * K, 10 * K)));
      const other = R.dirichlet(counts, rows, K, alpha, { ...dkey, stream: 10 });
      expect(Array.from(other)).not.toEqual(Array.from(w));
    }
  });
});

// ---- 4. extra kernel checks -----------------------------------------------------------------

describe('4. kernels beyond the fixtures', () => {
  it('erf / erfc match libm values, including the far tail', () => {
    const cases: [number, number][] = [[0.5, 0.5204998778130465], [1.5, 0.9661051464753108], [-1.9, -0.9927904292352575], [2.5, 0.999593047982555]];
    for (const [x, e] of cases) expect(Math.abs(erf(x) - e)).toBeLessThan(1e-15);
    const tails: [number, number][] = [[-1, 1.842700792949715], [1, 0.15729920705028513], [3, 2.2090496998585438e-5], [5, 1.5374597944280351e-12], [10, 2.088487583762545e-45], [26, 5.663192408856143e-296]];
    for (const [x, e] of tails) expect(Math.abs(erfc(x) - e) / e).toBeLessThan(1e-12);
    expect(Object.is(R.geluForward(Float32Array.from([-0]))[0], -0)).toBe(true);
    expect(R.geluForward(Float32Array.from([-40]))[0]).toBe(-0);
  });

  it('gemm: every transpose/batch flag combination and accumulate', () => {
    const [batch, m, n, k] = [3, 4, 5, 7];
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const batchedA of [false, true]) {
          for (const batchedB of [false, true]) {
            const a = randn((batchedA ? batch : 1) * m * k, 100);
            const b = randn((batchedB ? batch : 1) * k * n, 101);
            const o: GemmOptions = { batch, m, n, k, transA, transB, batchedA, batchedB };
            const c = R.gemm(a, b, o);
            const init = randn(batch * m * n, 102);
            const acc = init.slice();
            expect(R.gemm(a, b, o, acc)).toBe(acc);
            for (let bi = 0; bi < batch; bi++) {
              const aBase = batchedA ? bi * m * k : 0;
              const bBase = batchedB ? bi * k * n : 0;
              const want = naiveGemm(
                m, n, k,
                (i, p) => (transA ? a[aBase + p * m + i]! : a[aBase + i * k + p]!),
                (p, j) => (transB ? b[bBase + j * k + p]! : b[bBase + p * n + j]!),
              );
              for (let e = 0; e < m * n; e++) {
                expect(c[bi * m * n + e]).toBe(want[e]);
                expect(acc[bi * m * n + e]).toBeCloseTo(init[bi * m * n + e]! + want[e]!, 5);
              }
            }
          }
        }
      }
    }
  });

  it('cosineTopk: zero row and ties by smaller index; twoHop excludes self and pads with -1', () => {
    // rows 1 and 3 are identical, row 2 is zero
    const x = Float32Array.from([1, 0, 2, 1, 0, 0, 2, 1, 0, 1]);
    const { indices, similarities } = R.cosineTopk(x, 5, 2, 2, null);
    expect(Array.from(indices.subarray(0, 2))).toEqual([1, 3]); // exact tie of duplicates: smaller index first
    expect(Array.from(indices.subarray(1 * 2, 2 * 2))).toEqual([3, 0]); // its duplicate first (sim 1)
    expect(Array.from(indices.subarray(2 * 2, 3 * 2))).toEqual([0, 1]); // zero row: smallest other indices
    expect(Array.from(similarities.subarray(4, 6))).toEqual([0, 0]);
    expect(similarities[0]).toBe(Math.fround(2 / Math.sqrt(5)));
    const t = R.twoHop(Int32Array.from([1, 2, 0, 2, 0, 1]), 3, 2);
    expect(Array.from(t.twoHop)).toEqual([1, 2, -1, -1, -1, -1, 0, 2, -1, -1, -1, -1, 0, 1, -1, -1, -1, -1]);
    expect(Array.from(t.count)).toEqual([2, 2, 2]);
  });

  it('gradNorm: first maximum wins, fully masked row gives (0, 0)', () => {
    const g = Float32Array.from([3, 4, 0, 5, 3, 4, 9, 9, 9, 9, 1, 1]); // (2,3,2)
    const r = R.gradNorm(g, Int32Array.from([1, 1, 1, 0, 0, 0]), 2, 3, 2);
    expect(Array.from(r.norms)).toEqual([5, 5, 5, 0, 0, 0]);
    expect(Array.from(r.rowmax)).toEqual([5, 0]);
    expect(Array.from(r.argmax)).toEqual([0, 0]);
  });

  it('binary: bias, column and scalar broadcasts by hand; one rounding per element; bad loops', () => {
    const a = Float32Array.of(1, 2, 3, 4, 5, 6); // (2,3)
    // (2,3) + (3): dims [2,3], strides a [3,1], b [0,1]
    expect([...R.binary(0, a, Float32Array.of(10, 20, 30), [2, 3], [3, 1], [0, 1])]).toEqual([11, 22, 33, 14, 25, 36]);
    // (2,3) · (2,1): b strides [1,0]
    expect([...R.binary(2, a, Float32Array.of(2, -1), [2, 3], [3, 1], [1, 0])]).toEqual([2, 4, 6, -4, -5, -6]);
    // scalar − (2,3) and (2,3) ÷ scalar, collapsed to one axis
    expect([...R.binary(1, Float32Array.of(1), a, [6], [0], [1])]).toEqual([0, -1, -2, -3, -4, -5]);
    expect([...R.binary(3, a, Float32Array.of(4), [6], [1], [0])]).toEqual([0.25, 0.5, 0.75, 1, 1.25, 1.5]);
    // rank 0: one element; 1/3 is rounded once to f32
    expect(R.binary(3, Float32Array.of(1), Float32Array.of(3), [], [], [])[0]).toBe(Math.fround(1 / 3));
    expect(() => R.binary(0, a, a, [3, 2], [1, 3], [1, 3])).toThrow(/last loop axis must have stride 0 or 1/);
    expect(() => R.binary(0, a, a, [7], [1], [1])).toThrow(/reads past the end of a/);
    expect(() => R.binary(5 as 0, a, a, [6], [1], [1])).toThrow(/op must be/);
    expect(() => R.binary(0, a, a, [0], [1], [1])).toThrow(/dims\[0\] must be an integer >= 1/);
  });

  it('adam: eps goes after the bias-corrected sqrt(v)', () => {
    const p = Float32Array.from([1]);
    const m = new Float32Array(1);
    const v = new Float32Array(1);
    R.adamStep(p, Float32Array.from([1e-9]), m, v, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step: 1 });
    // m̂ = 1e-9, sqrt(v̂) = 1e-9: the step is lr * 1e-9 / (1e-9 + 1e-8)
    expect(p[0]).toBe(Math.fround(1 - 1e-3 * (1e-9 / 1.1e-8)));
  });
});

// ---- 5. bad inputs --------------------------------------------------------------------------

describe('5. bad inputs throw RangeErrors naming the method', () => {
  const z = (n: number): Float32Array => new Float32Array(n);
  const ad: AttentionDims = { B: 1, H: 1, L: 2, dh: 2, causal: false, scale: 1, dropout: 0, rng: null };

  it('wrong lengths', () => {
    expect(() => R.gemm(z(5), z(6), gemmOpts({ m: 2, n: 3, k: 3 }))).toThrow(/gemm: A must hold 6 values .* but has 5/);
    expect(() => R.gemm(z(6), z(9), gemmOpts({ m: 2, n: 3, k: 3 }), z(5))).toThrow(/gemm: accumulate must hold 6/);
    expect(() => R.attentionForward(z(4), z(3), z(4), Int32Array.from([1, 1]), ad)).toThrow(/attentionForward: k must hold 4 values/);
    expect(() => R.attentionBackward(z(4), z(4), z(4), Int32Array.from([1, 1]), z(4), z(1), z(4), ad)).toThrow(/attentionBackward: lse must hold 2/);
    expect(() => R.gruForward(z(4), z(2), z(12), z(12), z(6), z(5), { B: 1, L: 2, I: 2, H: 2 })).toThrow(/gruForward: bHh must hold 6/);
    expect(() => R.layerNormForward(z(6), z(3), z(2), 2, 3, 1e-5)).toThrow(/layerNormForward: beta must hold 3/);
    expect(() => R.geluBackward(z(3), z(4))).toThrow(/geluBackward: dy must hold 3/);
    expect(() => R.softmaxForward(z(5), 2, 3)).toThrow(/softmaxForward: x must hold 6/);
    expect(() => R.projCeForward(z(4), z(6), Int32Array.from([1, 1]), z(3), 2, 2, 3, -100)).toThrow(/projCeForward: weights must hold 2/);
    expect(() => R.crossEntropyBackward(z(6), Int32Array.from([1, 1]), null, z(2), z(1), 2, 3, -100)).toThrow(/crossEntropyBackward: dLoss must hold 2/);
    expect(() => R.adamStep(z(3), z(3), z(2), z(3), { lr: 1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, decoupled: true, step: 1 })).toThrow(/adamStep: m must hold 3/);
    expect(() => R.scatterAdd(z(5), Int32Array.from([0, 1]), 4, 3)).toThrow(/scatterAdd: dOut must hold 6/);
    expect(() => R.gradNorm(z(8), Int32Array.from([1, 1, 1]), 1, 2, 4)).toThrow(/gradNorm: mask must hold 2/);
    expect(() => R.neighbourMix(z(5), Int32Array.from([0]), z(1), 1, 1, 2, 3)).toThrow(/neighbourMix: table must hold 6/);
    expect(() => R.dirichlet(Int32Array.from([1]), 2, 3, 1, { seed: 1, stream: 0, offset: 0 })).toThrow(/dirichlet: counts must hold 2/);
    expect(() => R.twoHop(Int32Array.from([1, 0, 0]), 2, 1)).toThrow(/twoHop: indices must hold 2/);
    const nd = { B: 1, T: 2, L: 3, H: 2 };
    expect(() => R.narmAttentionForward(z(4), z(5), z(2), Int32Array.from([1, 1, 1]), nd)).toThrow(/narmAttentionForward: k must hold 6 values/);
    expect(() => R.narmAttentionForward(z(4), z(6), z(2), Int32Array.from([1, 2, 1]), nd)).toThrow(/narmAttentionForward: mask\[1\] = 2 must be 0 or 1/);
    expect(() => R.narmAttentionForward(z(8), z(6), z(2), Int32Array.from([1, 1, 1]), { ...nd, T: 4 })).toThrow(/T = 4 query rows exceed L = 3/);
    expect(() => R.narmAttentionBackward(z(4), z(6), z(2), Int32Array.from([1, 1, 1]), z(5), nd)).toThrow(/narmAttentionBackward: dAlpha must hold 6/);
  });

  it('out-of-range ids, targets, counts and parameters', () => {
    expect(() => R.gather(z(6), Int32Array.from([0, 2, 3]), 3, 2)).toThrow(/gather: ids\[2\] = 3 is outside \[0, 3\)/);
    expect(() => R.scatterAdd(z(4), Int32Array.from([-1, 0]), 3, 2)).toThrow(/scatterAdd: ids\[0\] = -1/);
    expect(() => R.projCeForward(z(4), z(6), Int32Array.from([1, 3]), null, 2, 2, 3, -100)).toThrow(/projCeForward: targets\[1\] = 3/);
    expect(() => R.crossEntropyForward(z(6), Int32Array.from([-1, 0]), null, 2, 3, -100)).toThrow(/crossEntropyForward: targets\[0\] = -1/);
    expect(() => R.neighbourMix(z(6), Int32Array.from([-1, -2]), z(2), 1, 2, 2, 3)).toThrow(/neighbourMix: ids\[1\] = -2/);
    expect(() => R.neighbourMixBackward(z(3), Int32Array.from([0, 2]), z(2), 1, 2, 2, 3)).toThrow(/neighbourMixBackward: ids\[1\] = 2/);
    expect(() => R.twoHop(Int32Array.from([1, 2]), 2, 1)).toThrow(/twoHop: indices\[1\] = 2/);
    expect(() => R.cosineTopk(z(6), 3, 2, 3, null)).toThrow(/cosineTopk: k = 3/);
    expect(() => R.cosineTopk(z(6), 3, 2, 1, Int32Array.from([3]))).toThrow(/cosineTopk: queries\[0\] = 3/);
    const key = { seed: 1, stream: 0, offset: 0 };
    expect(() => R.dirichlet(Int32Array.from([2, 0]), 2, 3, 1, key)).toThrow(/dirichlet: counts\[1\] = 0/);
    expect(() => R.dirichlet(Int32Array.from([4]), 1, 3, 1, key)).toThrow(/dirichlet: counts\[0\] = 4/);
    expect(() => R.dirichlet(Int32Array.from([2]), 1, 3, 0, key)).toThrow(/dirichlet: alpha/);
    expect(() => R.attentionForward(z(4), z(4), z(4), Int32Array.from([1, 2]), ad)).toThrow(/attentionForward: keyMask\[1\] = 2/);
    expect(() => R.attentionForward(z(4), z(4), z(4), Int32Array.from([1, 1]), { ...ad, dropout: 0.1 })).toThrow(/needs an rng key/);
    expect(() => R.dropoutForward(z(4), 1, key)).toThrow(/dropoutForward: dropout probability/);
    expect(() => R.uniform(3, { seed: -1, stream: 0, offset: 0 })).toThrow(RangeError);
    expect(() => R.gemm(z(0), z(0), gemmOpts({ m: -1, n: 0, k: 0 }))).toThrow(/gemm: m must be a non-negative integer/);
  });
});
