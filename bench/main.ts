/**
 * `npm run bench`: seqfair's `cpu` backend kernels against TensorFlow.js (cpu and wasm backends)
 * on the cases of bench/cases/, one table to stdout (progress on stderr). Where a GPU answers, the
 * same cases also run on the `cuda` backend (impl seqfair-cuda), with their ratio to seqfair-cpu.
 *
 *   npm run bench -- [--json] [--only a,b] [--impl a,b] [--full] [--check] [--reps N] [--threads N]
 *
 * --json     one compact JSON object per case and implementation on stdout, nothing else
 * --only     comma list of case names (default all)
 * --impl     comma list of seqfair-cpu, seqfair-cuda, tfjs-cpu, tfjs-wasm (default: all, with
 *            seqfair-cuda only where a GPU answers; asked for without one, its rows are skipped
 *            with the reason)
 * --full     also run the peers a case marks too slow (tfjs-cpu on the biggest products)
 * --check    before timing, compare each peer's (and seqfair-cuda's) results with seqfair-cpu's
 *            (tolerance per case)
 * --reps N   most timed calls per row (default 20)
 * --threads N  seqfair's worker threads (default: SEQFAIR_THREADS or all cores)
 *
 * Exit status: 0, 1 when a row failed (error or --check mismatch), 2 on a usage error.
 * Unsupported (a peer lacks a kernel) and skipped rows are reported, not failures.
 */
import { parseArgs } from 'node:util';
import type { Backend } from '../src/backend/backend.js';
import { loadCpuAddon, loadCpuBackend } from '../src/backend/cpu.js';
import { setBackend } from '../src/backend/index.js';
import { cudaStatus, loadCudaBackend } from '../src/backend/cuda.js';
import { type BenchCase, IMPLS, type Impl, type Ours, type Outputs, type Peer, type Prepared, Unsupported, isOurs } from './case.js';
import { CASES } from './cases/index.js';
import { compare } from './check.js';
import { measurePeak } from './memory.js';
import { type Row, jsonLine, machineInfo, table } from './report.js';
import { defaultTimer, measure, type TimerOptions } from './timer.js';
import { tfjsInfo, tfjsTensorCount, useTfjs } from './tfjs.js';

const USAGE = `usage: npm run bench -- [--json] [--only CASES] [--impl IMPLS] [--full] [--check] [--reps N] [--threads N]
  cases: ${CASES.map((c) => c.name).join(', ')}
  impls: ${IMPLS.join(', ')}`;

class UsageError extends Error {}

interface Options {
  json: boolean;
  cases: BenchCase[];
  impls: Impl[];
  full: boolean;
  check: boolean;
  threads: number | null;
  timer: TimerOptions;
}

function list<T extends string>(value: string | undefined, valid: readonly T[], what: string): T[] | null {
  if (value === undefined) return null;
  const names = value.split(',').map((s) => s.trim()).filter((s) => s);
  const bad = names.filter((n) => !(valid as readonly string[]).includes(n));
  if (bad.length || !names.length) {
    throw new UsageError(`unknown ${what}${bad.length > 1 ? 's' : ''}: ${bad.join(', ') || '(empty list)'}; valid ${what}s: ${valid.join(', ')}`);
  }
  return names as T[];
}

