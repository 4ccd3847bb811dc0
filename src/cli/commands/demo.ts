/**
 * `seqfair demo`: the embedded default, needing no data download. It generates the synthetic
 * planted-bias data set (src/data/synthetic.ts: a 20 % minority whose next item after a
 * stereotypical item differs from the majority's), trains SASRec with ERM, CVaR-DRO and A-FSR
 * through the compare grid runner (src/compare: one seed, resumable — a second run with the same
 * options reuses the finished runs), prints overall and per-group (majority / minority) Recall and
 * NDCG at 5 and 10 with the gap, and writes the report (src/report: tables, SVG charts, HTML).
 *
 * Evaluation: full ranking of all items without the user's history (the synthetic users never
 * repeat an item), on the last item of every user; validation (the best epoch's weights are kept)
 * on the item before it. Gap = majority − minority: > 0 means the minority is served worse.
 *
 * Sizes (DEMO_DEFAULTS) are chosen for about two minutes on two idle cores, with the planted gap
 * clearly visible under ERM; `--users`/`--items` (hidden) and the config's "synthetic" change them.
 *
 * Exit status: 0 done, 1 a run failed, 2 usage (bad option or config field).
 */
import path from 'node:path';
import { type Command, Option } from 'commander';
import { type CompareEvent, compare } from '../../compare/index.js';
import { methodNames, createMethod } from '../../compare/methods.js';
import { buildModel } from '../../compare/run.js';
import { type FileConfig, intArg } from '../../compare/options.js';
import { loadDataSpec } from '../../compare/data-spec.js';
import { trainableUsers } from '../../data/batching.js';
import type { Dataset } from '../../data/preprocess.js';
import { type WrittenReport, writeReport } from '../../report/index.js';
import { resolveTrainConfig } from '../../train/trainer.js';
import { DemoConfigSchema, UsageError, layer, readConfig, toFileConfig } from '../config.js';
import { gridProgress, progressMode } from '../progress.js';
import { usage } from './compare.js';
import { alignTable } from './eval.js';

export const DEMO_METRICS = ['recall@5', 'recall@10', 'ndcg@5', 'ndcg@10'] as const;

/** The demo's sizes and hyper-parameters (see the file comment). */
export const DEMO_DEFAULTS = {
  out: 'seqfair-demo',
  seed: 1,
  model: 'sasrec',
  methods: ['erm', 'cvar-dro', 'afsr'] as readonly string[],
  /** the generator: 800 users (160 minority), 500 items, sequences of 10..50 items */
  synthetic: { numUsers: 800, numItems: 500, maxLen: 50 } as Record<string, number>,
  config: {
    train: { epochs: 10, batchSize: 64, lr: 1e-3, validation: { metric: 'ndcg@10', patience: 0 } },
    // SASRec at half the paper's width and the last 30 items: the demo's sequences are short
    model: { hiddenSize: 32, maxLen: 30, layers: 2, heads: 2 },
    models: {},
    methods: {},
  } as FileConfig,
};

export interface DemoOptions {
  /** output directory (default ./seqfair-demo) */
  out?: string;
  /** seed of the data and of training (default 1) */
  seed?: number;
  epochs?: number;
  /** synthetic users and items (default 800, 500) */
  users?: number;
  items?: number;
  /** settings on top of DEMO_DEFAULTS.config (a validated config file: see src/cli/config.ts) */
  config?: FileConfig;
  /** generator options on top of DEMO_DEFAULTS.synthetic */
  synthetic?: Record<string, number>;
  onEvent?: (e: CompareEvent) => void;
}

export type DemoMetrics = Record<(typeof DEMO_METRICS)[number], number>;

export interface DemoRow {
  method: string;
  overall: DemoMetrics;
  majority: DemoMetrics;
  minority: DemoMetrics;
  /** majority − minority */
  gap: DemoMetrics;
  best_epoch: number | null;
}

export interface DemoResult {
  out: string;
  data: string;
  dataset: { name: string; users: number; items: number; majority: number; minority: number };
  protocol: string;
  rows: DemoRow[];
  results: string;
  report: Omit<WrittenReport, 'summary'>;
  trained: number;
  reused: number;
  wall_s: number;
}

