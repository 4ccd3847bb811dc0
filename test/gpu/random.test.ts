/**
 * `npm run test:gpu`: the same seed gives bit-identical random streams on CUDA and CPU (and the
 * reference): uniforms, normals, dropout masks and values, attention-dropout multipliers, and
 * Dirichlet draws, at sizes where every thread block and Philox block boundary is crossed.
 * Uniforms and dropout are exact by construction (24-bit uniforms, one double division); Gamma
 * draws are exact by construction too (f32 Marsaglia–Tsang built only from IEEE-exact operations,
 * seqfair/portable_math.h, with random.cu compiled -fmad=false); normals use log/cos/sqrt in
 * double, where CUDA's libm and the host's may differ in the last bit — after rounding to float
 * that is expected never to show, and this test is where it would.
 */
import { describe, expect, it } from 'vitest';

import type { RngKey } from '../../src/backend/backend.js';
import { referenceBackend as ref } from '../../src/backend/reference.js';
import { expectBitEqual, randInt, randn } from './suite/helpers.js';
import { cpuOrNull, cuda, haveGpu, skipReason } from './suite/gpu.js';

const keys: RngKey[] = [
  { seed: 1, stream: 0, offset: 0 }, { seed: 123456789, stream: 7, offset: 5 }, { seed: 2 ** 52 + 3, stream: 2 ** 32 - 1, offset: 2 ** 40 + 1 },
];

describe.skipIf(!haveGpu)(`random streams: CUDA = CPU = reference${haveGpu ? '' : ` (skipped: ${skipReason})`}`, () => {
  const others = () => [['reference', ref], ['cpu', cpuOrNull()]].filter(([, b]) => b) as [string, typeof ref][];

  it('1. uniform and normal', () => {
    for (const key of keys)
      for (const n of [1, 3, 1023, 1 << 20]) {
        const u = cuda().uniform(n, key), z = cuda().normal(n, key);
        for (const [name, b] of others()) {
          expectBitEqual(u, b.uniform(n, key), `uniform n=${n} vs ${name}`);
          expectBitEqual(z, b.normal(n, key), `normal n=${n} vs ${name}`);
        }
      }
  });

  it('2. dropout masks and values', () => {
    for (const key of keys)
      for (const p of [0.1, 0.5]) {
        const x = randn(300_001, 3);
        const y = cuda().dropoutForward(x, p, key);
        for (const [name, b] of others()) expectBitEqual(y, b.dropoutForward(x, p, key), `dropout p=${p} vs ${name}`);
      }
  });

  it('3. attention-dropout multipliers (out with v = one-hot rows exposes p·m exactly)', () => {
    const B = 2, H = 2, L = 37, dh = L;
    const v = new Float32Array(B * H * L * dh);
    for (let bh = 0; bh < B * H; bh++) for (let j = 0; j < L; j++) v[(bh * L + j) * dh + j] = 1;
    const q = randn(B * H * L * dh, 1, 0.01), k = randn(B * H * L * dh, 2, 0.01), mask = new Int32Array(B * L).fill(1);
    const d = { B, H, L, dh, causal: true, scale: 1, dropout: 0.5, rng: { seed: 9, stream: 2, offset: 11 } };
    const got = cuda().attentionForward(q, k, v, mask, d).out;
    const want = ref.attentionForward(q, k, v, mask, d).out;
    for (let i = 0; i < got.length; i++) expect(got[i] === 0, `element ${i} dropped on cuda vs reference`).toBe(want[i] === 0);
  });

  it('4. Dirichlet draws', () => {
    for (const alpha of [0.1, 0.5, 1, 3])
      for (const key of keys) {
        const rows = 2000, K = 11, counts = randInt(rows, 1, K + 1, 5);
        const got = cuda().dirichlet(counts, rows, K, alpha, key);
        for (const [name, b] of others()) expectBitEqual(got, b.dirichlet(counts, rows, K, alpha, key), `dirichlet alpha=${alpha} vs ${name}`);
      }
  });
});
