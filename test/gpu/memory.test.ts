/**
 * `npm run test:gpu`: device memory. 100 training-like steps inside scopes leave the live-bytes
 * counters where they started (JS-side and the allocator's), the caching allocator stops calling
 * cudaMalloc after the first step, and a FinalizationRegistry frees buffers nobody freed.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { randn } from './suite/helpers.js';
import { cuda, haveGpu, skipReason, status } from './suite/gpu.js';

/** the CPU emulator (SEQFAIR_CUDA_ADDON) runs the same steps on smaller shapes */
const emulated = !!status.runtime?.emulated;

afterEach(() => new Promise<void>((r) => setImmediate(r)));

describe.skipIf(!haveGpu)(`device memory${haveGpu ? '' : ` (skipped: ${skipReason})`}`, () => {
  it('1. 100 steps in scopes: live bytes back to the baseline, no cudaMalloc after the first step', () => {
    const be = cuda(), dev = be.device;
    const before = dev.memory();
    const [D, N, V] = emulated ? [8, 32, 100] : [64, 256, 1000];
    const table = randn(V * D, 1), targets = Int32Array.from({ length: N }, (_, i) => (i * 7) % V);
    let mallocsAfterFirst = 0;
    for (let step = 0; step < 100; step++) {
      dev.scope(() => {
        // device-resident work: buffers allocated here are freed when the scope ends
        const h = dev.toDevice(randn(N * D, step));
        const t = dev.toDevice(table);
        const g = dev.alloc(N * D, 'f32');
        expect(h.bytes + t.bytes + g.bytes).toBeGreaterThan(0);
        // and the host-array backend path, which frees its own temporaries
        const f = be.projCeForward(randn(N * D, step), table, targets, null, N, D, V, -1);
        be.projCeBackward(randn(N * D, step), table, targets, null, f.lse, new Float32Array(N).fill(1), N, D, V, -1);
      });
      if (step === 0) mallocsAfterFirst = dev.memory().device.deviceMallocs;
    }
    const after = dev.memory();
    expect(after.liveBytes).toBe(before.liveBytes);
    expect(after.liveBuffers).toBe(before.liveBuffers);
    expect(after.device.liveBytes).toBe(before.device.liveBytes);
    expect(after.device.deviceMallocs).toBe(mallocsAfterFirst);
  });

  it('2. a returned buffer survives its scope and moves to the enclosing one', () => {
    const dev = cuda().device;
    const base = dev.memory().liveBytes;
    const outer = dev.scope(() => {
      const kept = dev.scope(() => {
        dev.alloc(100, 'f32');
        return dev.toDevice(Float32Array.from([1, 2, 3]));
      });
      expect(dev.memory().liveBytes).toBe(base + 12);
      expect([...(kept.toHost() as Float32Array)]).toEqual([1, 2, 3]);
      return 0;
    });
    expect(outer).toBe(0);
    expect(dev.memory().liveBytes).toBe(base);
  });

  it('3. the FinalizationRegistry frees buffers that were dropped without free()', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) return; // run with --expose-gc (npm run test:gpu does)
    const dev = cuda().device;
    const base = dev.memory().device.liveBytes;
    (() => { for (let i = 0; i < 50; i++) dev.keep(dev.alloc(1024, 'f32')); })();
    for (let i = 0; i < 10 && dev.memory().device.liveBytes > base; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(dev.memory().device.liveBytes).toBe(base);
  });
});
