/**
 * The CPU addon's thread pool (native/cpu/parallel.cc) runs every index of every parallel_for
 * exactly once, also across many back-to-back short jobs with more threads than cores, where a
 * worker is often preempted in the middle of claiming a chunk. That is the situation in which an
 * earlier pool took a stale index of the previous job, ran a chunk twice and could hang the caller
 * (a hang inside the native call cannot be cut short by vitest's timeout: it stalls the run until
 * CI's time limit fails it). A race need not show in any one run, so this guards the guarantee
 * rather than proving it; the argument is in the comments of parallel.cc.
 */
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';

import type { CpuAddon } from '../../src/backend/cpu.js';

const addon = createRequire(import.meta.url)('../../build/Release/seqfair_cpu.node') as CpuAddon;
const defaultThreads = addon.info().threads;

describe('thread pool', () => {
  afterAll(() => {
    addon.setThreads(defaultThreads);
  });

  for (const threads of [2, 3, 8]) {
    it(`runs each index exactly once over 30,000 short jobs at ${threads} threads`, () => {
      addon.setThreads(threads);
      // n = 2000: jobs of tens of microseconds, long enough for the workers to join each one
      const long = addon.poolCheck(10_000, 2000, 1);
      expect(long.bad).toBe(0);
      expect(long.byWorkers).toBeGreaterThan(0);
      // n = 37 gives min(37, 4·threads) uneven chunks; n = 5 fewer chunks than 4·threads. Jobs this
      // short mostly finish on the caller while a worker is still waking, a straggler's moment.
      expect(addon.poolCheck(10_000, 37, 1).bad).toBe(0);
      expect(addon.poolCheck(10_000, 5, 1).bad).toBe(0);
    }, 60_000);
  }

  it('runs a job of one chunk on the calling thread', () => {
    addon.setThreads(4);
    expect(addon.poolCheck(100, 1000, 1000)).toEqual({ bad: 0, byWorkers: 0 });
  });

  it('rejects bad arguments with an error', () => {
    expect(() => addon.poolCheck(0, 10, 1)).toThrow(/poolCheck/);
    expect(() => addon.poolCheck(1, -1, 1)).toThrow(/poolCheck/);
    expect(() => (addon.poolCheck as unknown as (a: number) => number)(1)).toThrow(/poolCheck/);
  });
});
