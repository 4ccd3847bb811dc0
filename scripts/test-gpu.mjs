#!/usr/bin/env node
/**
 * `npm run test:gpu`: the GPU suites (test/gpu/*.test.ts: every kernel vs the reference, the
 * golden fixtures with SEQFAIR_BACKEND=cuda, CPU/CUDA random-stream identity, SASRec training,
 * device memory). Without a usable GPU it prints one line saying why and exits 0.
 * SEQFAIR_CUDA_ADDON=<file> runs them on another build of the addon (e.g. the CPU-emulated one:
 * build-cuda/emu/Release/seqfair_cuda_emu.node — slow, but it works anywhere).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join } from 'node:path';
import { packageRoot } from './cuda-build.mjs';

const rel = process.env.SEQFAIR_CUDA_ADDON ?? join('build-cuda', 'Release', 'seqfair_cuda.node');
const file = isAbsolute(rel) ? rel : join(packageRoot, rel);
let why = null;
if (!existsSync(file)) {
  why = `the CUDA addon is not built (${rel} is missing; it is built by \`npm install\` where nvcc is on PATH)`;
} else {
  const info = createRequire(import.meta.url)(file).info();
  if (!(info.deviceCount > 0)) why = `no usable GPU: ${info.error ?? 'no device'}`;
}
if (why) {
  process.stdout.write(`test:gpu: skipped, ${why}\n`);
  process.exit(0);
}
const vitest = join(packageRoot, 'node_modules', 'vitest', 'vitest.mjs');
const r = spawnSync(process.execPath, [vitest, 'run', '--config', 'vitest.gpu.config.ts', ...process.argv.slice(2)], {
  cwd: packageRoot, stdio: 'inherit',
  env: { ...process.env, SEQFAIR_STRICT_BACKEND: '1', NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc`.trim() },
});
process.exit(r.status ?? 1);
