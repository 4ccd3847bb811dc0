/**
 * `npm run test:gpu`: the golden fixtures (../shared/golden, FORMAT.md) on the cuda backend,
 * in-process through setBackend and through the CLI with SEQFAIR_BACKEND=cuda.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { setBackend } from '../../src/backend/index.js';
import { goldenFiles, runCase } from '../../src/golden/run.js';
import { cuda, haveGpu, skipReason } from './suite/gpu.js';

const root = join(__dirname, '..', '..');
const GOLDEN = join(root, '..', 'shared', 'golden');
const haveGolden = existsSync(GOLDEN);

describe.skipIf(!haveGpu || !haveGolden)(`golden fixtures on cuda${haveGpu ? '' : ` (skipped: ${skipReason})`}`, () => {
  it('1. every case passes in-process', () => {
    const prev = setBackend(cuda());
    try {
      const failed = goldenFiles(GOLDEN).map(runCase).filter((r) => !r.pass);
      expect(failed.map((r) => `${r.file}: ${r.problems.join('; ')}`)).toEqual([]);
    } finally {
      setBackend(prev);
    }
  });

  it('2. `seqfair golden ../shared/golden` with SEQFAIR_BACKEND=cuda', () => {
    const r = spawnSync(process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'src/cli/main.ts', 'golden', GOLDEN], {
      cwd: root, encoding: 'utf8', env: { ...process.env, SEQFAIR_BACKEND: 'cuda', SEQFAIR_STRICT_BACKEND: '1' }, timeout: 600_000,
    });
    expect(r.stdout).toMatch(/on backend cuda/);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 600_000);
});
