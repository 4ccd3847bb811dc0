/**
 * Every kernel of the cuda backend against the reference backend (the oracle), in the style of the
 * CPU parity suites (test/backend/native-*.test.ts): odd sizes (1, 7, 33, 257 where affordable),
 * the same tolerances, exact equality where the math is exact (random streams, dropout masks,
 * Dirichlet draws, gathers, top-k indices, two-hop sets, arg-max), and bad-input handling.
 *
 * Defined once, run twice: test/gpu/parity.test.ts on a real GPU, test/cuda/emulated.test.ts on
 * the CPU emulation of the same kernel sources (`small` trims the sizes: the emulator runs every
 * GPU thread as a fiber). Tolerances, all as in the CPU suites:
 *   - GEMM: 2e-5·Σ|a||b| + 1e-6 (f32 sums vs the reference's f64);
 *   - forward values 1e-4 relative with an atol scaled by the tensor (expectNear);
 *   - gradients summed over many rows 1e-4 against |expected| + 1e-2·1e-4·max (expectGrad);
 *   - row-wise ops accumulated in double (LayerNorm, softmax, GELU, Adam): 1e-5 / 1e-6.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { ADD, type AttentionDims, type Backend, type BinaryOp, DIV, type GemmOptions, MUL, type RngKey, SUB } from '../../../src/backend/backend.js';
import { broadcastShapes, collapse } from '../../../src/engine/shape.js';
import type { CudaAddon, CudaDevice } from '../../../src/backend/cuda.js';
import { referenceBackend as ref } from '../../../src/backend/reference.js';
import {
  expectBitEqual, expectClose, expectGrad, expectNear, expectThrows, maxAbs, randInt, randn, rng,
} from './helpers.js';

export interface ParityTarget {
  /** label used in test names */
  label: string;
  backend: () => Backend & { device: CudaDevice };
  addon: () => CudaAddon;
  /** the cpu backend when its addon loads (some CUDA kernels sum in the CPU's order: same bits) */
  cpu: () => Backend | null;
  /** smaller shapes (emulator) */
  small: boolean;
}

/** runs fn with some environment variables set (the addon reads its tuning hooks per call) */
function withEnv<T>(vars: Record<string, string>, fn: () => T): T {
  const old: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) { old[k] = process.env[k]; process.env[k] = v; }
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(old)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  }
}

type MaskKind = 'full' | 'left' | 'holes' | 'right+empty';

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

function attnDims(B: number, H: number, L: number, dh: number, causal: boolean, dropout = 0,
  key: RngKey | null = null): AttentionDims {
  return { B, H, L, dh, causal, scale: 1 / Math.sqrt(Math.max(dh, 1)), dropout, rng: key };
}

function makeTargets(N: number, V: number, seed: number, ignoreIndex: number, ignoredEvery = 5): Int32Array {
  const t = randInt(N, 0, V, seed);
  for (let n = 0; n < N; n++) if (n % ignoredEvery === 2) t[n] = ignoreIndex;
  return t;
}

