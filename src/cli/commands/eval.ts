/**
 * `seqfair eval`: evaluates the weights of a run written by `seqfair train` (or one run of
 * `seqfair compare`) under one ranking protocol, overall and per group.
 *
 * A checkpoint is found from any of: the run directory (result.json + checkpoint/), its
 * checkpoint/ directory, or a snapshot in it (checkpoint/best, checkpoint/last). The model is
 * rebuilt from the run's recorded config (result.json: model name and every option) and loaded
 * with the best validation weights (checkpoint/best) when the run validated, else the last ones
 * (checkpoint/last); naming a snapshot directory picks that one. The data set defaults to the
 * run's recorded spec, the groupings to the run's, the negatives' seed to the run's seed — so
 * `seqfair eval --checkpoint <run>` with the run's protocol reproduces its result.json numbers.
 *
 * Exit status: 0 done, 1 failed (an unreadable checkpoint), 2 usage (no run at the path, a data
 * set that does not fit the checkpoint, a bad option).
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { loadDataSpec } from '../../compare/data-spec.js';
import { buildModel, readRun, type RunRecord } from '../../compare/run.js';
import { choiceArg, intArg, listArg } from '../../compare/options.js';
import type { Dataset } from '../../data/preprocess.js';
import { type ProtocolSpec, evaluate, flatEvaluation, protocolKey } from '../../eval/evaluate.js';
import { resolveGroupings } from '../../eval/groupings.js';
import { MODEL_DEFAULTS } from '../../models/index.js';
import type { SequentialRecommender } from '../../models/types.js';
import { loadModel } from '../../train/checkpoint.js';
import { loadDataOption, usage } from './compare.js';

/** A run's model with its weights loaded, and where they came from. */
export interface LoadedCheckpoint {
  model: SequentialRecommender;
  /** the run's result.json */
  run: RunRecord;
  /** the run directory (holds result.json) */
  runDir: string;
  /** the safetensors file loaded */
  weights: string;
  /** 'best' (validation) or 'last' */
  snapshot: 'best' | 'last';
}

/** The path does not name a finished run (a usage problem, not a failure). */
export class CheckpointError extends Error {}

/** The run directory and the snapshot a path names (see the file comment). */
function locate(p: string): { runDir: string; snapshot: 'best' | 'last' | null } {
  if (!existsSync(p)) throw new CheckpointError(`no such directory: ${p}`);
  if (!statSync(p).isDirectory()) throw new CheckpointError(`${p} is not a directory (expected the --out directory of seqfair train)`);
  const base = path.basename(path.resolve(p));
  if ((base === 'best' || base === 'last') && path.basename(path.dirname(path.resolve(p))) === 'checkpoint') {
    return { runDir: path.dirname(path.dirname(path.resolve(p))), snapshot: base };
  }
  if (base === 'checkpoint' && !existsSync(path.join(p, 'result.json'))) return { runDir: path.dirname(path.resolve(p)), snapshot: null };
  return { runDir: p, snapshot: null };
}

function noRun(runDir: string): CheckpointError {
  const unfinished = existsSync(path.join(runDir, 'checkpoint', 'last', 'state.json'));
  return new CheckpointError(unfinished
    ? `${runDir} holds an unfinished run (checkpoint/last but no result.json); run the same seqfair train command again to finish it`
    : `${runDir} has no result.json: expected the --out directory of seqfair train (or a run directory of seqfair compare)`);
}

/**
 * Rebuilds a finished run's model and loads its weights. `dataset` must be the run's data (its
 * item count is checked against the weights).
 */
export function loadCheckpoint(dir: string, dataset: Dataset): LoadedCheckpoint {
  const { runDir, snapshot } = locate(dir);
  const run = readRun(runDir);
  if (run === null) throw noRun(runDir);
  const ck = path.join(runDir, 'checkpoint');
  const best = path.join(ck, 'best', 'model.safetensors');
  const last = path.join(ck, 'last', 'model.safetensors');
  const pick: 'best' | 'last' = snapshot ?? (run.config.train.validation !== null && existsSync(best) ? 'best' : 'last');
  const weights = pick === 'best' ? best : last;
  if (!existsSync(weights)) throw new CheckpointError(`${runDir}: no weights at ${weights}`);
  // config.model records the model's defaults next to the options given; a default need not be
  // passed (and some, like SASRec's ffnMultiple, are descriptions rather than options)
  const { name, numParameters, ...recorded } = run.config.model as { name: string; numParameters?: number } & Record<string, unknown>;
  const defaults = (MODEL_DEFAULTS as Record<string, Record<string, unknown>>)[name] ?? {};
  const options = Object.fromEntries(Object.entries(recorded).filter(([k, v]) => k === 'hiddenSize' || k === 'maxLen' || defaults[k] !== v));
  let model: SequentialRecommender;
  try {
    model = buildModel(name, dataset, run.seed, options);
  } catch (e) {
    throw new CheckpointError(`${runDir}: cannot rebuild the model '${name}' from result.json (${(e as Error).message})`);
  }
  if (numParameters !== undefined && model.numParameters() !== numParameters) {
    throw new CheckpointError(`${runDir}: the model rebuilt on ${dataset.name} has ${model.numParameters()} parameters, the run's had ${numParameters} (another data set? the run was trained on ${run.dataset}, ${run.config.data})`);
  }
  try {
    loadModel(model, weights);
  } catch (e) {
    const hint = run.dataset !== dataset.name ? ` The run was trained on ${run.dataset} (${run.config.data}), the data given is ${dataset.name}.` : '';
    throw new CheckpointError(`${(e as Error).message}.${hint}`);
  }
  return { model, run, runDir, weights, snapshot: pick };
}

