#!/usr/bin/env node
/**
 * The package's `install` script (npm runs it after installing the dependencies):
 *   1. the CPU addon, always: `node-gyp rebuild` (binding.gyp), exactly as before; its failure
 *      fails the install;
 *   2. the CUDA addon (CMakeLists.txt through cmake-js, scripts/cuda-build.mjs) when nvcc is on
 *      PATH or SEQFAIR_CUDA=1; SEQFAIR_CUDA=0 skips it. A CUDA build that fails prints one line
 *      (why, and where the full log is) and the install still succeeds: seqfair then runs on the
 *      CPU backend.
 * Long CUDA builds: SEQFAIR_CUDA_ARCHS="86-real" (say) builds for one GPU generation only.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { buildCuda, findNvcc, packageRoot } from './cuda-build.mjs';

// npm tells its lifecycle scripts where its bundled node-gyp is; outside npm, try npm's copy, then PATH
const bundled = [process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')]
  .find((p) => p && existsSync(p));
const gyp = bundled
  ? spawnSync(process.execPath, [bundled, 'rebuild'], { cwd: packageRoot, stdio: 'inherit' })
  : spawnSync('node-gyp', ['rebuild'], { cwd: packageRoot, stdio: 'inherit', shell: process.platform === 'win32' });
if (gyp.error || gyp.status !== 0) {
  if (gyp.error) process.stderr.write(`seqfair: could not run node-gyp: ${gyp.error.message}\n`);
  process.exit(gyp.status || 1);
}

const want = process.env.SEQFAIR_CUDA;
if (want === '0') {
  process.stdout.write('seqfair: CUDA addon skipped (SEQFAIR_CUDA=0)\n');
} else if (want === '1' || findNvcc()) {
  process.stdout.write('seqfair: building the CUDA addon (nvcc found; SEQFAIR_CUDA=0 skips this) ...\n');
  const r = buildCuda();
  if (r.ok) {
    process.stdout.write(`seqfair: CUDA addon built in ${r.seconds.toFixed(0)} s (${relative(packageRoot, r.file)})\n`);
  } else {
    process.stdout.write(`seqfair: the CUDA addon was not built (${r.reason}; log: ${relative(packageRoot, r.log)}); ` +
      'seqfair will use the CPU backend\n');
  }
}
