/**
 * The kernel profiler (bench/kernel-profile.ts over bench/timed-backend.ts): the timing wrapper
 * changes no result and counts every call under the right key; the CLI profiles a case and
 * rejects bad arguments with exit 2.
 */
import { describe, expect, it } from 'vitest';
import { addonLoads, benchScript } from './helpers.js';
import { ADD } from '../../src/backend/backend.js';
import { referenceBackend } from '../../src/backend/index.js';
import { type KernelTime, gemmKey, timedBackend } from '../../bench/timed-backend.js';

const profile = (args: string[]) => benchScript('kernel-profile.ts', args);

describe('kernel profiler', () => {
  it('1. the wrapped backend gives the same results and counts calls per kernel and GEMM shape', () => {
    const times = new Map<string, KernelTime>();
    const be = timedBackend(referenceBackend, times);
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]), b = Float32Array.from([1, 0, -1, 2, 0.5, 3]);
    const o23 = { batch: 1, m: 2, n: 2, k: 3, transA: false, transB: false, batchedA: true, batchedB: true };
    const o32 = { ...o23, m: 3, n: 3, k: 2 };
    expect(be.gemm(a, b, o23)).toEqual(referenceBackend.gemm(a, b, o23));
    be.gemm(a, b, o23);
    const acc = new Float32Array(9);
    be.gemm(a, b, { ...o32, transB: true }, acc);
    expect(be.binary(ADD, a, b, [6], [1], [1])).toEqual(referenceBackend.binary(ADD, a, b, [6], [1], [1]));
    // projCeBackward is keyed by the gradients it is asked for
    const hidden = Float32Array.from([0.1, -0.2, 0.3, 0.4]), table = Float32Array.from([1, 0, 0, 1, 1, 1]);
    const targets = Int32Array.from([0, 2]);
    const { lse } = be.projCeForward(hidden, table, targets, null, 2, 2, 3, -1);
    const dLoss = Float32Array.from([1, 1]);
    const only = be.projCeBackward(hidden, table, targets, null, lse, dLoss, 2, 2, 3, -1, { hidden: true, table: false });
    expect(only.dTable).toBeNull();
    expect(only.dHidden).toEqual(referenceBackend.projCeBackward(hidden, table, targets, null, lse, dLoss, 2, 2, 3, -1).dHidden);
    be.projCeBackward(hidden, table, targets, null, lse, dLoss, 2, 2, 3, -1);
    expect(times.get('projCeBackward (dHidden only)')?.calls).toBe(1);
    expect(times.get('projCeBackward')?.calls).toBe(1);
    expect(times.get('projCeForward')?.calls).toBe(1);
    expect(be.name).toBe('reference');
    expect(times.get(gemmKey(o23, false))?.calls).toBe(2);
    expect(times.get('gemm 3×3×2 (Bᵀ acc)')?.calls).toBe(1);
    expect(times.get('binary')?.calls).toBe(1);
    expect(times.size).toBe(6);
    for (const t of times.values()) expect(t.ms).toBeGreaterThanOrEqual(0);
  });

  it('2. an unknown case or a bad --calls is a usage error (exit 2) listing the cases', async () => {
    const r = await profile(['no-such-case']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown case 'no-such-case'");
    expect(r.stderr).toContain('sasrec-step-b256');
    expect((await profile(['grad-norm', '--calls', '0'])).status).toBe(2);
    expect((await profile([])).status).toBe(2);
  });

  it.skipIf(!addonLoads())('3. --json profiles a case: one gradNorm call per case call, shares within the wall time', async () => {
    const r = await profile(['grad-norm', '--calls', '3', '--warmup', '1', '--json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { case: string; ms: number; kernels: { kernel: string; ms: number; calls: number }[] };
    expect(out.case).toBe('grad-norm');
    const g = out.kernels.find((k) => k.kernel === 'gradNorm');
    expect(g?.calls).toBe(1);
    expect(out.kernels.filter((k) => k.calls > 0)).toHaveLength(1);
    expect(g!.ms).toBeLessThanOrEqual(out.ms);
    expect(out.kernels.at(-1)?.kernel).toBe('outside the backend');
  });
});