export interface EvaluateCheckpointOptions {
  checkpoint: string;
  /** a data spec (default: the run's) */
  data?: string;
  /** a preloaded data set for `data` */
  dataset?: Dataset;
  protocol?: ProtocolSpec;
  /** grouping specs (default: the run's) */
  groups?: readonly string[];
  split?: 'valid' | 'test';
  /** seed of the sampled negatives (default: the run's seed, as the run was evaluated) */
  seed?: number;
}

export interface CheckpointEvaluation {
  checkpoint: string;
  weights: string;
  snapshot: 'best' | 'last';
  run: { key: string; model: string; method: string; seed: number; dataset: string; data: string };
  data: string;
  dataset: string;
  split: 'valid' | 'test';
  protocol: string;
  users: number;
  mean_loss: number;
  overall: Record<string, number>;
  /** grouping → group → metrics */
  groups: Record<string, Record<string, Record<string, number>>>;
  /** grouping → group → users */
  group_sizes: Record<string, Record<string, number>>;
}

/** The data of a run: `dataset` if given, else loaded from `data`, else from the run's recorded spec. */
export async function runData(checkpoint: string, data?: string, dataset?: Dataset): Promise<{ data: string; dataset: Dataset }> {
  const { runDir } = locate(checkpoint);
  const spec = data ?? readRun(runDir)?.config.data;
  if (spec === undefined) throw noRun(runDir);
  return { data: spec, dataset: dataset ?? await loadDataSpec(spec) };
}

/** Loads a run's checkpoint and evaluates it (see the file comment). */
export async function evaluateCheckpoint(o: EvaluateCheckpointOptions): Promise<CheckpointEvaluation> {
  const { data, dataset } = await runData(o.checkpoint, o.data, o.dataset);
  const ck = loadCheckpoint(o.checkpoint, dataset);
  const groups = o.groups ?? Object.keys(ck.run.group_sizes ?? {});
  const groupings = resolveGroupings(dataset, groups);
  const protocol = o.protocol ?? { protocol: 'full' };
  const key = protocolKey(protocol);
  const split = o.split ?? 'test';
  const ev = evaluate(ck.model, dataset, {
    split, protocols: protocol, seed: o.seed ?? ck.run.config.eval?.negatives_seed ?? ck.run.seed,
    groupings: Object.fromEntries(groupings.map((g) => [g.name, g.labels])), maxLen: ck.run.config.train.maxLen,
  });
  const flat = flatEvaluation(ev.protocols[key]!);
  const sizes: Record<string, Record<string, number>> = {};
  for (const [g, byLabel] of Object.entries(ev.protocols[key]!.groups)) sizes[g] = Object.fromEntries(Object.entries(byLabel).map(([l, s]) => [l, s.count]));
  return {
    checkpoint: o.checkpoint, weights: ck.weights, snapshot: ck.snapshot,
    run: { key: ck.run.key, model: ck.run.model, method: ck.run.method, seed: ck.run.seed, dataset: ck.run.dataset, data: ck.run.config.data },
    data, dataset: dataset.name, split, protocol: key, users: ev.users.length, mean_loss: ev.meanLoss,
    overall: flat.overall, groups: flat.groups, group_sizes: sizes,
  };
}

const fmt = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(4));

/** The evaluation as an aligned text table: overall, each group, and each grouping's gap (max − min). */
export function evaluationTable(r: CheckpointEvaluation, metrics: readonly string[] = ['recall@5', 'recall@10', 'recall@20', 'ndcg@5', 'ndcg@10', 'ndcg@20', 'mrr']): string {
  const rows: string[][] = [['group', 'users', ...metrics]];
  rows.push(['overall', String(r.users), ...metrics.map((m) => fmt(r.overall[m]))]);
  for (const [g, byLabel] of Object.entries(r.groups)) {
    for (const [l, s] of Object.entries(byLabel)) rows.push([`${g}=${l}`, String(r.group_sizes[g]?.[l] ?? ''), ...metrics.map((m) => fmt(s[m]))]);
    const gap = metrics.map((m) => {
      const v = Object.values(byLabel).map((s) => s[m]!).filter((x) => Number.isFinite(x));
      return v.length >= 2 ? fmt(Math.max(...v) - Math.min(...v)) : '–';
    });
    rows.push([`${g} gap (max − min)`, '', ...gap]);
  }
  return alignTable(rows);
}

