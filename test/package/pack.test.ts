/**
 * The package as users get it: `npm pack`, install the tarball in an empty directory (which
 * compiles the addon from source), then `import { tensor } from 'seqfair'` and run an op on the
 * native backend. Slow (a full native build), so it is one test. The CUDA build is skipped here
 * (SEQFAIR_CUDA=0): the repository's own install covers it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = resolve(__dirname, '..', '..');
// asynchronous children: a worker blocked for minutes in a synchronous spawn misses vitest's RPC deadlines
const run = promisify(execFile);

describe('package', () => {
  it('installs from its tarball and imports', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqfair-pack-'));
    try {
      const { stdout: out } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: repo, encoding: 'utf8', maxBuffer: 64 << 20 });
      const tgz = join(dir, (JSON.parse(out) as { filename: string }[])[0]!.filename);
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true }));
      await run('npm', ['install', '--no-audit', '--no-fund', tgz], { cwd: dir, maxBuffer: 64 << 20, env: { ...process.env, JOBS: '2', SEQFAIR_CUDA: '0' } });
      writeFileSync(join(dir, 'use.mjs'), [
        "import { tensor, info, matmul } from 'seqfair';",
        'const a = tensor([[1, 2], [3, 4]]);',
        'const y = matmul(a, a);',
        'console.log(JSON.stringify({ info: info(), y: y.toArray() }));',
      ].join('\n'));
      const res = JSON.parse((await run('node', ['use.mjs'], {
        cwd: dir, encoding: 'utf8', env: { ...process.env, SEQFAIR_STRICT_BACKEND: '1', SEQFAIR_BACKEND: 'cpu' },
      })).stdout) as { info: { backend: string }; y: number[] };
      expect(res.info.backend).toBe('cpu');
      expect(res.y).toEqual([7, 10, 15, 22]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