function positiveInt(value: string | undefined, flag: string): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got '${value}'`);
  return n;
}

function parse(argv: string[]): Options | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean' }, only: { type: 'string' }, impl: { type: 'string' },
        full: { type: 'boolean' }, check: { type: 'boolean' }, reps: { type: 'string' },
        threads: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true, allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return 'help';
  const only = list(values.only, CASES.map((c) => c.name), 'case');
  const impls = list(values.impl, IMPLS, 'impl') ?? IMPLS.filter((i) => i !== 'seqfair-cuda' || cudaStatus().usable);
  const reps = positiveInt(values.reps, '--reps');
  return {
    json: values.json ?? false,
    cases: only ? CASES.filter((c) => only.includes(c.name)) : [...CASES],
    // fixed order: seqfair-cpu first (the reference of ratios and checks), the slowest peer last
    impls: (['seqfair-cpu', 'seqfair-cuda', 'tfjs-wasm', 'tfjs-cpu'] as const).filter((i) => impls.includes(i)),
    full: values.full ?? false,
    check: values.check ?? false,
    threads: positiveInt(values.threads, '--threads'),
    timer: reps ? { ...defaultTimer, maxReps: reps, minReps: Math.min(defaultTimer.minReps, reps) } : defaultTimer,
  };
}

/** A peer that lacks a kernel says so in one of these ways. */
function unsupportedNote(e: unknown): string | null {
  const msg = (e as Error)?.message ?? String(e);
  if (e instanceof Unsupported) return msg;
  const m = /Kernel '(\w+)' not registered for backend '(\w+)'/.exec(msg);
  if (m) return `no ${m[2]} kernel for ${m[1]}`;
  if (/not (yet )?implemented|not supported/i.test(msg)) return msg.split('\n')[0]!;
  return null;
}

/** seqfair's backend of each of its implementations, or why it cannot run */
type OurBackends = Record<Ours, Backend | string>;

async function runRow(c: BenchCase, impl: Impl, o: Options, backends: OurBackends,
  refs: Map<string, Outputs>): Promise<Row> {
  const row: Row = { case: c.name, impl, status: 'ok' };
  const unavailable = c.unavailable?.() ?? null;
  if (unavailable) return { ...row, status: 'skipped', note: unavailable };
  if (!isOurs(impl) && c.infeasible?.[impl]) {
    return { ...row, status: 'skipped', note: c.infeasible[impl] };
  }
  if (!isOurs(impl) && c.slow?.[impl] && !o.full) {
    return { ...row, status: 'skipped', note: `${c.slow[impl]}; --full runs it` };
  }
  const be = isOurs(impl) ? backends[impl] : null;
  // no cpu addon is a failure; no GPU is this machine, not a failure
  if (typeof be === 'string') return { ...row, status: impl === 'seqfair-cpu' ? 'error' : 'skipped', note: be };
  const tensorsBefore = tfjsTensorCount();
  let p: Prepared | null = null;
  try {
    const tf = isOurs(impl) ? null : await useTfjs(impl as Peer);
    // (the engine ops a case uses run on the global backend: the row's own)
    if (be) setBackend(be);
    p = tf ? c.tfjs(tf) : await c.seqfair(be!);
    if (o.check) {
      const outs = p.outputs();
      if (impl === 'seqfair-cpu') refs.set(c.name, outs);
      else if (refs.has(c.name)) row.check = compare(refs.get(c.name)!, outs, c.tolerance ?? 1e-3);
    }
    row.timing = measure(() => p!.run(), o.timer);
    if (c.flops) row.gflops = c.flops / (row.timing.median_ms * 1e6);
    if (c.memory) {
      const peak = await measurePeak(c.name, p, impl, tf, be?.threads ?? 1);
      if (typeof peak === 'string') row.note = peak;
      else row.peak = peak;
    }
  } catch (e) {
    const unsupported = isOurs(impl) ? null : unsupportedNote(e);
    row.status = unsupported ? 'unsupported' : 'error';
    row.note = unsupported ?? ((e as Error)?.message ?? String(e)).split('\n')[0]!;
  } finally {
    p?.dispose();
  }
  const leaked = tfjsTensorCount() - tensorsBefore;
  // (a peer that threw may leave tfjs's own bookkeeping tensors behind: only ok rows are checked)
  if (leaked > 0 && row.status === 'ok') process.stderr.write(`bench: ${c.name} ${impl} left ${leaked} tfjs tensors alive\n`);
  return row;
}

/** The training-step lines under the table: A-FSR's cost over ERM's, and what the 20k step holds. */
function stepNotes(rows: readonly Row[]): string[] {
  const out: string[] = [];
  const median = (name: string, impl: Impl) => rows.find((r) => r.case === name && r.impl === impl)?.timing?.median_ms;
  for (const impl of IMPLS) {
    const afsr = median('afsr-step-b256', impl), erm = median('sasrec-step-b256', impl);
    if (afsr && erm) out.push(`afsr-step-b256 / sasrec-step-b256 (${impl}): ${(afsr / erm).toFixed(2)}× (target for seqfair-cpu: ≤ 1.5×)`);
  }
  if (rows.some((r) => r.case === 'sasrec-step-20k-b128' && r.peak)) {
    out.push(`peak: growth of one call's memory (seqfair: resident set, via VmHWM; tfjs: tensor bytes, tf.profile). Full logits of ` +
      `sasrec-step-20k-b128 would be ${((128 * 50 * 20_001 * 4) / 2 ** 20).toFixed(0)} MB (6,400 rows × 20,001 classes, f32).`);
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  // Libraries (tfjs) print banners and warnings with console.*: keep stdout for the results.
  console.log = console.info = console.warn = console.error;

  let o: Options;
  try {
    const parsed = parse(argv);
    if (parsed === 'help') { process.stdout.write(USAGE + '\n'); return 0; }
    o = parsed;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`bench: ${e.message}\n${USAGE}\n`);
    return 2;
  }

  // seqfair's backends: a cpu load failure becomes an error row per case, no GPU a skipped row
  const backends: OurBackends = { 'seqfair-cpu': 'not requested', 'seqfair-cuda': 'not requested' };
  const seqfairLines: string[] = [];
  if (o.impls.includes('seqfair-cpu')) {
    try {
      if (o.threads) loadCpuAddon().setThreads(o.threads);
      const be = loadCpuBackend();
      backends['seqfair-cpu'] = be;
      seqfairLines.push(`cpu backend (C++ addon), SIMD ${be.simd}, ${be.threads} thread${be.threads === 1 ? '' : 's'}`);
    } catch (e) {
      backends['seqfair-cpu'] = `cpu addon did not load: ${(e as Error).message.split('\n')[0]}`;
      seqfairLines.push(backends['seqfair-cpu']);
    }
  }
  if (o.impls.includes('seqfair-cuda')) {
    const line = cudaLine();
    backends['seqfair-cuda'] = line.backend;
    seqfairLines.push(line.text);
  }

  const rows: Row[] = [];
  const refs = new Map<string, Outputs>();
  for (const c of o.cases) {
    for (const impl of o.impls) {
      if (!o.json) process.stderr.write(`${c.name} ${impl} ... `);
      const t0 = performance.now();
      const row = await runRow(c, impl, o, backends, refs);
      rows.push(row);
      if (o.json) process.stdout.write(jsonLine(row) + '\n');
      else {
        const what = row.timing ? `median ${row.timing.median_ms.toFixed(2)} ms` : `${row.status}${row.note ? `: ${row.note}` : ''}`;
        process.stderr.write(`${what} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
      }
    }
  }

  if (!o.json) {
    const tf = tfjsInfo();
    const peers: string[] = [];
    if (o.impls.includes('tfjs-cpu')) peers.push('cpu (JavaScript, 1 thread)');
    if (tf.wasm) {
      peers.push(`wasm ${tf.wasm.version} (${tf.wasm.simd ? 'SIMD' : 'no SIMD'}, ${tf.wasm.threads} thread${tf.wasm.threads === 1 ? '' : 's'}: ` +
        'the threaded build cannot start its workers in Node)');
    }
    const notes = [
      'Inputs are identical for all implementations (bench/data.ts); tfjs intermediates are freed with tf.tidy after every call.',
    ];
    if (rows.some((r) => r.status === 'skipped' && r.impl !== 'seqfair-cuda')) notes.push('skipped: tfjs-cpu rows measured or estimated at > 1 min per call (`--full` runs them), and one that cannot run (embedding).');
    if (rows.some((r) => r.status === 'skipped' && r.impl === 'seqfair-cuda')) notes.push('skipped seqfair-cuda rows: no GPU answers on this machine (the header says why).');
    notes.push(...stepNotes(rows));
    const m = machineInfo(seqfairLines.join('; ') || 'not run', tf.version ? `@tensorflow/tfjs ${tf.version}: ${peers.join('; ')}` : null);
    process.stdout.write(table(rows, m, o.timer, notes) + '\n');
  }
  return rows.some((r) => r.status === 'error' || (r.check && !r.check.ok)) ? 1 : 0;
}

/** The cuda backend, or why not, and the header line that says which device (or emulator) ran. */
function cudaLine(): { backend: Backend | string; text: string } {
  const s = cudaStatus();
  if (!s.usable) {
    const short = s.runtime ? (s.runtime.error ?? 'no device') : 'the CUDA addon is not built';
    return { backend: `no usable GPU here (${short})`, text: `cuda backend not usable: ${s.reason ?? 'unknown'}` };
  }
  const be = loadCudaBackend();
  const rt = s.runtime!;
  const d = rt.devices[0];
  const what = d ? `${d.name}, compute capability ${d.computeCapability}` : 'device 0';
  // the test build runs the kernels on the CPU, one emulated thread at a time
  const emulated = rt.emulated ? ' — EMULATED on the CPU (the test build): its timings say nothing about a GPU' : '';
  return { backend: be, text: `cuda backend on ${what} (${rt.archs})${emulated}` };
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => { process.stderr.write(`bench: ${(e as Error)?.stack ?? String(e)}\n`); process.exitCode = 1; },
);