/** The first `leftColumns` columns left-aligned (labels), the rest right-aligned (numbers), a rule under the header. */
export function alignTable(rows: readonly (readonly string[])[], leftColumns = 1): string {
  const w = rows[0]!.map((_, j) => Math.max(...rows.map((r) => [...(r[j] ?? '')].length)));
  const pad = (c: string, j: number): string => {
    const fill = ' '.repeat(Math.max(0, w[j]! - [...c].length));
    return j < leftColumns ? c + fill : fill + c;
  };
  const line = (r: readonly string[]): string => r.map(pad).join('  ').trimEnd();
  return [line(rows[0]!), w.map((n) => '-'.repeat(n)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export function registerEval(program: Command): void {
  const cmd = program.command('eval')
    .description('evaluate a trained run\'s checkpoint under full or sampled ranking, overall and per group')
    .requiredOption('--checkpoint <dir>', 'the --out directory of seqfair train (or its checkpoint/, checkpoint/best, checkpoint/last)')
    .option('--data <spec>', 'ml-100k:<dir>, ml-1m:<dir>, csv:<file>[,users=<file>] or synthetic[:…] (default: the run\'s)')
    .addOption(new Option('--protocol <p>', 'full ranking or sampled (100 negatives)').argParser(choiceArg(['full', 'sampled'] as const)).default('full'))
    .addOption(new Option('--negatives <how>', 'sampled negatives: popularity (default) or uniform').argParser(choiceArg(['popularity', 'uniform'] as const)))
    .option('--exclude-seen', 'full ranking without the items of the user\'s history')
    .option('--groups <list>', 'groupings: gender, age, occupation, group, popularity[:2060], length[:3333], … (default: the run\'s)', listArg)
    .addOption(new Option('--split <s>', 'evaluation split').argParser(choiceArg(['test', 'valid'] as const)).default('test'))
    .option('--seed <n>', 'seed of the sampled negatives (default: the run\'s seed)', intArg(0))
    .option('--out <file>', 'also write the result as JSON to this file')
    .option('--json', 'print the result as JSON');
  cmd.addHelpText('after', `
Examples:
  seqfair train --data synthetic:numUsers=300 --epochs 5 --groups group --out runs/s1
  seqfair eval --checkpoint runs/s1 --protocol full --exclude-seen --groups group,length
  seqfair eval --checkpoint runs/sasrec-1 --data ml-100k:../shared/datasets/ml-100k --protocol sampled --negatives uniform --groups gender,popularity:2060 --json

Loads checkpoint/best (the best validation epoch) when the run validated, else checkpoint/last.
Gap = max − min over the groups of a grouping.`);
  cmd.action(async (opts: { checkpoint: string; data?: string; protocol: 'full' | 'sampled'; negatives?: 'popularity' | 'uniform'; excludeSeen?: boolean; groups?: string[]; split: 'test' | 'valid'; seed?: number; out?: string; json?: boolean }) => {
    if (opts.negatives !== undefined && opts.protocol !== 'sampled') usage(cmd, `--negatives applies to --protocol sampled only (got --protocol ${opts.protocol})`);
    if (opts.excludeSeen && opts.protocol !== 'full') usage(cmd, `--exclude-seen applies to --protocol full only (got --protocol ${opts.protocol})`);
    const dataset = opts.data === undefined ? undefined : await loadDataOption(cmd, opts.data);
    if (dataset !== undefined && opts.groups !== undefined) {
      try {
        resolveGroupings(dataset, opts.groups);
      } catch (e) {
        usage(cmd, `--groups: ${(e as Error).message}`);
      }
    }
    const protocol: ProtocolSpec = opts.protocol === 'full' ? { protocol: 'full', excludeSeen: opts.excludeSeen ?? false } : { protocol: 'sampled', negatives: opts.negatives ?? 'popularity' };
    let r: CheckpointEvaluation;
    try {
      r = await evaluateCheckpoint({ checkpoint: opts.checkpoint, data: opts.data, dataset, protocol, groups: opts.groups, split: opts.split, seed: opts.seed });
    } catch (e) {
      if (e instanceof CheckpointError) usage(cmd, `--checkpoint: ${e.message}`);
      if (e instanceof RangeError && /grouping/.test(e.message)) usage(cmd, `--groups: ${e.message}`);
      if (e instanceof RangeError && opts.data === undefined) usage(cmd, `the run's data spec: ${e.message} (give --data)`);
      throw e;
    }
    if (opts.out !== undefined) {
      mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
      writeFileSync(opts.out, `${JSON.stringify(r, null, 1)}\n`);
    }
    if (opts.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else {
      process.stdout.write(`${r.run.model} ${r.run.method} seed ${r.run.seed} (${r.snapshot} weights) on ${r.dataset}, ${r.split} split, ${r.protocol}\n\n`);
      process.stdout.write(`${evaluationTable(r)}\n`);
      if (opts.out !== undefined) process.stdout.write(`\nwrote ${opts.out}\n`);
    }
  });
}
