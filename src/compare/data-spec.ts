/**
 * Data specs of the command line and of compare():
 *
 *   ml-100k:<dir>                 MovieLens 100K directory (u.data, u.user; u.item optional)
 *   ml-1m:<dir>                   MovieLens 1M directory (ratings.dat, users.dat)
 *   csv:<file>[,users=<file>]     a CSV/TSV/JSON-lines interactions file with columns user, item,
 *                                 timestamp (header names), and an optional user-attribute file
 *                                 whose first column is the user id
 *   synthetic[:k=v,…]             the planted-bias generator (src/data/synthetic.ts); keys are its
 *                                 numeric options (seed, numUsers, numItems, minorityShare, …)
 *
 * Every spec is preprocessed the same way (src/data/preprocess.ts defaults): chronological order,
 * users with at least 3 events, leave-one-out with validation on all users (the A-FSR setting).
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Dataset } from '../data/preprocess.js';
import { preprocess } from '../data/preprocess.js';
import { loadMovieLens100K, loadMovieLens1M } from '../data/movielens.js';
import { loadInteractions } from '../data/generic.js';
import { SYNTHETIC_DEFAULTS, type SyntheticOptions, generateSynthetic } from '../data/synthetic.js';
import type { InteractionLog } from '../data/types.js';

export type DataSpec =
  | { kind: 'ml-100k' | 'ml-1m'; dir: string; name: string }
  | { kind: 'csv'; file: string; users?: string; name: string }
  | { kind: 'synthetic'; options: SyntheticOptions; name: string };

/** Keys of the synthetic generator that a spec may set (the numeric ones). */
export const SYNTHETIC_KEYS = Object.entries(SYNTHETIC_DEFAULTS).filter(([, v]) => typeof v === 'number').map(([k]) => k);

/** Parses a data spec; throws a RangeError that shows the accepted forms. */
export function parseDataSpec(spec: string): DataSpec {
  const forms = 'ml-100k:<dir>, ml-1m:<dir>, csv:<file>[,users=<file>] or synthetic[:key=value,…]';
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? '' : spec.slice(colon + 1);
  if (kind === 'ml-100k' || kind === 'ml-1m') {
    if (rest === '') throw new RangeError(`data spec '${spec}': give the directory, e.g. ${kind}:/data/${kind}`);
    return { kind, dir: rest, name: kind };
  }
  if (kind === 'csv') {
    const [file, ...opts] = rest.split(',');
    if (!file) throw new RangeError(`data spec '${spec}': give the file, e.g. csv:/data/events.csv`);
    const out: DataSpec = { kind, file, name: path.basename(file).replace(/\.[^.]+$/, '') };
    for (const o of opts) {
      const m = /^users=(.+)$/.exec(o);
      if (!m) throw new RangeError(`data spec '${spec}': unknown option '${o}' (expected users=<file>)`);
      out.users = m[1]!;
    }
    return out;
  }
  if (kind === 'synthetic') {
    const options: Record<string, number> = {};
    if (rest !== '') {
      for (const kv of rest.split(',')) {
        const m = /^([A-Za-z]+)=(.+)$/.exec(kv);
        if (!m) throw new RangeError(`data spec '${spec}': '${kv}' is not key=value`);
        const [, k, v] = m as unknown as [string, string, string];
        if (!SYNTHETIC_KEYS.includes(k)) throw new RangeError(`data spec '${spec}': unknown synthetic option '${k}' (known: ${SYNTHETIC_KEYS.join(', ')})`);
        const x = Number(v);
        if (!Number.isFinite(x)) throw new RangeError(`data spec '${spec}': ${k} must be a number, got '${v}'`);
        options[k] = x;
      }
    }
    const desc = Object.entries(options).map(([k, v]) => `${k}=${v}`).join(',');
    return { kind, options, name: desc ? `synthetic(${desc})` : 'synthetic' };
  }
  throw new RangeError(`unknown data spec '${spec}': expected ${forms}`);
}

/** Checks that the files a spec names exist (before any long work starts). */
export function checkDataSpec(d: DataSpec): void {
  const need = (p: string, what: string): void => {
    if (!existsSync(p)) throw new RangeError(`data: ${what} ${p} does not exist`);
  };
  if (d.kind === 'ml-100k' || d.kind === 'ml-1m') {
    need(d.dir, 'directory');
    if (!statSync(d.dir).isDirectory()) throw new RangeError(`data: ${d.dir} is not a directory`);
    need(path.join(d.dir, d.kind === 'ml-100k' ? 'u.data' : 'ratings.dat'), `${d.kind} ratings file`);
  } else if (d.kind === 'csv') {
    need(d.file, 'interactions file');
    if (d.users !== undefined) need(d.users, 'user-attribute file');
  }
}

/** Loads and preprocesses the data a spec names. */
export async function loadDataSpec(spec: string | DataSpec): Promise<Dataset> {
  const d = typeof spec === 'string' ? parseDataSpec(spec) : spec;
  checkDataSpec(d);
  let log: InteractionLog;
  if (d.kind === 'ml-100k') log = await loadMovieLens100K(d.dir);
  else if (d.kind === 'ml-1m') log = await loadMovieLens1M(d.dir);
  else if (d.kind === 'csv') {
    log = await loadInteractions(d.file, {
      columns: { user: 'user', item: 'item', timestamp: 'timestamp' },
      ...(d.users !== undefined ? { userAttributes: { file: d.users } } : {}),
    });
  } else if (d.kind === 'synthetic') log = generateSynthetic(d.options).log;
  else throw new RangeError(`unknown data spec kind ${(d as { kind: string }).kind}`);
  return preprocess(log, { name: d.name });
}
