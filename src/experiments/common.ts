/**
 * Shared pieces of the scripted experiments (src/experiments/*.ts):
 *
 *  - isMain: whether a module is the script being run (`npx tsx src/experiments/<name>.ts`), so a
 *    test can import an experiment's definitions without running it;
 *  - parseArgs: the scripts' few `--flag value` options, with errors that name the flag;
 *  - mergeResults: several compare() output directories into one results.json, renaming methods
 *    (a group-aware method trained on two groupings is two rows: `group-dro[length:33]`);
 *  - addPerUserGrouping: a grouping that compare's `--groups` cannot compute (the intersection
 *    popularity×length) added to every entry from the run's per-user ranks, with the same metric
 *    definitions (src/eval/fairness-stats.ts groupMeansFromRanks);
 *  - datasetsRoot / ml100kSpec: where the shared data sets are ($SEQFAIR_DATA, else
 *    ../shared/datasets beside the repository; the tests and the bench use it too);
 *  - progress lines on stderr.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dataset } from '../data/preprocess.js';
import type { CompareEvent, ResultEntry } from '../compare/index.js';
import { groupMeansFromRanks } from '../eval/fairness-stats.js';
import { flatMetrics } from '../eval/evaluate.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the shared data sets live: $SEQFAIR_DATA, else ../shared/datasets next to the repository (tests, bench, experiments). */
export function datasetsRoot(): string {
  return process.env.SEQFAIR_DATA ?? path.resolve(repoRoot, '..', 'shared', 'datasets');
}

/** The data spec of ML-100K under datasetsRoot(). */
export function ml100kSpec(): string {
  return `ml-100k:${path.join(datasetsRoot(), 'ml-100k')}`;
}

/** true when `moduleUrl` (import.meta.url) is the file node was started with. */
export function isMain(moduleUrl: string): boolean {
  const arg = process.argv[1];
  if (arg === undefined) return false;
  return path.resolve(arg) === fileURLToPath(moduleUrl);
}

export type ArgSpec = Record<string, { help: string; default?: string; flag?: boolean }>;

/** `--name value` / `--flag` options; unknown flags and missing values throw, naming them. */
export function parseArgs(argv: readonly string[], spec: ArgSpec, usage: string): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, s] of Object.entries(spec)) out[k] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      const lines = Object.entries(spec).map(([k, s]) => `  --${k}${s.flag ? '' : ' <value>'}  ${s.help}${s.default !== undefined ? ` (default ${s.default})` : ''}`);
      process.stdout.write(`${usage}\n\n${lines.join('\n')}\n`);
      process.exit(0);
    }
    const m = /^--([a-z][a-z0-9-]*)$/.exec(a);
    if (!m || spec[m[1]!] === undefined) throw new RangeError(`unknown option '${a}' (known: ${Object.keys(spec).map((k) => `--${k}`).join(', ')})`);
    const key = m[1]!;
    if (spec[key]!.flag) {
      out[key] = 'true';
      continue;
    }
    const v = argv[++i];
    if (v === undefined || v.startsWith('--')) throw new RangeError(`option --${key} needs a value`);
    out[key] = v;
  }
  return out;
}

/** `5` → [1..5]; `1,3` → [1, 3]. */
export function parseSeeds(v: string): number[] {
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    if (n < 1) throw new RangeError(`--seeds: expected a count >= 1 or a list, got '${v}'`);
    return Array.from({ length: n }, (_, i) => i + 1);
  }
  const xs = v.split(',').map((s) => Number(s));
  if (xs.some((x) => !Number.isSafeInteger(x) || x < 0)) throw new RangeError(`--seeds: expected a count or a comma-separated list of non-negative integers, got '${v}'`);
  return xs;
}

export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

export function readEntries(dir: string): ResultEntry[] {
  const file = path.join(dir, 'results.json');
  if (!existsSync(file)) return [];
  return (JSON.parse(readFileSync(file, 'utf8')) as { runs: ResultEntry[] }).runs;
}

/**
 * Entries of several compare() directories as one list: `rename` gives an entry's method name in
 * the merged file (default: unchanged); `per_user` and `run_dir` are made relative to `outDir`.
 */
