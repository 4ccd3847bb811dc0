/**
 * Backend loader. SEQFAIR_BACKEND = reference | cpu | cuda | auto (default auto: the best that loads:
 * cuda when its addon loads and a device answers, else cpu, else reference).
 * A requested or default native backend that cannot load falls back to `reference` with one line
 * on stderr saying why; asking for `cpu` explicitly and failing is an error only when
 * SEQFAIR_STRICT_BACKEND=1 (CI uses it so a broken build cannot hide behind the fallback).
 */
import type { Backend } from './backend.js';
import { loadCpuAddon, loadCpuBackend } from './cpu.js';
import { chooseWithCuda, cudaNote } from './cuda.js';
import { referenceBackend } from './reference.js';

export type BackendName = 'reference' | 'cpu' | 'cuda' | 'auto';

let current: Backend | null = null;
let fallbackReason: string | null = null;

function choose(name: string): Backend {
  if (name === 'reference') return referenceBackend;
  if (name !== 'cpu' && name !== 'auto') {
    throw new Error(`SEQFAIR_BACKEND must be reference, cpu, cuda or auto, got '${name}'`);
  }
  try {
    return loadCpuBackend();
  } catch (e) {
    fallbackReason = (e as Error).message;
    if (process.env.SEQFAIR_STRICT_BACKEND === '1') throw e;
    process.stderr.write(`seqfair: using the reference backend because ${fallbackReason}\n`);
    return referenceBackend;
  }
}

/** The backend every op runs on. */
export function getBackend(): Backend {
  current ??= chooseWithCuda(process.env.SEQFAIR_BACKEND ?? 'auto', choose);
  return current;
}

/** Switches backend for the ops that follow (tensors are plain arrays, so they carry over). */
export function setBackend(name: BackendName | Backend): Backend {
  current = typeof name === 'string' ? chooseWithCuda(name, choose) : name;
  return current;
}

/** Runs fn with another backend, then restores the previous one. */
export function withBackend<T>(name: BackendName | Backend, fn: () => T): T {
  const prev = getBackend();
  setBackend(name);
  try {
    return fn();
  } finally {
    current = prev;
  }
}

export interface BackendInfo {
  backend: string;
  threads: number;
  simd: string;
  /** why a native backend is not in use, when it is not */
  note: string | null;
  /** the C heap's policy for freed memory: 'kept' once the cpu addon has loaded (SEQFAIR_MALLOC=default: 'default') */
  memory: string;
}

export function info(): BackendInfo {
  const b = getBackend();
  const memory = b.name === 'cpu' ? loadCpuAddon().info().memory : 'default';
  return { backend: b.name, threads: b.threads, simd: b.simd, note: fallbackReason ?? cudaNote(), memory };
}

/** Sets the cpu backend's worker threads (SEQFAIR_THREADS sets the initial count). */
export function setThreads(n: number): number {
  return loadCpuAddon().setThreads(n);
}

export { referenceBackend } from './reference.js';
export { cpuBackend, loadCpuBackend } from './cpu.js';
export type { Backend } from './backend.js';
