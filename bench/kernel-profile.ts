/**
 * `npm run -s bench:profile -- <case> [--calls N] [--json]`: where the time of one bench case's
 * seqfair-cpu call goes, kernel by kernel.
 *
 * It runs the case on the `cpu` backend wrapped in a timing proxy. Every Backend method call is
 * timed on its own; GEMMs are keyed by their shape and flags, because a step's products of
 * different shapes run at very different rates. It prints, per kernel: ms per case call, calls per
 * case call, and the share of the case's wall time. "outside the backend" is what is left: the
 * engine's TypeScript (tape, shape checks, small element-wise work) and garbage collection.
 * The proxy adds a function call and two clock reads to every kernel call, and the time is a mean
 * (not `npm run bench`'s median), so compare its figures with each other, not with the bench table.
 *
 * Exit status: 0, or 2 on a usage error or a case that cannot run here (its data set is absent).
 */
import { parseArgs } from 'node:util';
import { loadCpuBackend } from '../src/backend/cpu.js';
import { CASES } from './cases/index.js';
import { type KernelTime, timedBackend } from './timed-backend.js';

const USAGE = `usage: npm run -s bench:profile -- <case> [--calls N] [--warmup N] [--json]
  cases: ${CASES.map((c) => c.name).join(', ')}`;

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { calls: { type: 'string', default: '10' }, warmup: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } },
    });
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const calls = Number(values.calls), warmup = Number(values.warmup);
  const c = CASES.find((x) => x.name === positionals[0]);
  if (positionals.length !== 1 || !c || !Number.isInteger(calls) || calls < 1 || !Number.isInteger(warmup) || warmup < 0) {
    console.error(positionals[0] && !c ? `unknown case '${positionals[0]}'\n${USAGE}` : USAGE);
    return 2;
  }
  const why = c.unavailable?.() ?? null;
  if (why) {
    console.error(`${c.name}: ${why}`);
    return 2;
  }
  const times = new Map<string, KernelTime>();
  const be = loadCpuBackend();
  const prepared = await c.seqfair(timedBackend(be, times));
  for (let i = 0; i < warmup; i++) prepared.run();
  times.clear();
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) prepared.run();
  const wall = (performance.now() - t0) / calls;
  prepared.dispose();

  const rows = [...times.values()].map((t) => ({ kernel: t.kernel, ms: t.ms / calls, calls: t.calls / calls }))
    .sort((a, b) => b.ms - a.ms);
  const inBackend = rows.reduce((s, r) => s + r.ms, 0);
  rows.push({ kernel: 'outside the backend', ms: wall - inBackend, calls: 0 });
  if (values.json) {
    console.log(JSON.stringify({ case: c.name, threads: be.threads, simd: be.simd, ms: wall, kernels: rows }));
    return 0;
  }
  console.log(`${c.name}: ${wall.toFixed(1)} ms per call (mean of ${calls}, after ${warmup} warm-up), ` +
    `${be.threads} threads, ${be.simd}`);
  const w = Math.max(...rows.map((r) => r.kernel.length));
  console.log(`${'kernel'.padEnd(w)}  ${'ms/call'.padStart(8)}  ${'calls'.padStart(6)}  share`);
  for (const r of rows) {
    console.log(`${r.kernel.padEnd(w)}  ${r.ms.toFixed(2).padStart(8)}  ${(r.calls ? String(r.calls) : '').padStart(6)}  ${((100 * r.ms) / wall).toFixed(1).padStart(4)} %`);
  }
  return 0;
}

process.exitCode = await main();
