/**
 * What the benchmark prints: the machine header, the results table (markdown), its footer, and
 * the one-object-per-line JSON of `--json`.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, arch, platform } from 'node:os';
import type { Impl } from './case.js';
import type { Peak } from './memory.js';
import type { TimerOptions, Timing } from './timer.js';

export type Status = 'ok' | 'unsupported' | 'skipped' | 'error';

export interface Row {
  case: string;
  impl: Impl;
  status: Status;
  timing?: Timing;
  /** GFLOP/s at the median, for cases that declare their flops */
  gflops?: number;
  /** why a row has no timing (unsupported / skipped / error) */
  note?: string;
  /** `--check` verdict against seqfair-cpu */
  check?: { ok: boolean; text: string };
  /** peak memory of one call, for cases that measure it (bench/memory.ts) */
  peak?: Peak;
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  /** vector extensions the CPU reports (of those seqfair can use) */
  cpuSimd: string;
  node: string;
  os: string;
  seqfair: string;
  tfjs: string | null;
}

/** CPU model and vector flags from /proc/cpuinfo (Linux); 'unknown' elsewhere. */
export function cpuInfo(): { model: string; simd: string } {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const model = /^model name\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? 'unknown';
    const flags = new Set((/^flags\s*:\s*(.+)$/m.exec(text)?.[1] ?? '').split(/\s+/));
    const simd = ['avx512f', 'avx512bw', 'avx512vl', 'avx2', 'fma', 'avx', 'sse4_2'].filter((f) => flags.has(f));
    return { model, simd: simd.length ? simd.join(' ') : 'none reported' };
  } catch {
    return { model: 'unknown', simd: 'unknown' };
  }
}

export function machineInfo(seqfair: string, tfjs: string | null): MachineInfo {
  const c = cpuInfo();
  return {
    cpu: c.model, cores: availableParallelism(), cpuSimd: c.simd, node: process.version,
    os: `${platform()} ${arch()}`, seqfair, tfjs,
  };
}

function ms(x: number): string {
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

const times = (r: number): string => (r >= 10 ? r.toFixed(0) : r.toFixed(1));

/** the row's median against seqfair-cpu's: a peer's speed-up, or seqfair-cuda's over the cpu backend */
function ratio(impl: Impl, r: number): string {
  if (impl === 'seqfair-cuda') return r >= 1 ? `cuda ${times(r)}× SLOWER than cpu` : `cuda ${times(1 / r)}× faster than cpu`;
  if (r >= 1) return `seqfair ${times(r)}× faster`;
  return `seqfair ${times(1 / r)}× SLOWER`;
}

/** this row's median over seqfair-cpu's (a peer's, or seqfair-cuda's), when both ran */
export function speedup(rows: readonly Row[], row: Row): number | null {
  if (row.impl === 'seqfair-cpu' || !row.timing) return null;
  const ours = rows.find((r) => r.case === row.case && r.impl === 'seqfair-cpu' && r.timing);
  return ours?.timing ? row.timing.median_ms / ours.timing.median_ms : null;
}

/** One compact JSON object for `--json` (median_ms/min_ms null when the row did not run). */
export function jsonLine(row: Row): string {
  const round = (x: number) => Number(x.toPrecision(6));
  const o: Record<string, unknown> = {
    case: row.case, impl: row.impl,
    median_ms: row.timing ? round(row.timing.median_ms) : null,
    min_ms: row.timing ? round(row.timing.min_ms) : null,
  };
  if (row.timing) o['runs'] = row.timing.runs;
  if (row.gflops !== undefined) o['gflops'] = round(row.gflops);
  if (row.peak) { o['peak_mb'] = round(row.peak.mb); o['peak_how'] = row.peak.how; }
  if (row.status !== 'ok') { o['status'] = row.status; o['note'] = row.note ?? ''; }
  if (row.check) o['check'] = row.check.text;
  return JSON.stringify(o);
}

export function table(rows: readonly Row[], m: MachineInfo, t: TimerOptions, notes: readonly string[]): string {
  const out: string[] = [];
  out.push(`machine: ${m.cpu}, ${m.cores} cores available, CPU vector flags: ${m.cpuSimd}; ${m.os}; node ${m.node}`);
  out.push(`seqfair: ${m.seqfair}`);
  if (m.tfjs) out.push(`tfjs:    ${m.tfjs}`);
  out.push('');
  const head = ['case', 'impl', 'median ms', 'min ms', 'runs', 'GFLOP/s', 'vs seqfair-cpu'];
  const body = rows.map((r) => {
    const s = speedup(rows, r);
    const peak = r.peak ? `peak +${r.peak.mb.toFixed(0)} MB (${r.peak.how === 'rss' ? 'RSS' : 'tfjs tensors'})` : '';
    const extra = [s !== null ? ratio(r.impl, s) : '', peak, r.note ?? '', r.check ? `check: ${r.check.text}` : '']
      .filter((x) => x).join('; ');
    return [
      r.case, r.impl,
      r.timing ? ms(r.timing.median_ms) : r.status,
      r.timing ? ms(r.timing.min_ms) : '',
      r.timing ? `${r.timing.runs}${r.timing.cold ? '*' : ''}` : '',
      r.gflops !== undefined ? r.gflops.toFixed(1) : '',
      extra,
    ];
  });
  const right = [false, false, true, true, true, true, false];
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (right[i] ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join(' | ')} |`;
  out.push(line(head));
  out.push(`|${width.map((w, i) => (right[i] ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|')}|`);
  for (const b of body) out.push(line(b));
  out.push('');
  out.push(`Median and min of single calls. Warm-up first (≥ ${t.warmupMs} ms, ≤ 10 calls), then up to ` +
    `${t.maxReps} timed calls, stopping after ${t.budgetMs / 1000} s of timed work once ${t.minReps} are done.`);
  out.push(`* slow peer cap: a call taking ≥ ${t.slowMs / 1000} s gets no separate warm-up (its first call is a sample) ` +
    `and at most ${t.slowReps} calls within ${t.slowBudgetMs / 1000} s.`);
  out.push('"seqfair N× faster" = peer median / seqfair-cpu median on the same inputs; "cuda N× faster than cpu" = seqfair-cpu median / seqfair-cuda median. ' +
    'GFLOP/s counts only the matrix products of a call.');
  for (const n of notes) out.push(n);
  return out.join('\n');
}
