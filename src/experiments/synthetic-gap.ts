/**
 * The synthetic gate of issue 4 ("Quality to reach" (a)): on the planted-bias synthetic data
 * (src/data/synthetic.ts, grouping `group`), SASRec trained with erm, cvar-dro and afsr over 5
 * seeds. The gate asks, per method against erm, paired by seed:
 *
 *   1. a gap exists: the minority is worse than the majority under erm in every seed;
 *   2. the method narrows it: reduction_s = gap_erm,s − gap_method,s (gap = majority − minority
 *      Recall@5, signed), mean > 0 with a 95 % paired t interval that excludes zero
 *      (src/eval/fairness-stats.ts pairedComparison);
 *   3. at no real cost: the method's mean overall Recall@5 >= erm's mean − 2 · erm's std over
 *      seeds (sample std). One-sided: a method that is MORE accurate passes.
 *
 *   npx tsx src/experiments/synthetic-gap.ts --out runs/fair-synthetic [--seeds 5] [--params '{"cvar-dro":{"alpha":0.2}}']
 *
 * writes <out>/results.json (compare(): every run's config, overall and per-group test metrics
 * under full-unseen, per-user side files under <out>/runs/), <out>/report/
 * (writeReport: paper-style tables with paired comparisons against erm), and <out>/gate.json +
 * <out>/gate.md (the three checks above with their numbers). test/experiments/synthetic-gap.test.ts
 * runs the same definitions.
 *
 * Settings (SYNTHETIC_GAP), and why:
 *  - data: every parameter that defines the planted bias at the generator's defaults
 *    (minorityShare 0.2, pStereo 0.2 for both groups, followUpProb 0.85, minorityItemShare 0.35,
 *    crossGroupProb 0.08, …); only the size is scaled down (300 users, 200 items, sequences of
 *    10–30 instead of 1000 / 1000 / 10–80) so that the 15 runs of the gate fit the test's time
 *    budget on two loaded cores. Data seed 1, the same data for every model seed: the seeds vary
 *    initialisation, dropout and batch order, and the pairing is over them;
 *  - model: SASRec with 1 block, 32 hidden, 2 heads, input length 20 (small data, small model);
 *  - training: AdamW lr 5e-3, batch 32, weight decay 0.01, 10 epochs, no early stopping (a fixed,
 *    deterministic budget for every method). At lr 1e-3 / batch 64, 10 epochs are 50 steps and
 *    ERM reaches Recall@5 0.48 (under-trained); at 5e-3 / 32 it reaches 0.76, within 0.02 of ERM
 *    trained 30 epochs with early stopping on validation (0.78);
 *  - protocol: full ranking without the user's history items ('full-unseen': no user consumes an
 *    item twice in this data, so ranking history items only adds noise); every run is also
 *    evaluated under the other three protocols (runs/<key>/result.json);
 *  - methods: afsr with its defaults (span 3, 6 neighbours, M = 5 per batch, λ = r = 0.1, β = 1);
 *    cvar-dro with α = 0.5, chosen on VALIDATION targets by the rule of synthetic-tune.ts (fixed
 *    before its 5-seed runs, after a 3-seed exploratory probe of α; candidates α ∈ {0.1, 0.2, 0.3, 0.5, 0.7} and afsr λ ∈ {0.1, 0.3, 1}; keep
 *    those whose validation Recall@5 is within 2 std of erm's, take the largest validation gap
 *    reduction). The default α = 0.2 narrows the test gap (+0.061 [+0.011, +0.110]) but costs
 *    0.055 Recall@5, about 5 erm standard deviations, and fails validation's accuracy bar too;
 *    afsr's λ = 0.1 was kept by the same rule (0.3 and 1 lose accuracy and do not narrow).
 *
 * Outcome with these settings (README, "The planted-gap gate"): the planted gap exists in every
 * seed, but neither method passes the gate. At 2,000 users and 1,000 items (synthetic-tune.ts
 * --data synthetic:numUsers=2000,numItems=1000,maxLen=30,seed=1), where the intervals are tighter,
 * the validation-chosen settings reduce the gap by +0.000 (cvar-dro) and −0.001 (afsr): the small
 * reductions seen at 300 users are noise. Where the gap is and why the methods miss it:
 * synthetic-diagnose.ts.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { compare, loadDataSpec } from '../compare/index.js';
import type { CompareEvent, ResultEntry, TrainSettings } from '../compare/index.js';
import type { Dataset } from '../data/preprocess.js';
import { type MeanStd, type PairedComparison, meanStd, pairedComparison } from '../eval/fairness-stats.js';
import { writeReport } from '../report/index.js';
import { isMain, parseArgs, parseSeeds, progressLine, writeAtomic } from './common.js';

export interface SyntheticGapSettings {
  data: string;
  model: string;
  modelOptions: Record<string, number>;
  train: Partial<TrainSettings>;
  methods: string[];
  methodParams: Record<string, Record<string, unknown>>;
  seeds: number[];
  /** results.json protocol key the gate reads */
  protocol: 'full-unseen';
  metric: string;
  grouping: string;
  majority: string;
  minority: string;
  baseline: string;
}

