/** Shared by the bench tests: running a bench script in a child process, and whether the addon loads. */
import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCpuAddon } from '../../src/backend/cpu.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Runs `bench/<script>` under tsx with `args`. Asynchronous: a worker blocked in a synchronous
 * spawn misses vitest's RPC deadlines.
 */
export function benchScript(script: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', `bench/${script}`, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 },
      (err, stdout, stderr) => done({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }));
  });
}

export function addonLoads(): boolean {
  try {
    loadCpuAddon();
    return true;
  } catch {
    return false;
  }
}