export function defineParitySuite(t: ParityTarget): void {
  const small = t.small;
  // the kernels run synchronously; give vitest's worker RPC a macrotask between tests
  afterEach(() => new Promise<void>((r) => setImmediate(r)));
  const cu = (): Backend => t.backend();

  describe(`${t.label}: 1. gemm`, () => {
    function check(o: GemmOptions, acc: boolean, seed: number): void {
      const a = randn((o.batchedA ? o.batch : 1) * o.m * o.k, seed);
      const b = randn((o.batchedB ? o.batch : 1) * o.k * o.n, seed + 1);
      const c0 = acc ? randn(o.batch * o.m * o.n, seed + 2) : undefined;
      const got = cu().gemm(a, b, o, c0 ? Float32Array.from(c0) : undefined);
      const want = ref.gemm(a, b, o, c0 ? Float32Array.from(c0) : undefined);
      const scale = ref.gemm(a.map(Math.abs), b.map(Math.abs), o, c0 ? c0.map(Math.abs) : undefined);
      expectClose(got, want, 2e-5, 1e-6, `gemm ${JSON.stringify(o)} acc=${acc}`, scale);
    }
    const flags: Omit<GemmOptions, 'batch' | 'm' | 'n' | 'k'>[] = [];
    for (const transA of [false, true])
      for (const transB of [false, true])
        for (const batchedA of [false, true])
          for (const batchedB of [false, true]) flags.push({ transA, transB, batchedA, batchedB });

    it('1.1 every transpose / broadcast / accumulate combination', () => {
      let seed = 100;
      for (const f of flags)
        for (const acc of [false, true]) {
          check({ batch: 3, m: 7, n: 33, k: 17, ...f }, acc, seed++);
          if (!small) check({ batch: 2, m: 65, n: 7, k: 9, ...f }, acc, seed++);
        }
    });

    it('1.2 odd sizes (tails of every 64×64×16 tile)', () => {
      const sizes = small ? [1, 7, 33, 65] : [1, 7, 33, 257];
      let seed = 1000;
      for (const m of sizes)
        for (const n of sizes)
          for (const k of sizes) {
            if (small && m * n * k > 33 * 65 * 65) continue;
            check({ batch: 1, m, n, k, transA: (m + k) % 2 === 0, transB: (n + k) % 2 === 1, batchedA: true, batchedB: true }, false, seed++);
          }
    });

    it('1.3 split-k (small output, long k: weight gradients), with accumulate and broadcast', () => {
      let seed = 2000;
      for (const acc of [false, true]) {
        check({ batch: 1, m: 7, n: 9, k: 3001, transA: true, transB: false, batchedA: true, batchedB: true }, acc, seed++);
        check({ batch: 2, m: 33, n: 5, k: 1100, transA: false, transB: true, batchedA: true, batchedB: false }, acc, seed++);
      }
    });

    it('1.4 k = 0 (zeros, or c unchanged when accumulating) and empty outputs', () => {
      const o: GemmOptions = { batch: 2, m: 3, n: 4, k: 0, transA: false, transB: false, batchedA: true, batchedB: true };
      expect([...cu().gemm(new Float32Array(0), new Float32Array(0), o)]).toEqual(new Array(24).fill(0));
      const c0 = randn(24, 5);
      expectBitEqual(cu().gemm(new Float32Array(0), new Float32Array(0), o, Float32Array.from(c0)), c0, 'k=0 accumulate');
      expect(cu().gemm(new Float32Array(0), randn(24, 1), { ...o, m: 0, k: 3 })).toHaveLength(0);
    });
  });

  describe(`${t.label}: 2. random streams (bit-identical to the reference and cpu backends)`, () => {
    const keys: RngKey[] = [
      { seed: 0, stream: 0, offset: 0 }, { seed: 42, stream: 3, offset: 1 }, { seed: 2 ** 40 + 7, stream: 2 ** 31 + 5, offset: 2 ** 33 + 3 },
    ];
    it('2.1 uniform and normal, offsets not a multiple of 4', () => {
      for (const key of keys)
        for (const n of [1, 7, 33, small ? 300 : 100_000]) {
          expectBitEqual(cu().uniform(n, key), ref.uniform(n, key), `uniform n=${n} ${JSON.stringify(key)}`);
          expectBitEqual(cu().normal(n, key), ref.normal(n, key), `normal n=${n} ${JSON.stringify(key)}`);
        }
    });

    it('2.2 dropout masks and values, forward and backward', () => {
      let seed = 1;
      for (const key of keys)
        for (const p of [0, 0.1, 0.5, 0.9])
          for (const n of [1, 7, 257]) {
            const x = randn(n, seed++);
            expectBitEqual(cu().dropoutForward(x, p, key), ref.dropoutForward(x, p, key), `dropout p=${p} n=${n}`);
            expectBitEqual(cu().dropoutBackward(x, p, key), ref.dropoutBackward(x, p, key), `dropout bwd p=${p} n=${n}`);
          }
    });

    it('2.3 Dirichlet draws (alpha < 1, = 1, > 1; varying active counts)', () => {
      let seed = 7;
      for (const alpha of [0.05, 0.3, 1, 2.5])
        for (const [rows, K] of [[1, 1], [7, 5], [33, 12]] as const) {
          const counts = randInt(rows, 1, K + 1, seed++);
          const key: RngKey = { seed: 11 + seed, stream: 4, offset: seed * 3 };
          const got = cu().dirichlet(counts, rows, K, alpha, key);
          expectBitEqual(got, ref.dirichlet(counts, rows, K, alpha, key), `dirichlet alpha=${alpha} ${rows}x${K}`);
          const c = t.cpu();
          if (c) expectBitEqual(got, c.dirichlet(counts, rows, K, alpha, key), `dirichlet vs cpu alpha=${alpha}`);
        }
    });
  });

  describe(`${t.label}: 3. row-wise kernels and Adam`, () => {
    it('3.1 LayerNorm forward/backward, including rows like 1000 + N(0,1)', () => {
      let seed = 300;
      for (const rows of [1, 7, 33])
        for (const D of [1, 7, 33, 257])
          for (const offset of [0, 1000]) {
            const x = randn(rows * D, seed++, 1, offset), g = randn(D, seed++), b = randn(D, seed++), dy = randn(rows * D, seed++);
            const got = cu().layerNormForward(x, g, b, rows, D, 1e-5);
            const want = ref.layerNormForward(x, g, b, rows, D, 1e-5);
            const label = `layerNorm rows=${rows} D=${D} offset=${offset}`;
            expectClose(got.y, want.y, 1e-5, 1e-5, `${label} y`);
            expectClose(got.mean, want.mean, 1e-6, 1e-6, `${label} mean`);
            expectClose(got.rstd, want.rstd, 1e-5, 1e-6, `${label} rstd`);
            const gb = cu().layerNormBackward(x, g, want.mean, want.rstd, dy, rows, D);
            const wb = ref.layerNormBackward(x, g, want.mean, want.rstd, dy, rows, D);
            expectClose(gb.dx, wb.dx, 1e-4, 1e-4, `${label} dx`);
            expectClose(gb.dGamma, wb.dGamma, 1e-5, 1e-5, `${label} dGamma`);
            expectClose(gb.dBeta, wb.dBeta, 1e-5, 1e-5, `${label} dBeta`);
          }
      // many rows: several parameter-gradient chunks
      const rows = small ? 100 : 5000, D = 9;
      const x = randn(rows * D, 1), g = randn(D, 2), dy = randn(rows * D, 3);
      const f = ref.layerNormForward(x, g, randn(D, 4), rows, D, 1e-5);
      const gb = cu().layerNormBackward(x, g, f.mean, f.rstd, dy, rows, D);
      const wb = ref.layerNormBackward(x, g, f.mean, f.rstd, dy, rows, D);
      expectClose(gb.dGamma, wb.dGamma, 1e-5, 1e-4, 'layerNorm many rows dGamma');
      expectClose(gb.dBeta, wb.dBeta, 1e-5, 1e-4, 'layerNorm many rows dBeta');
    });

    it('3.2 GELU forward/backward (tails included)', () => {
      const x = Float32Array.from([...randn(1000, 1, 6), -40, -12, -5.5, 0, 5.5, 12, 40]);
      const dy = randn(x.length, 2);
      expectClose(cu().geluForward(x), ref.geluForward(x), 1e-5, 1e-6, 'gelu');
      expectClose(cu().geluBackward(x, dy), ref.geluBackward(x, dy), 1e-5, 1e-6, 'gelu backward');
    });

    it('3.2b broadcast binary ops: the same bits as the reference for every op and broadcast pattern', () => {
      const pairs: [number[], number[]][] = [
        [[1000], [1000]], [[7, 33], []], [[33], [7, 33]], [[16, 9, 8], [16, 9, 1]], [[5, 1, 3, 1], [1, 4, 1, 6]], [[1], [1]],
      ];
      for (const [sa, sb] of pairs) {
        const out = broadcastShapes(sa, sb, 'test');
        const a = randn(sa.reduce((x, y) => x * y, 1), 7, 10), b = randn(sb.reduce((x, y) => x * y, 1), 8, 10);
        a[0] = -0;
        const { dims, strides: [stA, stB] } = collapse(out, [sa, sb]);
        for (const op of [ADD, SUB, MUL, DIV] as BinaryOp[]) {
          expectBitEqual(cu().binary(op, a, b, dims, stA!, stB!), ref.binary(op, a, b, dims, stA!, stB!), `binary ${op} (${sa}) (${sb})`);
        }
      }
    });

    it('3.3 softmax forward/backward, with -inf entries and wide rows; a fully -inf row is zeros', () => {
      let seed = 40;
      for (const [rows, C] of [[1, 1], [7, 33], [3, small ? 700 : 5000], [33, 7]] as const) {
        const x = randn(rows * C, seed++, 8);
        if (C > 1) x[0] = -Infinity; // a masked entry in a row that has others
        const y = cu().softmaxForward(x, rows, C);
        const want = ref.softmaxForward(x, rows, C);
        expectClose(y, want, 1e-5, 1e-6, `softmax ${rows}x${C}`);
        const dy = randn(rows * C, seed++);
        expectClose(cu().softmaxBackward(want, dy, rows, C), ref.softmaxBackward(want, dy, rows, C), 1e-5, 1e-6,
          `softmax backward ${rows}x${C}`);
      }
      // every entry -inf: zeros, never NaN (seqfair/softmax.h; the cpu backend does the same)
      const masked = cu().softmaxForward(Float32Array.from([1, 2, -Infinity, -Infinity, -Infinity, -Infinity]), 2, 3);
      expect([...masked.subarray(3)]).toEqual([0, 0, 0]);
    });

    it('3.4 Adam and AdamW steps in place', () => {
      for (const decoupled of [false, true])
        for (const step of [1, 2, 1000]) {
          const n = 1001;
          const p0 = randn(n, step), g = randn(n, step + 1), m0 = randn(n, step + 2, 0.1), v0 = randn(n, step + 3, 0.01).map(Math.abs);
          const o = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled, step };
          const [pc, mc, vc] = [Float32Array.from(p0), Float32Array.from(m0), Float32Array.from(v0)];
          const [pr, mr, vr] = [Float32Array.from(p0), Float32Array.from(m0), Float32Array.from(v0)];
          cu().adamStep(pc, g, mc, vc, o);
          ref.adamStep(pr, g, mr, vr, o);
          expectClose(pc, pr, 1e-6, 1e-7, `adam decoupled=${decoupled} step=${step} param`);
          expectClose(mc, mr, 1e-6, 1e-7, 'adam m');
          expectClose(vc, vr, 1e-6, 1e-9, 'adam v');
        }
    });
  });

  describe(`${t.label}: 4. cross-entropy`, () => {
    it('4.1 crossEntropy forward/backward: odd sizes, weights, ignored rows, large logits', () => {
      let seed = 10;
      const shapes = small ? [[1, 1], [1, 7], [7, 33], [5, 700], [33, 7]] : [[1, 1], [1, 7], [7, 33], [33, 257], [5, 3000], [257, 7]];
      for (const [N, C] of shapes as [number, number][])
        for (const weighted of [false, true])
          for (const scale of [1, 60]) {
            const logits = randn(N * C, seed++, scale), targets = makeTargets(N, C, seed++, -100);
            const weights = weighted ? randn(N, seed++, 2) : null, dLoss = randn(N, seed++);
            const label = `ce N=${N} C=${C} w=${weighted} scale=${scale}`;
            const got = cu().crossEntropyForward(logits, targets, weights, N, C, -100);
            const want = ref.crossEntropyForward(logits, targets, weights, N, C, -100);
            expectNear(got.loss, want.loss, `${label} loss`);
            expectNear(got.lse, want.lse, `${label} lse`);
            const gd = cu().crossEntropyBackward(logits, targets, weights, want.lse, dLoss, N, C, -100);
            expectGrad(gd, ref.crossEntropyBackward(logits, targets, weights, want.lse, dLoss, N, C, -100), `${label} dLogits`);
          }
    });

    it('4.2 projCe forward/backward: one chunk and many chunks (SEQFAIR_CUDA_CE_CHUNK), padding rows, weights', () => {
      let seed = 100;
      const cases: [number, number, number][] = small
        ? [[1, 1, 1], [7, 7, 7], [33, 16, 257], [3, 8, 300], [40, 0, 10]]
        : [[1, 1, 1], [7, 7, 7], [33, 16, 257], [7, 33, 513], [3, 8, 1500], [257, 9, 333], [70, 5, 2049], [40, 0, 10]];
      for (const chunk of ['', '64'])
        withEnv(chunk ? { SEQFAIR_CUDA_CE_CHUNK: chunk } : {}, () => {
          for (const [N, D, V] of cases)
            for (const weighted of [false, true]) {
              const hidden = randn(N * D, seed++), table = randn(V * D, seed++);
              const targets = makeTargets(N, V, seed++, 0, 4);
              const weights = weighted ? randn(N, seed++, 2) : null, dLoss = randn(N, seed++);
              const label = `projCe N=${N} D=${D} V=${V} w=${weighted} chunk=${chunk || 'auto'}`;
              const got = cu().projCeForward(hidden, table, targets, weights, N, D, V, 0);
              const want = ref.projCeForward(hidden, table, targets, weights, N, D, V, 0);
              expectNear(got.loss, want.loss, `${label} loss`);
              expectNear(got.lse, want.lse, `${label} lse`);
              const gb = cu().projCeBackward(hidden, table, targets, weights, want.lse, dLoss, N, D, V, 0);
              const wb = ref.projCeBackward(hidden, table, targets, weights, want.lse, dLoss, N, D, V, 0);
              expectGrad(gb.dHidden, wb.dHidden, `${label} dHidden`);
              expectGrad(gb.dTable, wb.dTable, `${label} dTable`);
            }
        });
    });

    it('4.2b one gradient only (wants): the same bits as that gradient of the full backward, the other null', () => {
      for (const [N, D, V] of [[7, 33, 513], [300, 16, 1100], [6, 4, 9]] as const) {
        const hidden = randn(N * D, 11), table = randn(V * D, 12), targets = makeTargets(N, V, 13, 0, 3);
        const weights = randn(N, 14), dLoss = randn(N, 15);
        const lse = cu().projCeForward(hidden, table, targets, weights, N, D, V, 0).lse;
        const full = cu().projCeBackward(hidden, table, targets, weights, lse, dLoss, N, D, V, 0);
        const h = cu().projCeBackward(hidden, table, targets, weights, lse, dLoss, N, D, V, 0, { hidden: true, table: false });
        const tt = cu().projCeBackward(hidden, table, targets, weights, lse, dLoss, N, D, V, 0, { hidden: false, table: true });
        expect(h.dTable).toBeNull();
        expect(tt.dHidden).toBeNull();
        expectBitEqual(h.dHidden!, full.dHidden!, `dHidden only ${N},${D},${V}`);
        expectBitEqual(tt.dTable!, full.dTable!, `dTable only ${N},${D},${V}`);
      }
    });

    it('4.2c projCeForwardBackward: the bits of projCeForward then projCeBackward', () => {
      for (const [N, D, V] of [[7, 33, 513], [300, 16, 1100]] as const) {
        const hidden = randn(N * D, 41), table = randn(V * D, 42), targets = makeTargets(N, V, 43, 0, 3);
        const weights = randn(N, 44), dLoss = randn(N, 45);
        for (const wants of [{ hidden: true, table: true }, { hidden: true, table: false }]) {
          const f = cu().projCeForward(hidden, table, targets, weights, N, D, V, 0);
          const b = cu().projCeBackward(hidden, table, targets, weights, f.lse, dLoss, N, D, V, 0, wants);
          const fb = cu().projCeForwardBackward(hidden, table, targets, weights, dLoss, N, D, V, 0, wants);
          const what = `projCeForwardBackward ${N},${D},${V} ${JSON.stringify(wants)}`;
          expectBitEqual(fb.loss, f.loss, `${what} loss`);
          expectBitEqual(fb.lse, f.lse, `${what} lse`);
          expectBitEqual(fb.dHidden!, b.dHidden!, `${what} dHidden`);
          if (wants.table) expectBitEqual(fb.dTable!, b.dTable!, `${what} dTable`);
          else expect(fb.dTable).toBeNull();
        }
      }
    });

    it('4.3 every row ignored, and N = 0', () => {
      const N = 6, D = 4, V = 9;
      const targets = new Int32Array(N).fill(-1);
      const f = cu().projCeForward(randn(N * D, 1), randn(V * D, 2), targets, null, N, D, V, -1);
      expect([...f.loss]).toEqual(new Array(N).fill(0));
      const b = cu().projCeBackward(randn(N * D, 1), randn(V * D, 2), targets, null, f.lse, randn(N, 3), N, D, V, -1);
      expect(maxAbs(b.dHidden) + maxAbs(b.dTable)).toBe(0);
      expect(cu().projCeForward(new Float32Array(0), randn(V * D, 2), new Int32Array(0), null, 0, D, V, 0).loss).toHaveLength(0);
    });
  });

  describe(`${t.label}: 5. embeddings`, () => {
    it('5.1 gather exact, scatter-add vs reference (and bit-identical to cpu), repeated and unused ids', () => {
      let seed = 500;
      for (const [n, V, D] of [[1, 1, 1], [7, 5, 3], [33, 7, 33], [small ? 300 : 5000, 50, 8], [0, 4, 3]] as const) {
        const table = randn(V * D, seed++), ids = randInt(n, 0, Math.max(1, V - 1), seed++), dOut = randn(n * D, seed++);
        expectBitEqual(cu().gather(table, ids, V, D), ref.gather(table, ids, V, D), `gather n=${n}`);
        const got = cu().scatterAdd(dOut, ids, V, D);
        expectClose(got, ref.scatterAdd(dOut, ids, V, D), 1e-5, 1e-5, `scatterAdd n=${n} V=${V} D=${D}`);
        const c = t.cpu();
        if (c) expectBitEqual(got, c.scatterAdd(dOut, ids, V, D), `scatterAdd vs cpu n=${n}`);
      }
    });

    it('5.2 gradNorm: norms, row max, first arg-max; masked rows', () => {
      let seed = 600;
      for (const [B, L, D] of [[1, 1, 1], [3, 7, 5], [7, 33, 16], [2, 0, 3]] as const) {
        const g = randn(B * L * D, seed++), mask = randInt(B * L, 0, 2, seed++);
        if (B > 1 && L > 0) for (let l = 0; l < L; l++) mask[L + l] = 0; // row 1 fully masked
        const got = cu().gradNorm(g, mask, B, L, D), want = ref.gradNorm(g, mask, B, L, D);
        expectClose(got.norms, want.norms, 1e-6, 1e-7, `gradNorm ${B},${L},${D} norms`);
        expectClose(got.rowmax, want.rowmax, 1e-6, 1e-7, 'rowmax');
        expectBitEqual(got.argmax, want.argmax, 'argmax');
      }
      // exact ties: the first maximum wins
      const g = new Float32Array([3, 4, 0, 5, 4, 3]), mask = Int32Array.from([1, 1, 1]);
      expect([...cu().gradNorm(g, mask, 1, 3, 2).argmax]).toEqual([0]);
    });
  });

  describe(`${t.label}: 6. attention`, () => {
    const shapes: [number, number, number, number][] = small
      ? [[1, 1, 1, 4], [2, 2, 7, 8], [1, 1, 40, 5], [2, 1, 9, 33]]
      : [[1, 1, 1, 4], [2, 2, 7, 8], [2, 1, 33, 33], [1, 2, 70, 16], [3, 2, 16, 64], [2, 2, 129, 32], [1, 1, 9, 128]];
    function run(B: number, H: number, L: number, dh: number, causal: boolean, kind: MaskKind, seed: number,
      dropout = 0, interleaved = false): void {
      const n = B * H * L * dh;
      const q = randn(n, seed), k = randn(n, seed + 1), v = randn(n, seed + 2), dOut = randn(n, seed + 3);
      const mask = makeMask(B, L, kind, seed + 4);
      const d = { ...attnDims(B, H, L, dh, causal, dropout, dropout > 0 ? { seed: seed + 5, stream: 9, offset: 3 } : null), interleaved };
      const label = `attention ${B},${H},${L},${dh} causal=${causal} ${kind} p=${dropout} interleaved=${interleaved}`;
      const got = cu().attentionForward(q, k, v, mask, d), want = ref.attentionForward(q, k, v, mask, d);
      expectNear(got.out, want.out, `${label} out`);
      expectNear(got.lse, want.lse, `${label} lse`);
      const gb = cu().attentionBackward(q, k, v, mask, want.out, want.lse, dOut, d);
      const wb = ref.attentionBackward(q, k, v, mask, want.out, want.lse, dOut, d);
      expectGrad(gb.dq, wb.dq, `${label} dq`, 2e-4);
      expectGrad(gb.dk, wb.dk, `${label} dk`, 2e-4);
      expectGrad(gb.dv, wb.dv, `${label} dv`, 2e-4);
    }

    it('6.1 forward/backward: odd sizes, causal and bidirectional, every padding kind', () => {
      let seed = 700;
      for (const [B, H, L, dh] of shapes)
        for (const causal of [true, false])
          for (const kind of ['full', 'left', 'holes', 'right+empty'] as MaskKind[]) run(B, H, L, dh, causal, kind, seed += 10);
    });

    it('6.2 dropout on the attention weights (the reference\'s Philox elements)', () => {
      let seed = 900;
      for (const [B, H, L, dh] of shapes.slice(1, 3))
        for (const causal of [true, false]) run(B, H, L, dh, causal, 'left', seed += 10, 0.3);
    });

    it('6.2b interleaved heads (B,L,H,dh), with and without dropout', () => {
      let seed = 950;
      for (const [B, H, L, dh] of shapes.slice(1, 3))
        for (const p of [0, 0.3]) run(B, H, L, dh, true, 'holes', seed += 10, p, true);
    });

    it('6.3 rows without allowed keys: out 0, lse -Infinity, no gradient', () => {
      const B = 2, H = 1, L = 5, dh = 4, n = B * H * L * dh;
      const mask = Int32Array.from([0, 0, 1, 1, 1, 0, 0, 0, 0, 0]);
      const d = attnDims(B, H, L, dh, true);
      const q = randn(n, 1), k = randn(n, 2), v = randn(n, 3);
      const f = cu().attentionForward(q, k, v, mask, d);
      expect(f.lse[0]).toBe(-Infinity);
      expect(f.lse[1]).toBe(-Infinity);
      for (let i = 5; i < 10; i++) expect(f.lse[i]).toBe(-Infinity);
      expect(maxAbs(f.out.subarray(0, 2 * dh)) + maxAbs(f.out.subarray(5 * dh))).toBe(0);
      const g = cu().attentionBackward(q, k, v, mask, f.out, f.lse, randn(n, 4), d);
      expect(maxAbs(g.dq.subarray(0, 2 * dh)) + maxAbs(g.dq.subarray(5 * dh)) + maxAbs(g.dk.subarray(5 * dh))).toBe(0);
    });
  });

  describe(`${t.label}: 7. GRU`, () => {
    it('7.1 forward/backward vs reference on odd sizes', () => {
      let seed = 1100;
      const shapes: [number, number, number, number][] = small
        ? [[1, 1, 1, 1], [3, 7, 5, 33], [2, 4, 9, 8]]
        : [[1, 1, 1, 1], [3, 7, 5, 33], [2, 40, 8, 8], [33, 5, 16, 64], [4, 3, 0, 7]];
      for (const [B, L, I, H] of shapes) {
        const d = { B, L, I, H }, G = 3 * H;
        const x = randn(B * L * I, seed++), h0 = randn(B * H, seed++, 0.5);
        const wIh = randn(G * I, seed++, 0.5), wHh = randn(G * H, seed++, 0.5), bIh = randn(G, seed++, 0.2), bHh = randn(G, seed++, 0.2);
        const label = `gru ${B},${L},${I},${H}`;
        const got = cu().gruForward(x, h0, wIh, wHh, bIh, bHh, d), want = ref.gruForward(x, h0, wIh, wHh, bIh, bHh, d);
        expectNear(got.out, want.out, `${label} out`);
        expectNear(got.cache, want.cache, `${label} cache`);
        const dOut = randn(B * L * H, seed++);
        const gb = cu().gruBackward(x, h0, wIh, wHh, want.out, want.cache, dOut, d);
        const wb = ref.gruBackward(x, h0, wIh, wHh, want.out, want.cache, dOut, d);
        for (const key of ['dx', 'dh0', 'dWIh', 'dWHh', 'dBIh', 'dBHh'] as const) expectGrad(gb[key], wb[key], `${label} ${key}`, 2e-4);
      }
    });

    it('7.2 empty sequences (L = 0): no output, zero gradients', () => {
      const d = { B: 2, L: 0, I: 3, H: 4 };
      const f = cu().gruForward(new Float32Array(0), randn(8, 1), randn(36, 2), randn(48, 3), randn(12, 4), randn(12, 5), d);
      expect(f.out).toHaveLength(0);
      const g = cu().gruBackward(new Float32Array(0), randn(8, 1), randn(36, 2), randn(48, 3), f.out, f.cache, new Float32Array(0), d);
      expect(maxAbs(g.dh0) + maxAbs(g.dWIh) + maxAbs(g.dWHh) + maxAbs(g.dBIh)).toBe(0);
    });

    it('7.3 NARM attention forward/backward: every prefix, the last position, T < L, padded keys', () => {
      let seed = 1150;
      const shapes: [number, number, number, number][] = small
        ? [[1, 1, 1, 1], [3, 7, 7, 19], [2, 1, 9, 33], [2, 3, 8, 16]]
        : [[1, 1, 1, 1], [3, 7, 7, 19], [2, 1, 9, 33], [33, 50, 50, 128], [64, 1, 50, 128], [2, 0, 4, 3]];
      for (const [B, T, L, H] of shapes) {
        const d = { B, T, L, H };
        const mask = Int32Array.from({ length: B * L }, (_, i) => ((i % L) >= ((Math.floor(i / L) * 3) % L) ? 1 : 0));
        const q = randn(B * T * H, seed++, 1.5), k = randn(B * L * H, seed++, 1.5), w = randn(H, seed++), up = randn(B * T * L, seed++);
        const label = `narmAttention ${B},${T},${L},${H}`;
        expectNear(cu().narmAttentionForward(q, k, w, mask, d), ref.narmAttentionForward(q, k, w, mask, d), label);
        const got = cu().narmAttentionBackward(q, k, w, mask, up, d), want = ref.narmAttentionBackward(q, k, w, mask, up, d);
        for (const key of ['dq', 'dk', 'dw'] as const) expectGrad(got[key], want[key], `${label} ${key}`, 2e-4);
      }
    });
  });

  describe(`${t.label}: 8. A-FSR neighbourhoods`, () => {
    function points(N: number, D: number, seed: number): Float32Array {
      const x = randn(N * D, seed);
      for (let d = 0; d < D; d++) { x[3 * D + d] = x[D + d]!; x[5 * D + d] = 0; x[7 * D + d] = 2 * x[D + d]!; } // dup, zero, parallel
      return x;
    }
    it('8.1 cosine top-k and two-hop vs reference: duplicates, zero rows, query subsets, several tiles', () => {
      let seed = 1200;
      for (const tiles of [{}, { SEQFAIR_CUDA_TOPK_QUERIES: '5', SEQFAIR_CUDA_TOPK_CANDIDATES: '7' }])
        withEnv(tiles, () => {
          for (const [N, D, k] of [[9, 3, 1], [40, 8, 5], [small ? 70 : 300, 16, 8], [12, 4, 11]] as const) {
            const x = points(N, D, seed++);
            for (const queries of [null, Int32Array.from([5, 1, 3, 0, N - 1, 1])]) {
              const got = cu().cosineTopk(x, N, D, k, queries), want = ref.cosineTopk(x, N, D, k, queries);
              const label = `cosineTopk N=${N} D=${D} k=${k} q=${queries ? 'subset' : 'all'} ${JSON.stringify(tiles)}`;
              expectBitEqual(got.indices, want.indices, `${label} indices`);
              expectClose(got.similarities, want.similarities, 1e-5, 1e-6, `${label} similarities`);
            }
            const full = ref.cosineTopk(x, N, D, k, null);
            const th = cu().twoHop(full.indices, N, k), wt = ref.twoHop(full.indices, N, k);
            expectBitEqual(th.twoHop, wt.twoHop, `twoHop N=${N} k=${k}`);
            expectBitEqual(th.count, wt.count, `twoHop count N=${N} k=${k}`);
          }
        });
    });

    it('8.2 neighbourMix forward/backward (-1 holes, repeated ids), backward bit-identical to cpu', () => {
      let seed = 1300;
      for (const [R, K, V, D] of [[1, 1, 1, 1], [7, 3, 5, 4], [33, 12, 20, 9], [0, 3, 4, 2]] as const) {
        const table = randn(V * D, seed++), ids = randInt(R * K, -1, V, seed++), w = randn(R * K, seed++).map(Math.abs);
        const label = `neighbourMix ${R},${K},${V},${D}`;
        expectNear(cu().neighbourMix(table, ids, w, R, K, V, D), ref.neighbourMix(table, ids, w, R, K, V, D), label);
        const dOut = randn(R * D, seed++);
        const got = cu().neighbourMixBackward(dOut, ids, w, R, K, V, D);
        expectGrad(got, ref.neighbourMixBackward(dOut, ids, w, R, K, V, D), `${label} backward`);
      }
    });
  });

  describe(`${t.label}: 9. the addon never crashes on bad input`, () => {
    it('9.1 freed, unknown, mistyped and mis-sized buffers, overlapping outputs, out-of-range ids', () => {
      const a = t.addon();
      const alive = (): void => { expect(a.deviceCount()).toBeGreaterThan(0); };
      const buf = (n: number, dtype: 'f32' | 'i32' = 'f32'): number => a.alloc(n, dtype);
      const table = buf(12), ids = buf(4, 'i32'), out = buf(12);
      a.upload(table, randn(12, 1));
      a.upload(ids, Int32Array.from([0, 1, 5, 2]));
      const gather = a.gather as (...x: unknown[]) => void;
      expectThrows(() => gather(table, ids, out, 4, 3), RangeError, /gather: ids\[2\] = 5 is out of range \[0, 4\)/);
      alive();
      expectThrows(() => gather(table, ids, buf(11), 4, 3), RangeError, /out must be an f32 device buffer of length 12, got length 11/);
      expectThrows(() => gather(ids, ids, out, 4, 3), TypeError, /expected table to be an f32 device buffer, got i32/);
      expectThrows(() => (a.geluForward as (...x: unknown[]) => void)(table, table), RangeError, /y must not overlap x/);
      const binary = a.binary as (...x: unknown[]) => void;
      expectThrows(() => binary(0, table, table, buf(11), [12], [1], [1]), RangeError, /covers 12 elements, y has 11/);
      expectThrows(() => binary(0, table, table, out, [13], [1], [1]), RangeError, /reads past the end of a/);
      expectThrows(() => binary(0, table, table, out, [6, 2], [1, 6], [2, 1]), RangeError, /last loop axis must have stride 0 or 1/);
      expectThrows(() => binary(0, table, table, table, [12], [1], [1]), RangeError, /y must not overlap a/);
      alive();
      expectThrows(() => gather(new Float32Array(12), ids, out, 4, 3), TypeError, /device buffer handle/);
      const gone = buf(12);
      expect(a.free(gone)).toBe(true);
      expect(a.free(gone)).toBe(false);
      expectThrows(() => gather(gone, ids, out, 4, 3), RangeError, /freed/);
      expectThrows(() => (a.gemm as (...x: unknown[]) => void)(table, table, out, 1, 2, 2), TypeError, /expected 12 arguments/);
      const mask = buf(6, 'i32');
      a.upload(mask, Int32Array.from([1, 1, 2, 1, 0, 1]));
      const attn = a.attentionForward as (...x: unknown[]) => void;
      expectThrows(() => attn(buf(12), buf(12), buf(12), mask, buf(12), buf(6), 2, 1, 3, 2, true, 1, 0, null, false),
        RangeError, /keyMask\[2\] = 2 must be 0 or 1/);
      const targets = buf(3, 'i32');
      a.upload(targets, Int32Array.from([0, 7, -100]));
      expectThrows(() => (a.crossEntropyForward as (...x: unknown[]) => void)(buf(15), targets, null, buf(3), buf(3), 3, 5, -100),
        RangeError, /targets\[1\] = 7 is outside \[0, 5\) and is not the ignore index -100/);
      expectThrows(() => a.alloc(4, 'f64' as never), TypeError, /dtype/);
      // still works after all of that
      a.upload(ids, Int32Array.from([3, 1, 0, 2]));
      gather(table, ids, out, 4, 3);
      const host = new Float32Array(12);
      a.download(out, host);
      expect(host[0]).not.toBeNaN();
      alive();
    });
  });
}
