/**
 * The CPU emulator of test/cuda/emu is what lets the CUDA kernels run here, so it is tested too:
 * barriers order shared memory, shuffles exchange lanes, block reductions are exact, bad launch
 * configurations fail like the driver's, and the undefined behaviours it promises to catch stop
 * the process with a message (each of those in its own child process).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';

// @ts-expect-error -- plain ESM build helper without type declarations
import { buildCudaAsync } from '../../scripts/cuda-build.mjs';

let file = '';
let selfTest: (name: string) => unknown;

beforeAll(async () => {
  const r = await buildCudaAsync({ emu: true, jobs: 2 }) as { ok: boolean; file: string; reason: string | null };
  if (!r.ok) throw new Error(`the emulated CUDA addon did not build: ${r.reason}`);
  file = r.file;
  selfTest = (createRequire(import.meta.url)(file) as { _emuSelfTest: (n: string) => unknown })._emuSelfTest;
}, 900_000);

function crash(name: string) {
  return spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)})._emuSelfTest(${JSON.stringify(name)})`],
    { encoding: 'utf8', timeout: 60_000 });
}

describe('the CUDA emulator', () => {
  it('1. __syncthreads orders shared memory; every block gets its own run', () => {
    expect(selfTest('rotate')).toEqual(Array.from({ length: 64 }, (_, t) => ((t + 1) % 64) * 10));
  });

  it('2. warp shuffles and block reductions', () => {
    expect(selfTest('warp_sum')).toEqual(new Array(64).fill(496));
    expect(selfTest('block_sum')).toEqual([32640, 32640]);
  });

  it('3. launch limits: block size, dynamic shared memory', () => {
    expect(selfTest('bad_launch')).toBe('invalid configuration argument');
    expect(selfTest('too_much_smem')).toBe('invalid configuration argument');
  });

  it('4. undefined behaviour stops the process with a message naming the kernel', () => {
    for (const [name, msg] of [
      ['divergent_sync', /sfk_selftest_divergent_sync.*warp-level barrier|sfk_selftest_divergent_sync.*__syncthreads|deadlock/],
      ['early_return', /sfk_selftest_early_return.*__syncthreads\(\) is not reached by every thread/],
      ['partial_warp', /sfk_selftest_partial_warp.*partial warp/],
    ] as const) {
      const r = crash(name);
      expect(r.status === 0 && r.signal === null, `${name} should have stopped the process`).toBe(false);
      expect(r.stderr).toMatch(msg);
    }
  });
});
