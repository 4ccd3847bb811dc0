/**
 * 07. Fused and backend-kernel ops: layerNorm, softmax, dropout, attention, gru, crossEntropy,
 * projectionCrossEntropy, embedding, neighbourMix. Forward values against plain float64 loops
 * written from the math (FORMAT.md 4.x), and finite-difference gradients of every
 * differentiable input. Random ops (dropout, attention dropout) build a fresh Generator at the
 * same seed inside f, so every evaluation of the finite difference sees the same mask.
 */
import { describe, expect, it } from 'vitest';
import {
  Generator, Streams, Tensor, attention, cosineTopk, crossEntropy, dirichlet, dropout, embedding, gradNorm, gru,
  layerNorm, matmul, narmAttention, neighbourMix, twoHop,
  grad, noGrad, projectionCrossEntropy, softmax, sum, transpose,
} from '../../src/engine/index.js';
import type { PresumedGrad } from '../../src/engine/ops/cross_entropy.js';
import { getBackend, setBackend } from '../../src/backend/index.js';
import { type KernelTime, timedBackend } from '../../bench/timed-backend.js';
import { uniformAt } from '../../src/engine/philox.js';
import { expectGradcheck, input } from './gradcheck.js';
import { expectClose, expectExact, intArr, prod, uniformArr } from './util.js';

const f32 = (t: Tensor) => t.f32();
const i32t = (v: number[], shape: number[]) => new Tensor(Int32Array.from(v), shape);
const sigm = (v: number) => 1 / (1 + Math.exp(-v));

// ---------------------------------------------------------------------------------------------
describe('07.1 softmax', () => {
  it('forward: rows sum to 1, matches exp(x − max)/Σ, stable at large logits', () => {
    const xv = uniformArr(15, 1, -3, 3);
    xv[5] = 120; xv[6] = 119; // would overflow exp without the max shift
    const y = f32(softmax(new Tensor(xv, [3, 5])));
    for (let r = 0; r < 3; r++) {
      const row = Array.from(xv.subarray(r * 5, r * 5 + 5));
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      const s = e.reduce((p, q) => p + q, 0);
      expectClose(y.subarray(r * 5, r * 5 + 5), e.map((v) => v / s), { rtol: 1e-6, atol: 1e-7 }, `row ${r}`);
    }
    expect(Array.from(y).every(Number.isFinite)).toBe(true);
  });

  it('gradients on (3,5) and (2,3,4)', () => {
    expectGradcheck('softmax (3,5)', ([x]) => softmax(x!), [input(uniformArr(15, 2, -2, 2), [3, 5])]);
    expectGradcheck('softmax (2,3,4) axis -1', ([x]) => softmax(x!, -1), [input(uniformArr(24, 3, -2, 2), [2, 3, 4])]);
  });
});

