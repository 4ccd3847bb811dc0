/**
 * Peak memory of one call, for cases that ask for it (`memory: true`), measured after timing.
 *
 * - seqfair-cpu: the growth of the resident set over one call, in a fresh child process
 *   (bench/peak-child.ts). Linux keeps the peak RSS (VmHWM in /proc/self/status) and lets a
 *   process reset it to the current RSS by writing 5 to /proc/self/clear_refs: collect garbage,
 *   reset, read VmHWM (the resident set now), call, read VmHWM again. That counts everything the
 *   call had resident at its peak — JS arrays, the addon's buffers and per-thread tiles. The child runs with glibc's mmap
 *   threshold fixed at 128 KB (MALLOC_MMAP_THRESHOLD_): by default glibc raises it after a large
 *   block is freed and keeps later freed blocks resident, so a warmed-up process would show
 *   almost no growth whatever a call allocates. For the same reason it runs with
 *   SEQFAIR_MALLOC=default, so the addon does not switch the heap to keeping freed memory
 *   (native/cpu/memory_policy.cc), as it does in every other process, and with SEQFAIR_POOL=0:
 *   the step's scope would otherwise hand the measured call the arrays the first call released
 *   (src/backend/buffer-pool.ts), and the growth would be ~0 although the step needs them all
 *   (the pool holds that same working set between steps).
 * - tfjs peers: tfjs's own account, tf.profile's peakBytes (the most tensor bytes alive during
 *   the call) minus the bytes alive before it. The wasm heap never shrinks, so its RSS would not
 *   show a warmed-up call's use.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Impl, Prepared } from './case.js';
import type { Tf } from './tfjs.js';

export interface Peak {
  mb: number;
  how: 'rss' | 'tfjs-tensors';
}

const MB = 1024 * 1024;

/** V8's gc(), reachable without starting node with --expose-gc */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
}

function statusKb(field: 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/self/status`);
  return Number(m[1]);
}

/**
 * MB of resident-set growth at the peak of `call` (Linux only); 0 when the call never needed more
 * than was resident before it (the resident set can shrink during a call as garbage is freed).
 */
export function peakOfCall(call: () => void): number {
  writeFileSync('/proc/self/clear_refs', '5');
  const base = statusKb('VmHWM'); // = the resident set at the reset
  call();
  return Math.max(0, statusKb('VmHWM') - base) / 1024;
}

function seqfairPeak(caseName: string, threads: number): Promise<Peak | string> {
  const here = dirname(fileURLToPath(import.meta.url));
  const child = join(here, 'peak-child.ts');
  const env = { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072', SEQFAIR_MALLOC: 'default', SEQFAIR_POOL: '0' };
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', child, caseName, String(threads)], { env, encoding: 'utf8', cwd: dirname(here) }, (err, stdout) => {
      try {
        const r = JSON.parse(stdout.trim().split('\n').pop() ?? '') as { mb?: number; error?: string };
        done(r.mb !== undefined ? { mb: r.mb, how: 'rss' } : `peak RSS not measured (${r.error})`);
      } catch {
        done(`peak RSS not measured (${err ? err.message.split('\n')[0] : 'no answer from bench/peak-child.ts'})`);
      }
    });
  });
}

/** The peak of one call of case `caseName` for `impl`, or why it could not be measured. */
export async function measurePeak(caseName: string, p: Prepared, impl: Impl, tf: Tf | null, threads: number): Promise<Peak | string> {
  if (impl === 'seqfair-cpu') return seqfairPeak(caseName, threads);
  if (impl === 'seqfair-cuda') return 'peak memory is measured on seqfair-cpu only (the cuda backend holds its tensors on the host)';
  if (!tf) return 'tfjs not loaded';
  const before = tf.memory().numBytes;
  const info = await tf.profile(() => { p.run(); });
  return { mb: Math.max(0, info.peakBytes - before) / MB, how: 'tfjs-tensors' };
}
