/**
 * The CUDA kernels, run here without a GPU: native/cuda/*.cu compiled by the host compiler against
 * the CPU emulator of test/cuda/emu (fibers for GPU threads, real __syncthreads and warp-shuffle
 * barriers, launch checks), loaded as an addon with the CUDA addon's exact N-API surface, and put
 * through the same parity suite that test/gpu runs on a GPU, plus the golden runner and the
 * memory counters.
 *
 * What this proves: the kernels' indexing, tiling, masking, chunking, synchronisation structure
 * and argument checks, and that their arithmetic is the shared SEQFAIR_HD code. What it cannot:
 * races between blocks (blocks run one after another), GPU timing, and the GPU math library's
 * rounding — those are test/gpu's job on real hardware (`npm run test:gpu`).
 * The first run compiles the emulated addon (~1–2 min on 2 cores); later runs are incremental.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

// @ts-expect-error -- plain ESM build helper without type declarations
import { buildCudaAsync } from '../../scripts/cuda-build.mjs';
import type { Backend } from '../../src/backend/backend.js';
import { loadCpuBackend } from '../../src/backend/cpu.js';
import { type CudaAddon, type CudaDevice, makeCudaBackend } from '../../src/backend/cuda.js';
import { setBackend } from '../../src/backend/index.js';
import { goldenFiles, runCase } from '../../src/golden/run.js';
import { defineParitySuite } from '../gpu/suite/parity.js';

let addon: CudaAddon;
let addonFile: string;
let backend: Backend & { device: CudaDevice };

beforeAll(async () => {
  const r = await buildCudaAsync({ emu: true, jobs: 2 }) as { ok: boolean; file: string; reason: string | null; log: string };
  if (!r.ok) throw new Error(`the emulated CUDA addon did not build: ${r.reason} (log: ${r.log})`);
  addonFile = r.file;
  addon = createRequire(import.meta.url)(r.file) as CudaAddon;
  backend = makeCudaBackend(addon);
}, 900_000);

afterEach(() => new Promise<void>((r) => setImmediate(r)));

function cpuOrNull(): Backend | null {
  try {
    return loadCpuBackend();
  } catch {
    return null;
  }
}

describe('0. the emulated addon', () => {
  it('0.1 reports an emulated device and the kernel table', () => {
    const info = addon.info();
    expect(info.emulated).toBe(true);
    expect(info.deviceCount).toBe(1);
    expect(Object.keys(addon.kernels())).toContain('attentionBackward');
  });
});

defineParitySuite({
  label: 'cuda-emu',
  backend: () => backend,
  addon: () => addon,
  cpu: cpuOrNull,
  small: true,
});

const GOLDEN = join(__dirname, '..', '..', '..', 'shared', 'golden');

describe('10. golden runner on the emulated cuda backend', () => {
  it('10.1 every golden case passes', () => {
    let files: string[] = [];
    try {
      files = goldenFiles(GOLDEN);
    } catch {
      // no ../shared/golden beside the repo
    }
    if (files.length === 0) return;
    const prev = setBackend(backend);
    try {
      const failed = files.map(runCase).filter((r) => !r.pass);
      expect(failed.map((r) => `${r.file}: ${r.problems.join('; ')}`)).toEqual([]);
    } finally {
      setBackend(prev === backend ? 'auto' : prev);
    }
  });
});

describe('11. the benchmark on the emulated cuda backend', () => {
  it('11.1 `npm run bench -- --impl seqfair-cpu,seqfair-cuda --check` times the cuda rows and their outputs match the cpu backend', async () => {
    const root = join(__dirname, '..', '..');
    const args = ['--import', 'tsx', 'bench/main.ts', '--json', '--check', '--reps', '1',
      '--only', 'grad-norm,attention,embedding', '--impl', 'seqfair-cpu,seqfair-cuda'];
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 240_000, env: { ...process.env, SEQFAIR_CUDA_ADDON: addonFile } },
        (err, stdout, stderr) => done({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }));
    });
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const cuda = rows.filter((o) => o['impl'] === 'seqfair-cuda');
    expect(cuda.map((o) => String(o['case'])).sort()).toEqual(['attention', 'embedding', 'grad-norm']);
    for (const o of cuda) {
      expect(o['median_ms'] as number).toBeGreaterThan(0);
      expect(String(o['check'])).toMatch(/^ok /);
    }
  }, 300_000);
});

afterAll(() => {
  if (!backend) return;
  // every kernel call freed its device temporaries (the bad-input test leaks its raw handles on purpose)
  const m = backend.device.memory();
  expect(m.liveBuffers).toBe(0);
  expect(m.liveBytes).toBe(0);
});
