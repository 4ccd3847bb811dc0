/**
 * Child process of bench/memory.ts: the peak resident-set growth of one seqfair call of a case,
 * in a fresh process. Prints one JSON line {"mb": …} or {"error": …}.
 *
 *   node --import tsx bench/peak-child.ts <case> <threads>
 *
 * One call first (its one-time allocations: JIT code, the addon's thread pool), then garbage
 * collection, the peak reset, and the measured call.
 */
import { loadCpuAddon, loadCpuBackend } from '../src/backend/cpu.js';
import { CASES } from './cases/index.js';
import { collectGarbage, peakOfCall } from './memory.js';

async function child(name: string, threads: number): Promise<void> {
  const c = CASES.find((x) => x.name === name);
  if (!c) throw new Error(`no case ${name}`);
  loadCpuAddon().setThreads(threads);
  const p = await c.seqfair(loadCpuBackend());
  p.run();
  collectGarbage();
  process.stdout.write(`${JSON.stringify({ mb: peakOfCall(() => p.run()) })}\n`);
}

child(process.argv[2] ?? '', Number(process.argv[3] ?? 1)).catch((e) => {
  process.stdout.write(`${JSON.stringify({ error: (e as Error).message.split('\n')[0] })}\n`);
});