/** The demo's data spec, settings and methods, from its options (throws UsageError on bad values). */
export function demoSetup(o: DemoOptions): { data: string; seed: number; settings: FileConfig; methods: string[] } {
  const seed = o.seed ?? DEMO_DEFAULTS.seed;
  const synthetic: Record<string, number> = { ...DEMO_DEFAULTS.synthetic, ...(o.synthetic ?? {}), seed };
  if (o.users !== undefined) synthetic.numUsers = o.users;
  if (o.items !== undefined) synthetic.numItems = o.items;
  // every run is also ranked against 100 sampled negatives per user (src/compare/run.ts), which
  // needs 100 items outside the longest sequence
  const longest = synthetic.maxLen ?? 80;
  if (!(synthetic.numItems! >= longest + 101)) {
    throw new UsageError(`${o.items !== undefined ? '--items' : 'config synthetic.numItems'}: expected at least ${longest + 101} items (the longest sequence, ${longest}, plus 100 sampled negatives and the target), got ${synthetic.numItems}`);
  }
  const data = `synthetic:${Object.entries(synthetic).map(([k, v]) => `${k}=${v}`).join(',')}`;
  const settings = layer(DEMO_DEFAULTS.config, o.config ?? { train: {}, model: {}, models: {}, methods: {} });
  if (o.epochs !== undefined) settings.train.epochs = o.epochs;
  const known = methodNames();
  const methods = [...DEMO_DEFAULTS.methods];
  for (const m of methods) {
    if (!known.includes(m)) throw new Error(`demo: method '${m}' is not registered with compare (known: ${known.join(', ')}); import seqfair's API (src/api.ts), which registers the objectives`);
  }
  return { data, seed, settings, methods };
}

function pick(m: Record<string, number> | undefined): DemoMetrics {
  return Object.fromEntries(DEMO_METRICS.map((k) => [k, m?.[k] ?? Number.NaN])) as DemoMetrics;
}

/** Runs the demo (see the file comment): the grid, then the report. */
export async function runDemo(o: DemoOptions = {}, preloaded?: Dataset): Promise<DemoResult> {
  const t0 = performance.now();
  const out = o.out ?? DEMO_DEFAULTS.out;
  const { data, seed, settings, methods } = demoSetup(o);
  const dataset = preloaded ?? await loadDataSpec(data);
  // A-FSR refreshes its item neighbourhoods once per epoch (the paper's schedule)
  const batch = settings.train.batchSize ?? 64;
  const steps = Math.max(1, Math.ceil(trainableUsers(dataset, 'next').length / batch));
  const methodParams = { ...settings.methods, afsr: { refreshEvery: steps, ...(settings.methods.afsr ?? {}) } };
  const res = await compare({
    data, dataset, models: [DEMO_DEFAULTS.model], methods, seeds: [seed], protocol: 'full', excludeSeen: true, groups: ['group'], out,
    train: settings.train, modelOptions: settings.model, perModelOptions: settings.models, methodParams, onEvent: o.onEvent,
  });
  const results = path.join(out, 'results.json');
  const { summary: _s, ...report } = await writeReport(results, out, { metrics: [...DEMO_METRICS], fairnessMetrics: ['recall@10', 'ndcg@10'], baseline: 'erm', source: results, bootstrap: false });
  const rows: DemoRow[] = res.runs.map((r) => {
    const g = r.test.groups.group ?? {};
    const majority = pick(g.majority), minority = pick(g.minority);
    const gap = Object.fromEntries(DEMO_METRICS.map((k) => [k, majority[k] - minority[k]])) as DemoMetrics;
    return { method: r.method, overall: pick(r.test.overall), majority, minority, gap, best_epoch: (r.best_epoch as number | null) ?? null };
  });
  const sizes = res.records[0]?.group_sizes.group ?? {};
  return {
    out, data,
    dataset: { name: dataset.name, users: dataset.numUsers, items: dataset.numItems, majority: sizes.majority ?? 0, minority: sizes.minority ?? 0 },
    protocol: 'full ranking, history items excluded',
    rows, results, report, trained: res.trained, reused: res.skipped, wall_s: (performance.now() - t0) / 1000,
  };
}

const f4 = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : '–');

/** The demo's table: per method, overall / majority / minority / gap rows of Recall and NDCG at 5 and 10. */
export function demoTable(rows: readonly DemoRow[]): string {
  const t: string[][] = [['method', 'group', 'R@5', 'R@10', 'N@5', 'N@10']];
  for (const r of rows) {
    for (const [i, [label, m]] of ([['overall', r.overall], ['majority', r.majority], ['minority', r.minority], ['gap', r.gap]] as const).entries()) {
      t.push([i === 0 ? r.method : '', label, ...DEMO_METRICS.map((k) => (label === 'gap' && Number.isFinite(m[k]) ? `${m[k] >= 0 ? '+' : ''}${m[k].toFixed(4)}` : f4(m[k])))]);
    }
  }
  return alignTable(t, 2);
}

/** The lines after the table: the planted bias under ERM, in numbers. */
export function biasLine(rows: readonly DemoRow[]): string {
  const erm = rows.find((r) => r.method === 'erm');
  if (!erm) return '';
  const a = erm.majority['ndcg@10'], b = erm.minority['ndcg@10'];
  const rel = a > 0 ? (100 * (a - b)) / a : Number.NaN;
  const head = `Under erm the minority gets NDCG@10 ${f4(b)} against the majority's ${f4(a)}`;
  if (!(rel > 0)) return `${head}: the minority is not worse, so the planted bias is NOT visible at these settings (more users or epochs).`;
  return `${head} (${rel.toFixed(0)}% lower): ${rel >= 15 ? 'the planted bias is clearly visible' : 'the planted bias is only faintly visible (train longer: --epochs)'}.`;
}