// ---------------------------------------------------------------------------------------------
describe('07.2 layerNorm', () => {
  function naiveLN(x: Float32Array, g: Float32Array, b: Float32Array, D: number, eps: number) {
    const y = new Float64Array(x.length);
    for (let r = 0; r < x.length / D; r++) {
      const row = Array.from(x.subarray(r * D, (r + 1) * D));
      const mean = row.reduce((p, q) => p + q, 0) / D;
      const v = row.reduce((p, q) => p + (q - mean) ** 2, 0) / D; // biased
      row.forEach((q, c) => { y[r * D + c] = ((q - mean) / Math.sqrt(v + eps)) * g[c]! + b[c]!; });
    }
    return y;
  }

  it('forward: biased variance over the last dim, eps inside the sqrt, robust to a large offset', () => {
    const D = 5;
    const xv = uniformArr(15, 4, -2, 2), gv = uniformArr(5, 5, 0.5, 1.5), bv = uniformArr(5, 6);
    const y = layerNorm(new Tensor(xv, [3, D]), new Tensor(gv, [D]), new Tensor(bv, [D]));
    expectClose(f32(y), naiveLN(xv, gv, bv, D, 1e-5), { rtol: 1e-5, atol: 1e-5 }, 'layerNorm');
    const y2 = layerNorm(new Tensor(xv, [3, D]), new Tensor(gv, [D]), new Tensor(bv, [D]), 0.5);
    expectClose(f32(y2), naiveLN(xv, gv, bv, D, 0.5), { rtol: 1e-5, atol: 1e-5 }, 'layerNorm eps 0.5');
    // a common offset of 1e4 must not cancel the variance (two-pass)
    const off = Float32Array.from(xv, (v) => v + 1e4);
    expectClose(f32(layerNorm(new Tensor(off, [3, D]), new Tensor(gv, [D]), new Tensor(bv, [D]))),
      naiveLN(off, gv, bv, D, 1e-5), { rtol: 1e-3, atol: 2e-3 }, 'layerNorm + 1e4');
  });

  it('gradients of x, gamma, beta on (3,5) and (2,2,5)', () => {
    for (const xs of [[3, 5], [2, 2, 5]]) {
      expectGradcheck(`layerNorm (${xs})`, ([x, g, b]) => layerNorm(x!, g!, b!),
        [input(uniformArr(prod(xs), 7, -2, 2), xs), input(uniformArr(5, 8, 0.5, 1.5), [5]), input(uniformArr(5, 9), [5])]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('07.3 dropout', () => {
  it('eval mode and p = 0 return the input unchanged', () => {
    const x = new Tensor(uniformArr(10, 10), [10], { requiresGrad: true });
    expect(dropout(x, 0.5, false)).toBe(x);
    expect(dropout(x, 0, true)).toBe(x);
  });

  it('element i is kept iff uniform(key, offset+i) >= p, kept values scaled by 1/(1−p)', () => {
    const n = 4001, p = 0.3;
    const xv = uniformArr(n, 11, 0.5, 1.5);
    const gen = new Generator(42, Streams.dropout);
    gen.take(7); // start at a non-zero offset (8)
    const key = { seed: 42, stream: Streams.dropout, offset: gen.position };
    const y = f32(dropout(new Tensor(xv, [n]), p, true, gen));
    let dropped = 0;
    const want = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const keep = uniformAt(key, key.offset + i) >= p;
      if (!keep) dropped++;
      want[i] = keep ? xv[i]! / (1 - p) : 0;
    }
    expectExact(y, want, 'dropout mask and scale');
    expect(Math.abs(dropped / n - p)).toBeLessThan(0.03);
    expect(gen.position).toBe(8 + Math.ceil(n / 4) * 4);
  });

  it('a fresh generator at the same seed gives the same mask; a used one gives a new mask', () => {
    const x = new Tensor(uniformArr(64, 12, 0.5, 1), [8, 8]);
    const a = f32(dropout(x, 0.5, true, new Generator(3)));
    const b = f32(dropout(x, 0.5, true, new Generator(3)));
    expect(Array.from(a)).toEqual(Array.from(b));
    const g = new Generator(3);
    dropout(x, 0.5, true, g);
    const c = f32(dropout(x, 0.5, true, g));
    expect(Array.from(c)).not.toEqual(Array.from(a));
  });

  it('gradient (fresh same-seed Generator per evaluation)', () => {
    expectGradcheck('dropout p=0.4', ([x]) => dropout(x!, 0.4, true, new Generator(9, Streams.dropout)),
      [input(uniformArr(35, 13), [5, 7])]);
  });
});

// ---------------------------------------------------------------------------------------------
describe('07.4 attention', () => {
  const B = 3, H = 2, L = 5, dh = 3;
  const shape = [B, H, L, dh];
  const n = prod(shape);
  // seq 0 full, seq 1 left-padded by 2, seq 2 fully padded
  const mask = i32t([1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0], [B, L]);
  const qv = uniformArr(n, 20, -1.5, 1.5), kv = uniformArr(n, 21, -1.5, 1.5), vv = uniformArr(n, 22, -1.5, 1.5);

  /** FORMAT.md 4.4 plus the dropout multiplier of backend.ts AttentionDims (float64) */
  function naiveAttention(causal: boolean, p: number, key: { seed: number; stream: number; offset: number } | null) {
    const m = mask.i32();
    const out = new Float64Array(n);
    const scale = 1 / Math.sqrt(dh);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < L; i++) {
          const bh = b * H + h;
          const s: number[] = [];
          for (let j = 0; j < L; j++) {
            const allowed = m[b * L + j] === 1 && (!causal || j <= i);
            let dot = 0;
            for (let c = 0; c < dh; c++) dot += qv[(bh * L + i) * dh + c]! * kv[(bh * L + j) * dh + c]!;
            s.push(allowed ? scale * dot : -Infinity);
          }
          const mx = Math.max(...s);
          if (mx === -Infinity) continue;
          const e = s.map((v) => (v === -Infinity ? 0 : Math.exp(v - mx)));
          const z = e.reduce((a, c) => a + c, 0);
          for (let j = 0; j < L; j++) {
            let w = e[j]! / z;
            if (p > 0) w *= uniformAt(key!, key!.offset + (bh * L + i) * L + j) >= p ? 1 / (1 - p) : 0;
            for (let c = 0; c < dh; c++) out[(bh * L + i) * dh + c] += w * vv[(bh * L + j) * dh + c]!;
          }
        }
    return out;
  }

  const T = (v: Float32Array) => new Tensor(v, shape);

  for (const causal of [false, true]) {
    it(`forward ${causal ? 'causal' : 'bidirectional'}: matches the definition; padded rows are exactly 0`, () => {
      const y = f32(attention(T(qv), T(kv), T(vv), mask, { causal }));
      expectClose(y, naiveAttention(causal, 0, null), { rtol: 1e-5, atol: 1e-6 }, 'attention');
      // the fully padded sequence outputs exactly zero
      expect(Array.from(y.subarray(2 * H * L * dh)).every((v) => v === 0)).toBe(true);
      if (causal) {
        // left padding + causal: query rows 0 and 1 of seq 1 see no key
        for (let h = 0; h < H; h++) {
          const base = ((1 * H + h) * L) * dh;
          expect(Array.from(y.subarray(base, base + 2 * dh)).every((v) => v === 0)).toBe(true);
        }
      }
    });

    it(`forward ${causal ? 'causal' : 'bidirectional'} with dropout: the documented mask layout`, () => {
      const p = 0.3;
      const y = f32(attention(T(qv), T(kv), T(vv), mask, { causal, dropout: p, gen: new Generator(5, Streams.dropout) }));
      const key = { seed: 5, stream: Streams.dropout, offset: 0 };
      expectClose(y, naiveAttention(causal, p, key), { rtol: 1e-5, atol: 1e-6 }, 'attention dropout');
      const noDrop = f32(attention(T(qv), T(kv), T(vv), mask, { causal }));
      expect(Array.from(y)).not.toEqual(Array.from(noDrop));
      // training: false switches dropout off
      const evalY = f32(attention(T(qv), T(kv), T(vv), mask, { causal, dropout: p, training: false }));
      expect(Array.from(evalY)).toEqual(Array.from(noDrop));
    });

    for (const p of [0, 0.3]) {
      it(`gradients of q, k, v: ${causal ? 'causal' : 'bidirectional'}, dropout ${p}, left padding, a fully padded sequence`, () => {
        const f = ([q, k, v]: Tensor[]) => attention(q!, k!, v!, mask, {
          causal, dropout: p, gen: new Generator(11, Streams.dropout),
        });
        const r = expectGradcheck(`attention causal=${causal} p=${p}`, f,
          [input(qv, shape), input(kv, shape), input(vv, shape)]);
        // the fully padded sequence passes no gradient at all
        for (const g of r.analytic) expect(Array.from(g.subarray(2 * H * L * dh)).every((v) => v === 0)).toBe(true);
      });
    }
  }

  it('interleaved heads (B,L,H,dh): the permuted values of (B,H,L,dh), and finite-difference gradients', () => {
    const shapeI = [B, L, H, dh];
    const toI = (t: Tensor) => t.permute([0, 2, 1, 3]);
    for (const causal of [true, false]) {
      const want = f32(toI(attention(T(qv), T(kv), T(vv), mask, { causal })));
      const got = f32(attention(toI(T(qv)), toI(T(kv)), toI(T(vv)), mask, { causal, interleaved: true }));
      expectClose(got, want, { rtol: 0, atol: 0 }, `interleaved causal=${causal}`);
    }
    const qi = f32(toI(T(qv))), ki = f32(toI(T(kv))), vi = f32(toI(T(vv)));
    const f = ([q, k, v]: Tensor[]) => attention(q!, k!, v!, mask, { causal: true, dropout: 0.3, gen: new Generator(11, Streams.dropout), interleaved: true });
    expectGradcheck('attention interleaved', f, [input(qi, shapeI), input(ki, shapeI), input(vi, shapeI)]);
    expect(() => attention(toI(T(qv)), T(kv), T(vv), mask, { causal: true, interleaved: true })).toThrow(/expected three equal \(B,L,H,dh\)/);
  });

  it('custom scale', () => {
    const q1 = new Tensor(qv.subarray(0, 30), [1, 2, 5, 3]);
    const k1 = new Tensor(kv.subarray(0, 30), [1, 2, 5, 3]);
    const v1 = new Tensor(vv.subarray(0, 30), [1, 2, 5, 3]);
    const m1 = i32t([1, 1, 1, 1, 1], [1, 5]);
    // scale s on q·k equals the default scale applied to q·(s·√dh)
    const a = f32(attention(q1, k1, v1, m1, { causal: false, scale: 0.9 }));
    const b = f32(attention(q1.mul(0.9 * Math.sqrt(3)), k1, v1, m1, { causal: false }));
    expectClose(a, b, { rtol: 1e-5, atol: 1e-6 });
    expectGradcheck('attention scale 0.9', ([q, k, v]) => attention(q!, k!, v!, m1, { causal: true, scale: 0.9 }),
      [input(q1.f32(), [1, 2, 5, 3]), input(k1.f32(), [1, 2, 5, 3]), input(v1.f32(), [1, 2, 5, 3])]);
  });
});

// ---------------------------------------------------------------------------------------------
describe('07.5 gru', () => {
  const B = 2, L = 4, I = 3, H = 3;
  const xv = uniformArr(B * L * I, 30), h0v = uniformArr(B * H, 31, -0.5, 0.5);
  const wi = uniformArr(3 * H * I, 32, -0.7, 0.7), wh = uniformArr(3 * H * H, 33, -0.7, 0.7);
  const bi = uniformArr(3 * H, 34, -0.3, 0.3), bh = uniformArr(3 * H, 35, -0.3, 0.3);

  it('forward is torch.nn.GRU(batch_first=True): gates r, z, n; r multiplies W_hn h + b_hn', () => {
    const y = f32(gru(new Tensor(xv, [B, L, I]), new Tensor(h0v, [B, H]), new Tensor(wi, [3 * H, I]),
      new Tensor(wh, [3 * H, H]), new Tensor(bi, [3 * H]), new Tensor(bh, [3 * H])));
    const want = new Float64Array(B * L * H);
    for (let b = 0; b < B; b++) {
      let h = Array.from(h0v.subarray(b * H, (b + 1) * H));
      for (let t = 0; t < L; t++) {
        const x = xv.subarray((b * L + t) * I, (b * L + t + 1) * I);
        const gi = (g: number) => bi[g]! + Array.from(x).reduce((s, xc, c) => s + wi[g * I + c]! * xc, 0);
        const gh = (g: number) => bh[g]! + h.reduce((s, hc, c) => s + wh[g * H + c]! * hc, 0);
        const next = h.map((hu, u) => {
          const r = sigm(gi(u) + gh(u));
          const z = sigm(gi(H + u) + gh(H + u));
          const nn = Math.tanh(gi(2 * H + u) + r * gh(2 * H + u));
          return (1 - z) * nn + z * hu;
        });
        next.forEach((v, u) => { want[(b * L + t) * H + u] = v; });
        h = next;
      }
    }
    expectClose(y, want, { rtol: 1e-5, atol: 1e-6 }, 'gru');
  });

  it('gradients of x, h0, weight_ih, weight_hh, bias_ih, bias_hh', () => {
    expectGradcheck('gru', ([x, h0, a, b, c, d]) => gru(x!, h0!, a!, b!, c!, d!), [
      input(xv, [B, L, I]), input(h0v, [B, H]), input(wi, [3 * H, I]), input(wh, [3 * H, H]),
      input(bi, [3 * H]), input(bh, [3 * H]),
    ]);
  });

  it('gradient of h_n alone (the last step, sliced) reaches every step', () => {
    expectGradcheck('gru h_n', ([x, h0]) => gru(x!, h0!, new Tensor(wi, [3 * H, I]), new Tensor(wh, [3 * H, H]),
      new Tensor(bi, [3 * H]), new Tensor(bh, [3 * H])).slice(1, L - 1, L), [input(xv, [B, L, I]), input(h0v, [B, H])]);
  });
});

// ---------------------------------------------------------------------------------------------
describe('07.6 crossEntropy', () => {
  const N = 6, C = 5;
  const lv = uniformArr(N * C, 40, -2, 2);
  const targets = i32t([2, -100, 0, 4, 4, 1], [N]);
  const weights = new Tensor(Float32Array.of(1, 2, 0.5, 1.5, 0, 1), [N]);

  function naiveCE(logits: Float32Array, t: Int32Array, w: Float32Array | null, ignore: number) {
    return Array.from(t, (tn, r) => {
      if (tn === ignore) return 0;
      const row = Array.from(logits.subarray(r * C, (r + 1) * C));
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
      return (w ? w[r]! : 1) * (lse - row[tn]!);
    });
  }

  it('forward: per-row losses, weights multiply, ignored rows exactly 0, stable at logits ~100', () => {
    const x = new Tensor(lv, [N, C]);
    const l = crossEntropy(x, targets);
    expect(l.shape).toEqual([N]);
    expectClose(f32(l), naiveCE(lv, targets.i32(), null, -100), { rtol: 1e-5, atol: 1e-6 });
    expect(f32(l)[1]).toBe(0);
    const lw = crossEntropy(x, targets, { weights });
    expectClose(f32(lw), naiveCE(lv, targets.i32(), weights.f32(), -100), { rtol: 1e-5, atol: 1e-6 });
    const big = Float32Array.from(lv, (v) => v + 100);
    expectClose(f32(crossEntropy(new Tensor(big, [N, C]), targets)), naiveCE(big, targets.i32(), null, -100),
      { rtol: 1e-4, atol: 1e-4 }, 'logits + 100');
    // a custom ignore index inside the class range
    const t3 = i32t([3, 3, 0, 1, 2, 4], [N]);
    expectClose(f32(crossEntropy(x, t3, { ignoreIndex: 3 })), naiveCE(lv, t3.i32(), null, 3), { rtol: 1e-5, atol: 1e-6 });
  });

  it('gradient of the logits (unweighted, weighted, custom ignore index)', () => {
    expectGradcheck('crossEntropy', ([x]) => crossEntropy(x!, targets), [input(lv, [N, C])]);
    const r = expectGradcheck('crossEntropy weighted', ([x]) => crossEntropy(x!, targets, { weights }), [input(lv, [N, C])]);
    // ignored row (1) and zero-weight row (4) pass no gradient
    expect(Array.from(r.analytic[0]!.subarray(1 * C, 2 * C)).every((v) => v === 0)).toBe(true);
    expect(Array.from(r.analytic[0]!.subarray(4 * C, 5 * C)).every((v) => v === 0)).toBe(true);
    expectGradcheck('crossEntropy ignoreIndex 3', ([x]) => crossEntropy(x!, i32t([3, 3, 0, 1, 2, 4], [N]), { ignoreIndex: 3 }),
      [input(lv, [N, C])]);
  });
});

// ---------------------------------------------------------------------------------------------
describe('07.7 projectionCrossEntropy', () => {
  const N = 5, D = 4, V = 7;
  const hv = uniformArr(N * D, 50), tv = uniformArr(V * D, 51);
  const targets = i32t([3, 0, 6, 3, 1], [N]); // row 1: padding id 0, ignored by default
  const weights = new Tensor(Float32Array.of(1, 3, 0.5, 2, 1.25), [N]);

  it('forward equals crossEntropy(hidden · tableᵀ) with ignore index 0', () => {
    const h = new Tensor(hv, [N, D]), t = new Tensor(tv, [V, D]);
    const logits = matmul(h, transpose(t));
    for (const w of [null, weights]) {
      const got = f32(projectionCrossEntropy(h, t, targets, { weights: w }));
      const want = f32(crossEntropy(logits, targets, { weights: w, ignoreIndex: 0 }));
      expectClose(got, want, { rtol: 1e-5, atol: 1e-6 });
      expect(got[1]).toBe(0);
    }
    // with a different ignore index, the padding row becomes a real target
    const got = f32(projectionCrossEntropy(h, t, targets, { ignoreIndex: -1 }));
    expectClose(got, f32(crossEntropy(logits, targets, { ignoreIndex: -1 })), { rtol: 1e-5, atol: 1e-6 });
    expect(got[1]).toBeGreaterThan(0);
  });

  it('gradients of hidden and table (weights, ignored rows, a repeated target)', () => {
    expectGradcheck('projectionCrossEntropy', ([h, t]) => projectionCrossEntropy(h!, t!, targets),
      [input(hv, [N, D]), input(tv, [V, D])]);
    expectGradcheck('projectionCrossEntropy weighted', ([h, t]) => projectionCrossEntropy(h!, t!, targets, { weights }),
      [input(hv, [N, D]), input(tv, [V, D])]);
    expectGradcheck('projectionCrossEntropy hidden only', ([h, t]) => projectionCrossEntropy(h!, t!, targets, { weights }),
      [input(hv, [N, D]), input(tv, [V, D], false)]);
    expectGradcheck('projectionCrossEntropy table only', ([h, t]) => projectionCrossEntropy(h!, t!, targets),
      [input(hv, [N, D], false), input(tv, [V, D])]);
  });

  it('matches the composed version in its gradients too', () => {
    const h1 = new Tensor(hv, [N, D], { requiresGrad: true }), t1 = new Tensor(tv, [V, D], { requiresGrad: true });
    sum(projectionCrossEntropy(h1, t1, targets, { weights })).backward();
    const h2 = new Tensor(hv, [N, D], { requiresGrad: true }), t2 = new Tensor(tv, [V, D], { requiresGrad: true });
    sum(crossEntropy(matmul(h2, transpose(t2)), targets, { weights, ignoreIndex: 0 })).backward();
    expectClose(h1.grad!.f32(), h2.grad!.f32(), { rtol: 1e-5, atol: 1e-6 }, 'dHidden');
    expectClose(t1.grad!.f32(), t2.grad!.f32(), { rtol: 1e-5, atol: 1e-6 }, 'dTable');
  });

  /** the backend's projCe calls made by fn (bench/timed-backend.ts keys: "… (dHidden only)") */
  function countingCalls<T>(fn: () => T): { value: T; calls: Record<string, number> } {
    const be = getBackend();
    const times = new Map<string, KernelTime>();
    setBackend(timedBackend(be, times));
    try {
      const value = fn();
      return { value, calls: Object.fromEntries([...times.values()].filter((t) => t.kernel.startsWith('projCe')).map((t) => [t.kernel, t.calls])) };
    } finally {
      setBackend(be);
    }
  }

  /** dHidden and dTable of reduce(loss), with or without the hint */
  function gradsOf(reduce: (loss: Tensor) => Tensor, presumedGrad?: PresumedGrad, tableGrad = true) {
    const h = new Tensor(hv, [N, D], { requiresGrad: true }), t = new Tensor(tv, [V, D], { requiresGrad: tableGrad });
    reduce(projectionCrossEntropy(h, t, targets, { weights, presumedGrad })).backward();
    return { dHidden: h.grad!.f32(), dTable: tableGrad ? t.grad!.f32() : null };
  }

  it('presumedGrad: the forward computes the gradients, used when the upstream matches; the same bits either way', () => {
    const both = { hidden: true, table: true };
    const mean = (l: Tensor) => sum(l).div(4);
    for (const [what, reduce, value, hit] of [
      ['sum, presumed 1', sum, 1, true],
      ['mean over 4, presumed 1/4 (rounded to f32 as the tape rounds)', mean, 1 / 4, true],
      ['mean over 3, presumed 1/3', (l: Tensor) => sum(l).div(3), 1 / 3, true],
      ['sum, presumed 0.5: a wrong hint', sum, 0.5, false],
      ['weighted sum: no uniform upstream', (l: Tensor) => sum(l.mul(new Tensor(Float32Array.of(1, 1, 2, 1, 1), [N]))), 1, false],
    ] as const) {
      const want = gradsOf(reduce);
      const { value: got, calls } = countingCalls(() => gradsOf(reduce, { value, ...both }));
      expect(calls, what).toEqual(hit ? { projCeForwardBackward: 1 } : { projCeForwardBackward: 1, projCeBackward: 1 });
      expectExact(got.dHidden, want.dHidden, `${what}: dHidden`);
      expectExact(got.dTable!, want.dTable!, `${what}: dTable`);
    }
    // a hint for dHidden only while the tape asks for both: recomputed
    const want = gradsOf(sum);
    const { value: got, calls } = countingCalls(() => gradsOf(sum, { value: 1, hidden: true, table: false }));
    expect(calls).toEqual({ 'projCeForwardBackward (dHidden only)': 1, projCeBackward: 1 });
    expectExact(got.dTable!, want.dTable!, 'table asked for, not presumed');
    // the table needs no gradient: the hint's table part is dropped, dHidden still from the forward
    const noTable = countingCalls(() => gradsOf(sum, { value: 1, ...both }, false));
    expect(noTable.calls).toEqual({ 'projCeForwardBackward (dHidden only)': 1 });
    expectExact(noTable.value.dHidden, want.dHidden, 'dHidden, table constant');
  });

  it('presumedGrad: grad() for hidden only (A-FSR first pass); a second backward recomputes; noGrad skips it', () => {
    const h = new Tensor(hv, [N, D], { requiresGrad: true }), t = new Tensor(tv, [V, D], { requiresGrad: true });
    const { value, calls } = countingCalls(() => {
      const loss = projectionCrossEntropy(h, t, targets, { weights, presumedGrad: { value: 1, hidden: true, table: false } });
      const g1 = grad(sum(loss), [h])[0]!.f32();
      const g2 = grad(sum(loss), [h])[0]!.f32();
      return { g1, g2 };
    });
    expect(calls).toEqual({ 'projCeForwardBackward (dHidden only)': 1, 'projCeBackward (dHidden only)': 1 });
    expectExact(value.g1, value.g2, 'first pass vs recomputed');
    expectExact(value.g1, gradsOf(sum).dHidden, 'vs backward()');
    const ng = countingCalls(() => noGrad(() => projectionCrossEntropy(h, t, targets, { presumedGrad: { value: 1, hidden: true, table: true } })));
    expect(ng.calls).toEqual({ projCeForward: 1 });
    expect(() => projectionCrossEntropy(h, t, targets, { presumedGrad: { value: NaN, hidden: true, table: true } })).toThrow(/presumedGrad.value must be finite/);
  });
});

// ---------------------------------------------------------------------------------------------
describe('07.8 embedding', () => {
  const V = 6, D = 3;
  const tv = uniformArr(V * D, 60);
  const ids = i32t([1, 4, 4, 0, 5, 1, 1, 2], [2, 4]); // repeated ids

  it('forward gathers rows: (2,4) ids → (2,4,D)', () => {
    const y = embedding(new Tensor(tv, [V, D]), ids);
    expect(y.shape).toEqual([2, 4, D]);
    const want: number[] = [];
    for (const id of ids.i32()) want.push(...tv.subarray(id * D, (id + 1) * D));
    expect(y.toArray()).toEqual(want);
    expect(embedding(new Tensor(tv, [V, D]), i32t([], [0])).shape).toEqual([0, D]);
  });

  it('gradient of the table with repeated ids (scatter-add)', () => {
    expectGradcheck('embedding', ([t]) => embedding(t!, ids), [input(tv, [V, D])]);
    expectGradcheck('embedding twice, shared table', ([t]) => embedding(t!, ids).mul(embedding(t!, i32t([0, 0, 2, 3, 5, 5, 1, 4], [2, 4]))),
      [input(tv, [V, D])]);
  });
});

// ---------------------------------------------------------------------------------------------
describe('07.9 neighbourMix', () => {
  const V = 6, D = 3, R = 4, K = 3;
  const tv = uniformArr(V * D, 70);
  const ids = i32t([1, 4, -1, 0, 0, 5, -1, -1, -1, 2, 3, 2], [R, K]); // -1 = no neighbour; a fully empty row
  const w = new Tensor(uniformArr(R * K, 71, 0, 1), [R, K]);

  it('forward: Σ_j w·table[id] over ids ≥ 0 (an all −1 row gives 0)', () => {
    const y = f32(neighbourMix(new Tensor(tv, [V, D]), ids, w));
    const want = new Float64Array(R * D);
    const iv = ids.i32(), wv = w.f32();
    for (let r = 0; r < R; r++)
      for (let j = 0; j < K; j++) {
        const id = iv[r * K + j]!;
        if (id < 0) continue;
        for (let c = 0; c < D; c++) want[r * D + c] += wv[r * K + j]! * tv[id * D + c]!;
      }
    expectClose(y, want, { rtol: 1e-6, atol: 1e-7 });
    expect(Array.from(y.subarray(2 * D, 3 * D))).toEqual([0, 0, 0]);
  });

  it('gradient of the table (with −1 entries and repeated ids)', () => {
    expectGradcheck('neighbourMix', ([t]) => neighbourMix(t!, ids, w), [input(tv, [V, D])]);
  });

  it('random ids at a larger size', () => {
    const ids2 = new Tensor(intArr(5 * 4, 72, -1, V), [5, 4]);
    expectGradcheck('neighbourMix random', ([t]) => neighbourMix(t!, ids2, new Tensor(uniformArr(20, 73), [5, 4])),
      [input(tv, [V, D])]);
  });
});

// ---------------------------------------------------------------------------------------------
describe('07.11 narmAttention', () => {
  const B = 2, L = 4, H = 3;
  const kv = uniformArr(B * L * H, 80, -2, 2), wv = uniformArr(H, 81);
  const mask = i32t([0, 1, 1, 1, 1, 1, 1, 1], [B, L]); // row 0 left-padded

  it('forward: α[b,t,j] = m_j [j ≤ L−T+t] Σ_d w_d σ(q_td + k_jd), for T = L and T = 1', () => {
    for (const T of [L, 1]) {
      const qv = uniformArr(B * T * H, 82 + T, -2, 2);
      const y = f32(narmAttention(new Tensor(qv, [B, T, H]), new Tensor(kv, [B, L, H]), new Tensor(wv, [1, H]), mask));
      const want = new Float64Array(B * T * L);
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++)
          for (let j = 0; j <= L - T + t; j++) {
            if (mask.i32()[b * L + j] === 0) continue;
            for (let d = 0; d < H; d++) want[(b * T + t) * L + j] += wv[d]! * sigm(qv[(b * T + t) * H + d]! + kv[(b * L + j) * H + d]!);
          }
      expectClose(y, want, { rtol: 1e-5, atol: 1e-6 }, `narmAttention T=${T}`);
    }
  });

  it('gradients of q, k and w (every prefix, and the last position only)', () => {
    for (const T of [L, 1]) {
      expectGradcheck(`narmAttention T=${T}`, ([q, k, w]) => narmAttention(q!, k!, w!, mask), [
        input(uniformArr(B * T * H, 84 + T, -2, 2), [B, T, H]), input(kv, [B, L, H]), input(wv, [1, H]),
      ]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('07.10 A-FSR kernels (not differentiable): gradNorm, cosineTopk, twoHop, dirichlet', () => {
  it('gradNorm: masked L2 norms per position, row max and first arg-max (0 for a fully masked row)', () => {
    const B = 3, L = 4, D = 2;
    const g = new Tensor(Float32Array.of(3, 4, 1, 0, 0, 5, 5, 0, /**/ 1, 1, 2, 2, 9, 9, 0, 0, /**/ 7, 7, 7, 7, 7, 7, 7, 7), [B, L, D]);
    const mask = i32t([1, 1, 1, 1, /**/ 1, 1, 0, 1, /**/ 0, 0, 0, 0], [B, L]);
    const r = gradNorm(g, mask);
    expectClose(r.norms.f32(), [5, 1, 5, 5, Math.SQRT2, 2 * Math.SQRT2, 0, 0, 0, 0, 0, 0], { rtol: 1e-6, atol: 0 });
    expectClose(r.rowmax.f32(), [5, 2 * Math.SQRT2, 0], { rtol: 1e-6, atol: 0 });
    expect(r.argmax.toArray()).toEqual([0, 1, 0]); // ties to the first; masked 9,9 ignored
  });

  it('cosineTopk: top-k by cosine, self excluded, ties to the smaller index; queries subset', () => {
    const x = new Tensor(Float32Array.of(1, 0, /**/ 2, 0, /**/ 0, 1, /**/ 1, 1, /**/ -1, 0), [5, 2]);
    const r = cosineTopk(x, 2);
    expect(r.indices.shape).toEqual([5, 2]);
    // row 0: sim 1 (row 1), 0.707 (row 3), 0 (row 2), -1 (row 4)
    expect(Array.from(r.indices.i32().subarray(0, 2))).toEqual([1, 3]);
    expectClose(r.similarities.f32().subarray(0, 2), [1, Math.SQRT1_2], { rtol: 1e-6, atol: 1e-7 });
    // row 2 ((0,1)): row 3 (0.707), then rows 0, 1 and 4 all at 0 -> smaller index 0
    expect(Array.from(r.indices.i32().subarray(4, 6))).toEqual([3, 0]);
    const q = cosineTopk(x, 1, i32t([4, 0], [2]));
    expect(q.indices.toArray()).toEqual([2, 1]);
  });

  it('twoHop: sorted union of neighbours and their neighbours, self excluded, −1 padded', () => {
    const idx = i32t([1, 2, /**/ 0, 3, /**/ 3, 0, /**/ 2, 1], [4, 2]);
    const r = twoHop(idx);
    expect(r.twoHop.shape).toEqual([4, 6]);
    expect(r.twoHop.toArray().slice(0, 6)).toEqual([1, 2, 3, -1, -1, -1]);
    expect(r.count.toArray()).toEqual([3, 3, 3, 3]);
  });

  it('dirichlet: rows on the simplex over their active width, reproducible from the seed', () => {
    const counts = i32t([1, 3, 5, 2], [4]);
    const a = dirichlet(counts, 5, 0.7, new Generator(4, Streams.dirichlet));
    const b = dirichlet(counts, 5, 0.7, new Generator(4, Streams.dirichlet));
    expect(a.toArray()).toEqual(b.toArray());
    const v = a.f32();
    counts.i32().forEach((c, r) => {
      const row = Array.from(v.subarray(r * 5, r * 5 + 5));
      expect(row.slice(c).every((w) => w === 0)).toBe(true);
      expect(row.slice(0, c).every((w) => w > 0)).toBe(true);
      expect(row.reduce((s, w) => s + w, 0)).toBeCloseTo(1, 5);
    });
    expect(v[0]).toBe(1);
    expect(dirichlet(counts, 5, 0.7, new Generator(5, Streams.dirichlet)).toArray()).not.toEqual(a.toArray());
  });
});
