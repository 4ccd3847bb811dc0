/**
 * compare(): the experiment grid of the papers' tables, model × method × seed on one data set,
 * resumable and re-runnable from one command (`seqfair compare`).
 *
 * Output directory:
 *   results.json            {"runs": [...]}: one entry per run and reported protocol (contract
 *                           of issue 3: model, method, seed, dataset, protocol, negatives (sampled
 *                           only), config, epochs_trained, best_epoch, valid, test {overall, groups})
 *   summary.md              mean ± std over seeds per model × method × metric (summary.ts)
 *   runs/<key>/             one directory per run (run.ts): result.json, per-user.json,
 *                           train.jsonl, checkpoint/
 * Entry protocols: "sampled" (with "negatives"), "full", and "full-unseen" (full ranking without
 * the items of the user's history; also "exclude_seen": true).
 * A run's key is `<model>-<method>-seed<seed>-<hash of its whole config>`, so a second invocation
 * skips every run whose result.json exists, resumes an interrupted one from its checkpoint, and
 * never mistakes a run of another config (other epochs, data, hyper-parameters) for a finished one.
 * results.json lists the runs of the current grid only.
 *
 * Protocols: `sampled` (negatives popularity by default, or uniform) and `full` (with or without
 * the user's history: `excludeSeen`) report that protocol and validate with it; `all` reports
 * the four (sampled-popularity, sampled-uniform, full, full-unseen), each its own entry
 * (protocol, negatives or exclude_seen) of the same trained model, validated with
 * `validProtocol` (default sampled-popularity). Every run is evaluated under all four anyway
 * (run.ts), so runs/<key>/result.json always has them; a run finished by an older version that
 * lacks one is completed from its checkpoint without retraining.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Dataset } from '../data/preprocess.js';
import type { NegativeStrategy } from '../eval/negatives.js';
import { parseProtocolKey } from '../eval/evaluate.js';
import { loadDataSpec } from './data-spec.js';
import { RUN_PROTOCOLS, type RunEvent, type RunRecord, type RunSpec, type TrainSettings, buildModel, completeRun, readRun, runConfig, runOne } from './run.js';
import { createMethod } from './methods.js';
import { resolveTrainConfig } from '../train/trainer.js';
import { type ResultEntry, summaryMarkdown } from './summary.js';

export { parseDataSpec, loadDataSpec, checkDataSpec } from './data-spec.js';
export type { DataSpec } from './data-spec.js';
export { registerMethod, methodNames, createMethod } from './methods.js';
export type { MethodContext, MethodFactory, MethodSetup } from './methods.js';
export { runOne, readRun, completeRun, buildModel, EVAL_PROTOCOLS, RUN_PROTOCOLS } from './run.js';
export type { RunRecord, RunSpec, RunConfig, TrainSettings } from './run.js';
export { summaryMarkdown, meanStd, fmtMeanStd } from './summary.js';
export type { ResultEntry } from './summary.js';

export type ProtocolChoice = 'sampled' | 'full' | 'all';

export interface CompareOptions {
  /** a data spec (ml-100k:<dir>, ml-1m:<dir>, csv:<file>, synthetic[:…]) */
  data: string;
  /** a preloaded data set for `data` (tests, scripts); loaded from the spec otherwise */
  dataset?: Dataset;
  models: readonly string[];
  methods: readonly string[];
  seeds: readonly number[];
  protocol: ProtocolChoice;
  /** sampled: how negatives are drawn (default popularity) */
  negatives?: NegativeStrategy;
  /** full: rank without the items of the user's history */
  excludeSeen?: boolean;
  /** protocol key used for validation when protocol is 'all' (default sampled-popularity) */
  validProtocol?: string;
  groups?: readonly string[];
  out: string;
  /** training hyper-parameters (epochs default 200, early stopping patience default 20) */
  train?: Partial<TrainSettings>;
  /** model options for every model, then per model */
  modelOptions?: Record<string, number | boolean | string>;
  perModelOptions?: Record<string, Record<string, number | boolean | string>>;
  methodParams?: Record<string, Record<string, unknown>>;
  onEvent?: (e: CompareEvent) => void;
}

export type CompareEvent =
  | { kind: 'skip'; index: number; total: number; key: string }
  | { kind: 'complete'; index: number; total: number; key: string; protocols: string[] }
  | { kind: 'start'; index: number; total: number; key: string; model: string; method: string; seed: number }
  | { kind: 'progress'; index: number; total: number; key: string; event: RunEvent }
  | { kind: 'done'; index: number; total: number; key: string; record: RunRecord };

export interface CompareResult {
  runs: ResultEntry[];
  records: RunRecord[];
  summary: string;
  skipped: number;
  trained: number;
}

/** Protocol keys reported for a protocol choice. */
export function reportedProtocols(protocol: ProtocolChoice, negatives: NegativeStrategy = 'popularity', excludeSeen = false): string[] {
  if (protocol === 'all') return [...RUN_PROTOCOLS];
  if (protocol === 'full') return [excludeSeen ? 'full-unseen' : 'full'];
  if (protocol === 'sampled') return [`sampled-${negatives}`];
  throw new RangeError(`protocol must be sampled, full or all, got '${String(protocol)}'`);
}