export function mergeResults(parts: readonly { dir: string; rename?: (method: string) => string }[], outDir: string): ResultEntry[] {
  const out: ResultEntry[] = [];
  for (const p of parts) {
    for (const e of readEntries(p.dir)) {
      const method = p.rename ? p.rename(e.method) : e.method;
      const rel = (f: unknown): unknown => (typeof f === 'string' ? path.relative(outDir, path.join(p.dir, f)) : f);
      out.push({ ...e, method, trained_method: e.method, per_user: rel(e.per_user), run_dir: rel(e.run_dir) });
    }
  }
  return out;
}

interface PerUserFile {
  users: number[];
  valid_users: number[];
  protocols: Record<string, { test: { ranks: number[] }; valid: { ranks: number[] } }>;
}

const perUserCache = new Map<string, PerUserFile>();

function readPerUser(file: string): PerUserFile {
  let f = perUserCache.get(file);
  if (f === undefined) {
    f = JSON.parse(readFileSync(file, 'utf8')) as PerUserFile;
    if (perUserCache.size > 64) perUserCache.clear();
    perUserCache.set(file, f);
  }
  return f;
}

/** Protocol key of a results.json entry (the per-user file's key). */
export function entryProtocolKey(e: ResultEntry): string {
  if (e.protocol === 'sampled') return `sampled-${e.negatives ?? 'popularity'}`;
  return e.protocol;
}

/**
 * Adds grouping `name` (per-user labels of the data set, by user index) to every entry's
 * test.groups, computed from its per-user ranks (`per_user`, relative to `baseDir`).
 */
export function addPerUserGrouping(entries: ResultEntry[], baseDir: string, name: string, labels: readonly string[], ds: Dataset): void {
  if (labels.length !== ds.numUsers) throw new RangeError(`addPerUserGrouping: ${labels.length} labels for ${ds.numUsers} users`);
  for (const e of entries) {
    if (typeof e.per_user !== 'string') throw new Error(`addPerUserGrouping: entry ${e.model}/${e.method}/seed ${e.seed} has no per_user file`);
    const pu = readPerUser(path.join(baseDir, e.per_user));
    const prot = pu.protocols[entryProtocolKey(e)];
    if (prot === undefined) throw new Error(`addPerUserGrouping: ${e.per_user} has no protocol ${entryProtocolKey(e)}`);
    const g = groupMeansFromRanks(pu.users, prot.test.ranks, labels);
    e.test.groups[name] = Object.fromEntries(Object.entries(g.groups).map(([l, s]) => [l, flatMetrics(s)]));
  }
}

/**
 * Per-group means of one entry's VALIDATION ranks (results.json keeps only the overall validation
 * metrics; the per-user file has every validation rank), for choosing hyper-parameters on the
 * validation targets without looking at the test ones.
 */
export function validationGroupMetrics(e: ResultEntry, baseDir: string, labels: readonly string[]): { overall: Record<string, number>; groups: Record<string, Record<string, number>> } {
  if (typeof e.per_user !== 'string') throw new Error(`validationGroupMetrics: entry ${e.model}/${e.method}/seed ${e.seed} has no per_user file`);
  const pu = readPerUser(path.join(baseDir, e.per_user));
  const prot = pu.protocols[entryProtocolKey(e)];
  if (prot === undefined) throw new Error(`validationGroupMetrics: ${e.per_user} has no protocol ${entryProtocolKey(e)}`);
  const g = groupMeansFromRanks(pu.valid_users, prot.valid.ranks, labels);
  return { overall: flatMetrics(g.overall), groups: Object.fromEntries(Object.entries(g.groups).map(([l, s]) => [l, flatMetrics(s)])) };
}

/** One stderr line per finished or skipped run. */
export function progressLine(prefix: string): (e: CompareEvent) => void {
  return (e) => {
    if (e.kind === 'start') process.stderr.write(`${prefix} [${e.index}/${e.total}] ${e.model} ${e.method} seed ${e.seed}: training\n`);
    else if (e.kind === 'skip') process.stderr.write(`${prefix} [${e.index}/${e.total}] ${e.key}: finished before, skipped\n`);
    else if (e.kind === 'done') {
      const r = e.record;
      process.stderr.write(`${prefix} [${e.index}/${e.total}] ${r.model} ${r.method} seed ${r.seed}: ${r.epochs_trained} epochs (best ${r.best_epoch}), ${r.train_time_s.toFixed(0)} s training, ${r.wall_time_s.toFixed(0)} s with validation\n`);
    }
  };
}