export function registerDemo(program: Command): void {
  const cmd = program.command('demo')
    .description('train SASRec with erm, cvar-dro and afsr on built-in synthetic data with a planted minority bias; print the per-group table and write an HTML report')
    .option('--out <dir>', 'output directory: runs, results.json, tables, charts/ and index.html', DEMO_DEFAULTS.out)
    .option('--seed <n>', `seed of the data and of training (default ${DEMO_DEFAULTS.seed})`, intArg(0))
    .option('--epochs <n>', `training epochs per method (default ${DEMO_DEFAULTS.config.train.epochs})`, intArg(1))
    .option('--config <file>', 'JSON settings: train fields, model, methods, synthetic (flags override it)')
    .option('--json', 'print the result as JSON (no progress bar)')
    .addOption(new Option('--users <n>', 'synthetic users').argParser(intArg(10)).hideHelp())
    .addOption(new Option('--items <n>', 'synthetic items').argParser(intArg(20)).hideHelp());
  cmd.addHelpText('after', `
Examples:
  seqfair demo
  seqfair demo --out /tmp/demo --epochs 20 --seed 2
  seqfair demo --json > demo.json
  seqfair demo --config demo.json     # e.g. {"synthetic": {"numUsers": 2000}, "methods": {"cvar-dro": {"alpha": 0.5}}}

Data: ${DEMO_DEFAULTS.synthetic.numUsers} synthetic users (20% minority) and ${DEMO_DEFAULTS.synthetic.numItems} items, generated in memory.
Evaluation: full ranking without history items; gap = majority − minority (> 0: the minority is served worse).
Run again with the same options to reuse the finished runs; open <out>/index.html for the report.`);
  cmd.action(async (opts: { out: string; seed?: number; epochs?: number; config?: string; json?: boolean; users?: number; items?: number }) => {
    let config: FileConfig | undefined;
    let synthetic: Record<string, number> | undefined;
    try {
      if (opts.config !== undefined) {
        const c = readConfig(DemoConfigSchema, opts.config);
        const { synthetic: syn, ...rest } = c;
        config = toFileConfig(rest);
        synthetic = syn as Record<string, number> | undefined;
      }
    } catch (e) {
      if (e instanceof UsageError) usage(cmd, e.message);
      throw e;
    }
    let setup: ReturnType<typeof demoSetup>;
    let dataset: Dataset;
    try {
      setup = demoSetup({ ...opts, config, synthetic });
    } catch (e) {
      if (e instanceof UsageError) usage(cmd, e.message);
      throw e;
    }
    try {
      dataset = await loadDataSpec(setup.data);
    } catch (e) {
      usage(cmd, `the synthetic data (${setup.data}): ${(e as Error).message}`);
    }
    // dry run of the model and method settings, so a bad config field fails before training
    for (const m of setup.methods) {
      try {
        const model = buildModel(DEMO_DEFAULTS.model, dataset, setup.seed, { ...setup.settings.model, ...(setup.settings.models[DEMO_DEFAULTS.model] ?? {}) });
        const s = createMethod(m, { dataset, seed: setup.seed, params: setup.settings.methods[m] ?? {}, model, batchSize: setup.settings.train.batchSize });
        resolveTrainConfig(model, { epochs: 1, ...setup.settings.train, seed: setup.seed, objective: s.objective });
      } catch (e) {
        usage(cmd, `${DEMO_DEFAULTS.model} / ${m}: ${(e as Error).message}`);
      }
    }
    const progress = gridProgress({ mode: progressMode(opts.json === true) });
    let r: DemoResult;
    try {
      r = await runDemo({ ...opts, config, synthetic, onEvent: progress.onEvent }, dataset);
    } finally {
      progress.stop();
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return;
    }
    const d = r.dataset;
    process.stdout.write([
      '',
      `seqfair demo: SASRec on synthetic data with a planted minority bias (${d.users} users: ${d.majority} majority, ${d.minority} minority; ${d.items} items)`,
      `Test metrics, ${r.protocol}; gap = majority − minority (> 0: the minority is served worse)`,
      '',
      demoTable(r.rows),
      '',
      biasLine(r.rows),
      '',
      `Report: ${path.join(r.out, 'index.html')} (tables and ${r.report.charts.length} SVG charts in ${path.join(r.out, 'charts')})`,
      `Results: ${r.results}; runs, logs and checkpoints in ${path.join(r.out, 'runs')}`,
      `Wall time ${r.wall_s.toFixed(1)} s (${r.trained} runs trained, ${r.reused} reused).`,
      '',
    ].join('\n'));
  });
}