/** results.json entries of one run: one per reported protocol. */
export function resultEntries(rec: RunRecord, reported: readonly string[], dir: string): ResultEntry[] {
  return reported.map((k) => {
    const p = parseProtocolKey(k);
    const res = rec.protocols[k];
    if (res === undefined) throw new Error(`run ${rec.key} has no results for protocol ${k}`);
    const e: ResultEntry = {
      // 'sampled' (+ negatives), 'full', or 'full-unseen' (full ranking without the user's history):
      // (dataset, protocol, negatives) tells every reported protocol apart, as `seqfair report` expects
      model: rec.model, method: rec.method, seed: rec.seed, dataset: rec.dataset, protocol: p.protocol === 'full' && p.excludeSeen ? 'full-unseen' : p.protocol,
      ...(p.protocol === 'sampled' ? { negatives: p.negatives } : { exclude_seen: p.excludeSeen }),
      config: rec.config, epochs_trained: rec.epochs_trained, best_epoch: rec.best_epoch, stopped_early: rec.stopped_early,
      valid: res.valid, valid_loss: res.valid_loss, test: res.test, group_sizes: rec.group_sizes,
      train_time_s: rec.train_time_s, mean_epoch_s: rec.mean_epoch_s,
      run_dir: path.relative(dir, path.join(dir, 'runs', rec.key)), per_user: `runs/${rec.key}/per-user.json`,
    };
    return e;
  });
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** Runs the grid (see the file comment). */
export async function compare(o: CompareOptions): Promise<CompareResult> {
  const reported = reportedProtocols(o.protocol, o.negatives ?? 'popularity', o.excludeSeen ?? false);
  const validKey = o.protocol === 'all' ? (o.validProtocol ?? 'sampled-popularity') : reported[0]!;
  const validProtocol = parseProtocolKey(validKey);
  if (o.models.length === 0 || o.methods.length === 0 || o.seeds.length === 0) throw new RangeError('compare: models, methods and seeds must each list at least one value');
  const ds = o.dataset ?? await loadDataSpec(o.data);
  const train: TrainSettings = {
    epochs: 200, ...o.train,
    validation: o.train?.validation === false ? false : { patience: 20, ...(o.train?.validation || {}), protocol: validProtocol },
  };
  mkdirSync(path.join(o.out, 'runs'), { recursive: true });
  const grid: RunSpec[] = [];
  for (const model of o.models) {
    for (const method of o.methods) {
      for (const seed of o.seeds) {
        grid.push({
          dataset: ds, data: o.data, model, method, seed, train, groups: o.groups,
          modelOptions: { ...(o.modelOptions ?? {}), ...(o.perModelOptions?.[model] ?? {}) },
          methodParams: o.methodParams?.[method] ?? {},
        });
      }
    }
  }
  const records: RunRecord[] = [];
  const entries: ResultEntry[] = [];
  let skipped = 0, trained = 0;
  const flush = (): string => {
    writeAtomic(path.join(o.out, 'results.json'), `${JSON.stringify({ runs: entries }, null, 1)}\n`);
    const md = summaryMarkdown(entries);
    writeAtomic(path.join(o.out, 'summary.md'), `${md}\n`);
    return md;
  };
  for (let i = 0; i < grid.length; i++) {
    const spec = grid[i]!;
    // the key needs the resolved config: build the (cheap) model and method to get it
    const model = buildModel(spec.model, ds, spec.seed, spec.modelOptions);
    const method = createMethod(spec.method, { dataset: ds, seed: spec.seed, params: spec.methodParams ?? {}, model, batchSize: spec.train.batchSize });
    const resolved = resolveTrainConfig(model, { ...spec.train, seed: spec.seed, objective: method.objective });
    const { key } = runConfig(spec, model, resolved, method.params ?? spec.methodParams ?? {});
    const dir = path.join(o.out, 'runs', key);
    let rec = readRun(dir);
    if (rec !== null) {
      skipped++;
      o.onEvent?.({ kind: 'skip', index: i + 1, total: grid.length, key });
      const missing = RUN_PROTOCOLS.filter((k) => rec!.protocols[k] === undefined);
      if (missing.length) {
        o.onEvent?.({ kind: 'complete', index: i + 1, total: grid.length, key, protocols: missing });
        rec = completeRun(spec, dir, rec, RUN_PROTOCOLS);
      }
    } else {
      o.onEvent?.({ kind: 'start', index: i + 1, total: grid.length, key, model: spec.model, method: spec.method, seed: spec.seed });
      rec = runOne(spec, dir, o.onEvent ? (event) => o.onEvent!({ kind: 'progress', index: i + 1, total: grid.length, key, event }) : undefined);
      if (rec.key !== key) throw new Error(`compare: run key changed while training (${key} → ${rec.key})`);
      trained++;
      o.onEvent?.({ kind: 'done', index: i + 1, total: grid.length, key, record: rec });
    }
    records.push(rec);
    entries.push(...resultEntries(rec, reported, o.out));
    flush();
  }
  const summary = flush();
  return { runs: entries, records, summary, skipped, trained };
}
