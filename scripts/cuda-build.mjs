#!/usr/bin/env node
/**
 * Builds the CUDA addon with cmake-js from CMakeLists.txt (used by scripts/install.mjs and the
 * tests; `npm run build:cuda` runs it by hand).
 *
 *   node scripts/cuda-build.mjs          -> build-cuda/Release/seqfair_cuda.node      (needs nvcc, cmake)
 *   node scripts/cuda-build.mjs --emu    -> build-cuda/emu/Release/seqfair_cuda_emu.node
 *                                           (the same kernels on the CPU emulator, for tests; no nvcc)
 *
 * Environment: SEQFAIR_CUDA_ARCHS (CMake architecture list, default 80-real;86-real;89-real;90-real;
 * 90-virtual), JOBS (parallel compile jobs, default: the number of CPUs).
 * cmake-js builds against the node-api-headers package (package.json "binary.napi_versions"), so it
 * never downloads Node headers. The full compiler output goes to <out>/build.log.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** the first directory on PATH (or CUDA's usual places) holding nvcc, or null */
export function findNvcc(env = process.env) {
  const exe = process.platform === 'win32' ? 'nvcc.exe' : 'nvcc';
  const dirs = (env.PATH ?? '').split(process.platform === 'win32' ? ';' : ':').filter(Boolean);
  for (const d of dirs) if (existsSync(join(d, exe))) return join(d, exe);
  return null;
}

function which(cmd) {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? (r.stdout.split('\n')[0] ?? cmd) : null;
}

function plan({ emu = false, jobs, env = process.env } = {}) {
  const out = emu ? join(packageRoot, 'build-cuda', 'emu') : join(packageRoot, 'build-cuda');
  const file = join(out, 'Release', emu ? 'seqfair_cuda_emu.node' : 'seqfair_cuda.node');
  const log = join(out, 'build.log');
  if (!which('cmake')) return { out, file, log, error: 'cmake was not found on PATH (CMake >= 3.24 is needed)' };
  if (!emu && !findNvcc(env) && !env.CUDACXX) {
    return { out, file, log, error: 'nvcc was not found on PATH (set CUDACXX or add the CUDA toolkit bin directory)' };
  }
  let cmakeJs;
  try {
    cmakeJs = join(dirname(createRequire(join(packageRoot, 'package.json')).resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  } catch {
    return { out, file, log, error: 'the cmake-js package is not installed' };
  }
  mkdirSync(out, { recursive: true });
  const args = [cmakeJs, 'compile', '--directory', packageRoot, '--out', out, '--parallel',
    String(jobs ?? (Number(env.JOBS) || availableParallelism()))];
  if (emu) args.push('--CDSEQFAIR_BUILD_EMU=ON');
  else if (env.SEQFAIR_CUDA_ARCHS) args.push(`--CDSEQFAIR_CUDA_ARCHS=${env.SEQFAIR_CUDA_ARCHS}`);
  return { out, file, log, args, error: null };
}

// One build per output directory at a time (two test files may ask for the emulated addon at
// once): a lock directory inside it, taken atomically by mkdir; a lock older than 30 min is stale.
function tryLock(out) {
  const lock = join(out, '.lock');
  try {
    mkdirSync(lock);
    return lock;
  } catch {
    try {
      if (Date.now() - statSync(lock).mtimeMs > 30 * 60_000) rmSync(lock, { recursive: true, force: true });
    } catch { /* gone meanwhile */ }
    return null;
  }
}
const unlock = (lock) => rmSync(lock, { recursive: true, force: true });
const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** the first compiler / CMake error line of a build log (not a command line that merely says -Werror) */
export function firstError(text) {
  const isCommand = (l) => /^\s*(\$ |\[\d+\/\d+\]|FAILED:)/.test(l) ||
    (/^\s*\S*(nvcc|c\+\+|g\+\+|gcc|clang\+*|cc|ld|cmake) /.test(l) && / -\S/.test(l));
  const line = text.split('\n').find((l) => /(\berror\b|\bfatal\b|CMake Error|ERR!)/i.test(l) && !isCommand(l));
  return line ? line.trim().replace(`${packageRoot}/`, '').slice(0, 240) : null;
}

function finish(p, t0, status, text, quiet) {
  writeFileSync(p.log, text);
  if (!quiet) process.stdout.write(text);
  const seconds = (Date.now() - t0) / 1000;
  if (status !== 0 || !existsSync(p.file)) {
    const reason = firstError(text) ?? `cmake-js exited with status ${status}`;
    return { ok: false, seconds, out: p.out, file: p.file, log: p.log, reason };
  }
  return { ok: true, seconds, out: p.out, file: p.file, log: p.log, reason: null };
}

/**
 * Runs the build. Returns { ok, seconds, out, file, log, reason } and never throws: `reason` is one
 * line saying why it failed (the log has the rest).
 */
export function buildCuda({ emu = false, jobs, quiet = true, env = process.env } = {}) {
  const t0 = Date.now();
  const p = plan({ emu, jobs, env });
  if (p.error) return { ok: false, seconds: 0, out: p.out, file: p.file, log: p.log, reason: p.error };
  let lock;
  while (!(lock = tryLock(p.out))) sleepSync(500);
  try {
    const r = spawnSync(process.execPath, p.args, { cwd: packageRoot, env, encoding: 'utf8', maxBuffer: 64 << 20 });
    return finish(p, t0, r.status, `$ node ${p.args.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}`, quiet);
  } finally {
    unlock(lock);
  }
}

/** buildCuda without blocking the event loop (tests: a long synchronous build starves vitest's RPC) */
export async function buildCudaAsync({ emu = false, jobs, env = process.env } = {}) {
  const t0 = Date.now();
  const p = plan({ emu, jobs, env });
  if (p.error) return { ok: false, seconds: 0, out: p.out, file: p.file, log: p.log, reason: p.error };
  let lock;
  while (!(lock = tryLock(p.out))) await new Promise((r) => setTimeout(r, 500));
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, p.args, { cwd: packageRoot, env });
    let text = `$ node ${p.args.join(' ')}\n`;
    child.stdout.on('data', (d) => { text += d; });
    child.stderr.on('data', (d) => { text += d; });
    let done = false;
    const end = (code, extra) => {
      if (done) return;
      done = true;
      unlock(lock);
      resolvePromise(finish(p, t0, code, text + extra, true));
    };
    child.on('error', (e) => end(1, `\nerror: ${e.message}\n`));
    child.on('close', (code) => end(code ?? 1, ''));
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const emu = process.argv.includes('--emu');
  const r = buildCuda({ emu, quiet: false });
  if (r.ok) process.stdout.write(`seqfair: built ${r.file} in ${r.seconds.toFixed(0)} s\n`);
  else process.stderr.write(`seqfair: the ${emu ? 'emulated ' : ''}CUDA addon was not built: ${r.reason} (log: ${r.log})\n`);
  process.exitCode = r.ok ? 0 : 1;
}

