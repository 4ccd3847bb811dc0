/**
 * scope() and the pool of kernel outputs (src/backend/buffer-pool.ts), on the cpu backend:
 *
 *   1. a scope's outputs are recycled: the next scope gets the same memory back, zeroed
 *   2. a tensor used after its scope throws a clear error; a native kernel given its array throws
 *   3. returned values survive (moving to the enclosing scope), and leaf gradients survive
 *   4. an exception releases nothing; a Promise is refused; setPooling inside a scope is refused
 *   5. the pool keeps only what the last outermost scope released
 *   6. the suite runs with NaN poisoning (vitest.config.ts), so every test that reads a kernel
 *      output made with allocOutput proves the kernel wrote all of it
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allocOutput, poolStats, setPooling } from '../../src/backend/buffer-pool.js';
import { setBackend } from '../../src/backend/index.js';
import { type Tensor, scope, tensor } from '../../src/engine/index.js';
import { Parameter } from '../../src/nn/index.js';

beforeAll(() => { setBackend('cpu'); });
afterEach(() => { setPooling(true); });

const filled = (n: number, v: number): Tensor => tensor(new Float32Array(n).fill(v), [n]);

describe('1. recycling', () => {
  it('the next scope reuses a released output, zero-filled', () => {
    setPooling(false); // start from an empty pool
    setPooling(true);
    const x = filled(1000, 2);
    let first: Float32Array | null = null;
    scope(() => { first = x.gelu().f32(); });
    expect(first!.length).toBe(0); // detached: its memory moved to the pool
    expect(poolStats().arrays).toBe(1);
    expect(poolStats().bytes).toBe(4000);
    const again = scope(() => {
      const y = x.gelu();
      expect(poolStats().arrays).toBe(0); // taken from the pool
      return Array.from(y.f32().subarray(0, 3));
    });
    expect(again).toEqual(Array.from(filled(3, 2).gelu().f32()));
  });

  it('an array taken from the pool starts as zeros (scatterAdd accumulates into its output)', () => {
    const be = setBackend('cpu');
    scope(() => { be.uniform(9, { seed: 1, stream: 0, offset: 0 }); }); // 9 nonzero values go to the pool
    const dOut = new Float32Array([1, 2, 3, 4, 5, 6]), ids = new Int32Array([0, 2]);
    const g = scope(() => {
      const out = be.scatterAdd(dOut, ids, 3, 3);
      expect(poolStats().arrays).toBe(0); // it was the pooled array
      return Array.from(out);
    });
    expect(g).toEqual([1, 2, 3, 0, 0, 0, 4, 5, 6]);
  });
});

describe('2. use after the scope', () => {
  it('reading a tensor made inside a finished scope throws, naming the fix', () => {
    let leaked: Tensor | null = null;
    scope(() => { leaked = filled(16, 1).exp(); });
    expect(() => leaked!.f32()).toThrow(/used after the scope\(\) that made it returned/);
    expect(() => leaked!.add(1)).toThrow(/scope/);
    expect(leaked!.size).toBe(16);
  });

  it('a native kernel given a released array throws a RangeError, it does not read freed memory', () => {
    let raw: Float32Array | null = null;
    scope(() => { raw = filled(16, 1).exp().f32(); });
    const be = setBackend('cpu');
    expect(() => be.geluForward(raw!)).not.toThrow(); // a 0-length input is a valid 0-length call
    expect(() => be.softmaxForward(raw!, 4, 4)).toThrow(RangeError);
  });
});

describe('3. what survives', () => {
  it('the returned tensor, plain arrays and objects of them survive; nested returns move outwards', () => {
    const x = filled(8, 1);
    const r = scope(() => ({ a: x.exp(), b: [x.tanh()] }));
    expect(r.a.f32()[0]).toBeCloseTo(Math.E, 5);
    let inner: Tensor | null = null;
    const outer = scope(() => {
      inner = scope(() => x.sigmoid());
      expect(inner.f32()[0]).toBeCloseTo(1 / (1 + Math.exp(-1)), 6); // alive in the outer scope
      return 0;
    });
    expect(outer).toBe(0);
    expect(() => inner!.f32()).toThrow(/scope/); // released with the outer scope
  });

  it('parameter gradients computed inside survive the scope', () => {
    const p = new Parameter(tensor(new Float32Array([0.5, -1, 2]), [3]));
    scope(() => { p.mul(p).sum().backward(); });
    expect(Array.from(p.grad!.f32())).toEqual([1, -2, 4]);
    scope(() => { p.mul(p).sum().backward(); }); // accumulates into the kept gradient
    expect(Array.from(p.grad!.f32())).toEqual([2, -4, 8]);
  });
});

describe('4. errors', () => {
  it('an exception inside releases nothing', () => {
    let made: Tensor | null = null;
    expect(() => scope(() => { made = filled(4, 0).exp(); throw new Error('boom'); })).toThrow('boom');
    expect(Array.from(made!.f32())).toEqual([1, 1, 1, 1]);
  });

  it('async functions are refused; setPooling inside a scope is refused', () => {
    expect(() => scope(() => Promise.resolve(1))).toThrow(/synchronous/);
    expect(() => scope(() => { setPooling(false); })).toThrow(/not inside a scope/);
    expect(poolStats().openScopes).toBe(0);
  });
});

describe('5. the pool is bounded', () => {
  it('arrays the last outermost scope did not release are dropped', () => {
    scope(() => { filled(300, 1).exp(); filled(300, 1).exp(); });
    expect(poolStats().bytes).toBeGreaterThanOrEqual(2 * 1200);
    scope(() => { filled(500, 1).exp(); });
    // only the 500-value output is left: the two 300-value ones were not reused and were dropped
    expect(poolStats()).toMatchObject({ arrays: 1, bytes: 2000 });
  });

  it('with pooling off, scope only runs its function', () => {
    setPooling(false);
    let t: Tensor | null = null;
    scope(() => { t = filled(4, 0).exp(); });
    expect(Array.from(t!.f32())).toEqual([1, 1, 1, 1]);
    expect(poolStats().arrays).toBe(0);
  });
});

describe('6. poisoning', () => {
  it('is on in this suite: allocOutput arrays start as NaN, inside a scope and outside', () => {
    expect(process.env.SEQFAIR_POOL_POISON).toBe('1');
    expect(Number.isNaN(allocOutput(3)[1])).toBe(true);
    scope(() => { allocOutput(5).fill(1); });
    scope(() => { expect(Array.from(allocOutput(5)).every(Number.isNaN)).toBe(true); }); // recycled, re-poisoned
  });

  it('kernels that use allocOutput write every element at their edge cases', () => {
    const be = setBackend('cpu');
    const noNaN = (a: Float32Array) => expect(a.some(Number.isNaN)).toBe(false);
    // GEMM with k = 0 is all zeros; broadcast binary; dropout p = 0 and p > 0
    const c = be.gemm(new Float32Array(0), new Float32Array(0), { batch: 2, m: 3, n: 4, k: 0, transA: false, transB: false, batchedA: true, batchedB: true });
    expect(Array.from(c)).toEqual(Array(24).fill(0));
    noNaN(be.binary(0, new Float32Array([1, 2, 3]), new Float32Array([10]), [3, 4], [1, 0], [0, 0]));
    const x = new Float32Array(64).fill(0.5);
    noNaN(be.dropoutForward(x, 0, { seed: 1, stream: 2, offset: 0 }));
    noNaN(be.dropoutBackward(x, 0.5, { seed: 1, stream: 2, offset: 0 }));
    // attention with a row whose keys are all padding (output 0), causal, both layouts, dropout
    const B = 2, H = 2, L = 5, dh = 4, n = B * H * L * dh;
    const q = Float32Array.from({ length: n }, (_, i) => Math.sin(i)), k = q.map((v) => v * 0.5), v = q.map((v) => v + 1);
    const keyMask = new Int32Array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
    for (const interleaved of [false, true]) {
      for (const dropout of [0, 0.3]) {
        const d = { B, H, L, dh, causal: true, scale: 0.5, dropout, rng: dropout > 0 ? { seed: 3, stream: 4, offset: 0 } : null, interleaved };
        const f = be.attentionForward(q, k, v, keyMask, d);
        noNaN(f.out);
        const g = be.attentionBackward(q, k, v, keyMask, f.out, f.lse, q, d);
        noNaN(g.dq); noNaN(g.dk); noNaN(g.dv);
      }
    }
    const ln = be.layerNormForward(x, new Float32Array(8).fill(1), new Float32Array(8), 8, 8, 1e-5);
    noNaN(ln.y); noNaN(ln.mean); noNaN(ln.rstd);
    noNaN(be.layerNormBackward(x, new Float32Array(8).fill(1), ln.mean, ln.rstd, x, 8, 8).dx);
    noNaN(be.softmaxBackward(be.softmaxForward(x, 8, 8), x, 8, 8));
    noNaN(be.geluBackward(x, be.geluForward(x)));
    noNaN(be.gather(x, new Int32Array([0, 7, 7]), 8, 8));
  });
});