export const SYNTHETIC_GAP: Readonly<SyntheticGapSettings> = Object.freeze({
  data: 'synthetic:numUsers=300,numItems=200,maxLen=30,seed=1',
  model: 'sasrec',
  modelOptions: { hiddenSize: 32, layers: 1, heads: 2, maxLen: 20 },
  train: { epochs: 10, batchSize: 32, lr: 5e-3, weightDecay: 0.01, validation: false as const },
  methods: ['erm', 'cvar-dro', 'afsr'],
  methodParams: { 'cvar-dro': { alpha: 0.5 } },
  seeds: [1, 2, 3, 4, 5],
  protocol: 'full-unseen',
  metric: 'recall@5',
  grouping: 'group',
  majority: 'majority',
  minority: 'minority',
  baseline: 'erm',
});

export interface RunGapOptions extends Partial<SyntheticGapSettings> {
  out: string;
  dataset?: Dataset;
  onEvent?: (e: CompareEvent) => void;
}

/** Runs the grid (resumable: finished runs are skipped) and returns results.json's entries. */
export async function runSyntheticGap(o: RunGapOptions): Promise<{ settings: SyntheticGapSettings; entries: ResultEntry[] }> {
  const s: SyntheticGapSettings = { ...SYNTHETIC_GAP, ...Object.fromEntries(Object.entries(o).filter(([k, v]) => k in SYNTHETIC_GAP && v !== undefined)) } as SyntheticGapSettings;
  const ds = o.dataset ?? await loadDataSpec(s.data);
  mkdirSync(o.out, { recursive: true });
  const grid = {
    data: s.data, dataset: ds, models: [s.model], protocol: 'full' as const, excludeSeen: true,
    groups: [s.grouping], out: o.out, train: s.train as TrainSettings, modelOptions: s.modelOptions, methodParams: s.methodParams,
    onEvent: o.onEvent,
  };
  // One run per compare() call with a turn of the event loop between them: training is
  // synchronous, and a caller that must answer in between (vitest's worker RPC times out after
  // 60 s) would otherwise be blocked for the whole grid. The last call, over the whole grid,
  // finds every run finished and writes results.json and summary.md for all of them.
  for (const m of s.methods) {
    for (const seed of s.seeds) {
      await compare({ ...grid, methods: [m], seeds: [seed] });
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  const res = await compare({ ...grid, methods: s.methods, seeds: s.seeds, onEvent: undefined });
  return { settings: s, entries: res.runs };
}

export interface MethodGate {
  method: string;
  params: Record<string, unknown>;
  seeds: number[];
  /** signed gap majority − minority of the metric, per seed (aligned with seeds) */
  gap: number[];
  gapErm: number[];
  minority: number[];
  majority: number[];
  /** gap_erm − gap_method paired by seed: positive = narrower than erm */
  reduction: PairedComparison;
  overall: MeanStd;
  /** erm mean − 2 · erm std */
  overallFloor: number;
  narrows: boolean;
  withinTwoStd: boolean;
  pass: boolean;
}

export interface GapGate {
  settings: SyntheticGapSettings;
  metric: string;
  protocol: string;
  erm: { seeds: number[]; gap: number[]; majority: number[]; minority: number[]; overall: MeanStd; minorityWorseEverySeed: boolean };
  methods: MethodGate[];
}

function bySeed(entries: readonly ResultEntry[], method: string): ResultEntry[] {
  return entries.filter((e) => e.method === method).sort((a, b) => a.seed - b.seed);
}

/** The gate's three checks from results.json entries (see the file comment). */
export function gapGate(entries: readonly ResultEntry[], s: SyntheticGapSettings = SYNTHETIC_GAP): GapGate {
  const key = s.protocol;
  const mine = entries.filter((e) => e.protocol === key || (key === 'full-unseen' && e.protocol === 'full' && e.exclude_seen === true));
  const read = (e: ResultEntry, group?: string): number => {
    const rec = group === undefined ? e.test.overall : e.test.groups[s.grouping]?.[group];
    const v = rec?.[s.metric];
    if (typeof v !== 'number') throw new Error(`gapGate: ${e.method} seed ${e.seed} has no ${s.metric}${group ? ` for group ${group}` : ''}`);
    return v;
  };
  const base = bySeed(mine, s.baseline);
  if (base.length === 0) throw new Error(`gapGate: no ${s.baseline} runs under ${key}`);
  const gapOf = (es: ResultEntry[]): Map<number, number> => new Map(es.map((e) => [e.seed, read(e, s.majority) - read(e, s.minority)]));
  const ermGap = gapOf(base);
  const ermOverall = meanStd(base.map((e) => read(e)));
  const floor = ermOverall.mean - 2 * ermOverall.std;
  const methods: MethodGate[] = [];
  for (const m of s.methods) {
    if (m === s.baseline) continue;
    const es = bySeed(mine, m);
    if (es.length === 0) continue;
    const gap = gapOf(es);
    const reduction = pairedComparison(ermGap, gap); // erm − method
    const overall = meanStd(es.map((e) => read(e)));
    const narrows = reduction.n >= 2 && reduction.mean > 0 && reduction.lo > 0;
    const withinTwoStd = overall.mean >= floor;
    const seeds = reduction.seeds;
    methods.push({
      method: m, params: ((es[0]!.config as { method?: { params?: Record<string, unknown> } } | undefined)?.method?.params) ?? {},
      seeds, gap: seeds.map((x) => gap.get(x)!), gapErm: seeds.map((x) => ermGap.get(x)!),
      minority: seeds.map((x) => read(es.find((e) => e.seed === x)!, s.minority)),
      majority: seeds.map((x) => read(es.find((e) => e.seed === x)!, s.majority)),
      reduction, overall, overallFloor: floor, narrows, withinTwoStd, pass: narrows && withinTwoStd,
    });
  }
  return {
    settings: s, metric: s.metric, protocol: key,
    erm: {
      seeds: base.map((e) => e.seed), gap: base.map((e) => ermGap.get(e.seed)!),
      majority: base.map((e) => read(e, s.majority)), minority: base.map((e) => read(e, s.minority)),
      overall: ermOverall, minorityWorseEverySeed: base.every((e) => read(e, s.minority) < read(e, s.majority)),
    },
    methods,
  };
}

const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : '–');
const sg = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(4)}` : '–');
const ms = (xs: readonly number[]): string => {
  const m = meanStd(xs);
  return `${f(m.mean)} ± ${Number.isNaN(m.std) ? '–' : f(m.std)}`;
};

/** gate.md: the three checks with their numbers (generated; never typed). */
export function gateMarkdown(g: GapGate): string {
  const M = g.metric.replace('recall', 'Recall');
  const lines = [
    `# Synthetic planted-gap gate (${g.settings.data}, ${g.settings.model}, ${g.protocol})`,
    '',
    `Gap = ${g.settings.majority} − ${g.settings.minority} ${M} (signed), per seed; reduction = gap(erm) − gap(method), paired by seed, 95 % t interval; floor = erm mean − 2·std of overall ${M}. Seeds: ${g.erm.seeds.join(', ')}.`,
    '',
    `| method | params | overall ${M} | ${g.settings.majority} | ${g.settings.minority} | gap | reduction vs erm [95 % CI] | narrows | overall ≥ floor (${f(g.methods[0]?.overallFloor ?? Number.NaN)}) | pass |`,
    '|---|---|---|---|---|---|---|---|---|---|',
    `| erm | {} | ${f(g.erm.overall.mean)} ± ${f(g.erm.overall.std)} | ${ms(g.erm.majority)} | ${ms(g.erm.minority)} | ${ms(g.erm.gap)} | | | | minority worse in every seed: **${g.erm.minorityWorseEverySeed ? 'yes' : 'no'}** |`,
  ];
  for (const m of g.methods) {
    const r = m.reduction;
    lines.push(`| ${m.method} | ${JSON.stringify(m.params)} | ${f(m.overall.mean)} ± ${f(m.overall.std)} | ${ms(m.majority)} | ${ms(m.minority)} | ${ms(m.gap)} | ${sg(r.mean)} [${sg(r.lo)}, ${sg(r.hi)}] | ${m.narrows ? 'yes' : 'no'} | ${m.withinTwoStd ? 'yes' : 'no'} | **${m.pass ? 'PASS' : 'FAIL'}** |`);
  }
  lines.push('', 'Per seed (gap erm → gap method):', '');
  for (const m of g.methods) lines.push(`- ${m.method}: ${m.seeds.map((s, i) => `seed ${s}: ${sg(m.gapErm[i]!)} → ${sg(m.gap[i]!)}`).join('; ')}`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), {
    out: { help: 'output directory', default: 'runs/fair-synthetic' },
    seeds: { help: 'number of seeds or a list', default: '5' },
    data: { help: 'synthetic data spec', default: SYNTHETIC_GAP.data },
    methods: { help: 'comma-separated methods (erm first)', default: SYNTHETIC_GAP.methods.join(',') },
    params: { help: 'JSON of method parameters, e.g. {"cvar-dro":{"alpha":0.5}}', default: JSON.stringify(SYNTHETIC_GAP.methodParams) },
    model: { help: 'JSON of model options over the gate\'s, e.g. {"layers":2}', default: '{}' },
    train: { help: 'JSON of training settings over the gate\'s, e.g. {"epochs":20}', default: '{}' },
  }, 'usage: npx tsx src/experiments/synthetic-gap.ts [options]');
  const t0 = Date.now();
  const out = a.out!;
  const { settings, entries } = await runSyntheticGap({
    out, seeds: parseSeeds(a.seeds!), data: a.data!, methods: a.methods!.split(','), methodParams: JSON.parse(a.params!) as Record<string, Record<string, unknown>>,
    modelOptions: { ...SYNTHETIC_GAP.modelOptions, ...(JSON.parse(a.model!) as Record<string, number>) },
    train: { ...SYNTHETIC_GAP.train, ...(JSON.parse(a.train!) as Partial<TrainSettings>) },
    onEvent: progressLine('[synthetic-gap]'),
  });
  await writeReport(path.join(out, 'results.json'), path.join(out, 'report'), { metrics: ['recall@5', 'ndcg@5', 'recall@10', 'ndcg@10'], fairnessMetrics: ['recall@5', 'ndcg@5'] });
  const gate = gapGate(entries, settings);
  writeAtomic(path.join(out, 'gate.json'), `${JSON.stringify(gate, null, 1)}\n`);
  const md = gateMarkdown(gate);
  writeAtomic(path.join(out, 'gate.md'), md);
  process.stdout.write(`${md}\nwrote ${path.join(out, 'results.json')}, ${path.join(out, 'gate.md')} and ${path.join(out, 'report')}/ (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
}

if (isMain(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`synthetic-gap: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
