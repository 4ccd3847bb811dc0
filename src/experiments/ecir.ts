/**
 * The ECIR 2025 setting (Acharya et al., "Improving Minimax Group Fairness in Sequential
 * Recommendation"; ../shared/seeds/003_*.txt) on MovieLens-100K, issue 4 "Quality to reach" (b):
 * SASRec, full ranking, NDCG@20; ERM, IPW, class-balanced, Group DRO, Streaming DRO, CVaR DRO
 * and A-FSR over popularity and sequence-length groups at 33/33/33, 20/60/20 and 10/80/10 and
 * the popularity × length intersection; worst-group and overall NDCG@20 per method, and whether
 * CVaR DRO beats ERM on both.
 *
 *   npx tsx src/experiments/ecir.ts --out runs/fair-ecir [--seeds 1] [--stages agnostic,cvar-alpha,33,2060,1080,extra]
 *
 * Stages (each one compare() grid in its own sub-directory, resumable; a stage run again skips
 * its finished runs):
 *   agnostic      erm, cvar-dro, afsr, class-balanced: trained once, evaluated on every grouping
 *   cvar-alpha    cvar-dro with α = 0.5 and 0.8 (CVAR_ALPHAS); the tables' CVaR verdict uses the α
 *                 with the best validation NDCG@20 (the ECIR paper tunes α on validation NDCG)
 *   33|2060|1080  ipw, group-dro, streaming-dro trained on popularity:<s> and on length:<s> groups
 *                 (thirds are spelled popularity:3333 / length:3333 in results, as src/eval/groupings.ts reads them)
 *   extra         class-balanced-log (the ECIR code's log-smoothed weights)
 * The intersection table uses the group-aware runs trained on popularity:3333 and on length:3333 (the
 * ECIR paper trains the group methods on one of the two groupings for it and reports both).
 * Stages run in the order given, so a partial run has the most informative part first.
 *
 * Output (in --out): results.json (every run; group-aware methods named `<method>[<grouping>]`,
 * evaluation groupings popularity:*, length:* and popularity×length), report/ (writeReport:
 * tables with paired comparisons against erm), ecir.md and ecir.json (the ECIR-style table).
 *
 * Settings (ECIR_SETTINGS): SASRec with the model defaults (64 hidden, 2 blocks, 2 heads, maxLen
 * 50, dropout 0.2), AdamW lr 1e-3, weight decay 0.01, batch 64 (the A-FSR paper's optimiser, also
 * the trainer's defaults), full-softmax cross-entropy; early stopping on validation NDCG@20 under
 * full ranking without the history items ('full-unseen', patience 10, at most 100 epochs); test
 * under the same protocol. Method hyper-parameters are each method's defaults (src/fairness;
 * cvar-dro α = 0.2, the ECIR code's default; the paper tunes α on validation NDCG, so the stage
 * cvar-alpha adds 0.5 and 0.8 and the verdict uses the best of the three by validation NDCG@20).
 * Split: leave-one-out with validation on all users (the A-FSR setting of
 * src/data/preprocess.ts), where the ECIR paper holds out validation targets for 5 % of users.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { compare, loadDataSpec } from '../compare/index.js';
import type { ResultEntry, TrainSettings } from '../compare/index.js';
import type { Dataset } from '../data/preprocess.js';
import { groupFairness, meanStd, pairedComparison } from '../eval/fairness-stats.js';
import { writeReport } from '../report/index.js';
import { orderGroups } from '../report/summary.js';
import { addPerUserGrouping, isMain, mergeResults, ml100kSpec, parseArgs, parseSeeds, progressLine, writeAtomic } from './common.js';
import { groupingLabels } from '../compare/train-groups.js';

export const ECIR_SHARES = ['33', '2060', '1080'] as const;
/** the grouping specs' share part: src/eval/groupings.ts reads thirds as '3333' (or none), not '33' */
const SHARE_SPEC: Record<string, string> = { 33: '3333', 2060: '2060', 1080: '1080' };
export const ECIR_EVAL_GROUPINGS = ECIR_SHARES.flatMap((s) => [`popularity:${SHARE_SPEC[s]}`, `length:${SHARE_SPEC[s]}`]);
export const INTERSECTION = 'popularity×length';
export const ECIR_AGNOSTIC = ['erm', 'cvar-dro', 'afsr', 'class-balanced'] as const;
export const ECIR_AWARE = ['ipw', 'group-dro', 'streaming-dro'] as const;
/**
 * CVaR's α beside the default 0.2 (agnostic stage): the ECIR paper tunes α on validation NDCG;
 * 0.5 is the independent check's value quoted in issue 4, 0.8 a mild one. The table's CVaR row
 * is the α with the best mean validation NDCG@20 ('cvar-dro*'); every α is listed.
 */
export const CVAR_ALPHAS = [0.5, 0.8] as const;
/** Stage 'extra': the ECIR code's log-smoothed class-balanced weights (plain inverse frequency weighs rare items up to ~60x on ML-100K). */
export const ECIR_EXTRA = ['class-balanced-log'] as const;

export const ECIR_SETTINGS = {
  data: ml100kSpec(),
  model: 'sasrec',
  modelOptions: {} as Record<string, number>,
  train: { epochs: 100, batchSize: 64, lr: 1e-3, weightDecay: 0.01, validation: { metric: 'ndcg@20', patience: 10, every: 1 } } as Partial<TrainSettings>,
  metric: 'ndcg@20',
  protocol: 'full-unseen',
};

export interface EcirOptions {
  data?: string;
  out: string;
  seeds: number[];
  stages: string[];
  epochs?: number;
  patience?: number;
  dataset?: Dataset;
}

function stageDir(out: string, stage: string, grouping?: string): string {
  return path.join(out, grouping === undefined ? stage : `train-${grouping.replace(/[:×]/g, '-')}`);
}

/** compare()'s options of the ECIR setting, less methods and out (ecir-beyond.ts trains its candidates with them). */
export function ecirCommon(data: string, ds: Dataset, seeds: number[], epochs?: number, patience?: number) {
  const train: Partial<TrainSettings> = {
    ...ECIR_SETTINGS.train,
    ...(epochs !== undefined ? { epochs } : {}),
    validation: { ...(ECIR_SETTINGS.train.validation as object), ...(patience !== undefined ? { patience } : {}) } as TrainSettings['validation'],
  };
  return {
    data, dataset: ds, models: [ECIR_SETTINGS.model], seeds, protocol: 'full' as const, excludeSeen: true,
    groups: ECIR_EVAL_GROUPINGS, train: train as TrainSettings, modelOptions: ECIR_SETTINGS.modelOptions,
  };
}

/** Runs the stages (resumable), then merges and reports what exists. */
export async function runEcir(o: EcirOptions): Promise<{ entries: ResultEntry[]; table: EcirTable }> {
  const data = o.data ?? ECIR_SETTINGS.data;
  const ds = o.dataset ?? await loadDataSpec(data);
  mkdirSync(o.out, { recursive: true });
  const common = ecirCommon(data, ds, o.seeds, o.epochs, o.patience);
  for (const stage of o.stages) {
    if (stage === 'agnostic') {
      await compare({ ...common, methods: [...ECIR_AGNOSTIC], out: stageDir(o.out, stage), onEvent: progressLine('[agnostic]') });
    } else if (stage === 'extra') {
      await compare({ ...common, methods: [...ECIR_EXTRA], out: stageDir(o.out, stage), onEvent: progressLine('[extra]') });
    } else if (stage === 'cvar-alpha') {
      for (const alpha of CVAR_ALPHAS) {
        await compare({ ...common, methods: ['cvar-dro'], methodParams: { 'cvar-dro': { alpha } }, out: path.join(o.out, `cvar-alpha-${alpha}`), onEvent: progressLine(`[cvar α=${alpha}]`) });
      }
    } else if ((ECIR_SHARES as readonly string[]).includes(stage)) {
      for (const kind of ['popularity', 'length']) {
        const g = `${kind}:${SHARE_SPEC[stage]}`;
        const methodParams = Object.fromEntries(ECIR_AWARE.map((m) => [m, { trainGroups: g }]));
        await compare({ ...common, methods: [...ECIR_AWARE], methodParams, out: stageDir(o.out, stage, g), onEvent: progressLine(`[${g}]`) });
      }
    } else throw new RangeError(`--stages: unknown stage '${stage}' (known: agnostic, cvar-alpha, ${ECIR_SHARES.join(', ')}, extra)`);
  }
  return report(o.out, ds);
}

/** Merges every stage directory under `out`, adds the intersection, writes the report and table. */
export async function report(out: string, ds: Dataset): Promise<{ entries: ResultEntry[]; table: EcirTable }> {
  const parts: { dir: string; rename?: (m: string) => string }[] = [{ dir: stageDir(out, 'agnostic') }];
  for (const alpha of CVAR_ALPHAS) parts.push({ dir: path.join(out, `cvar-alpha-${alpha}`), rename: (m) => `${m}[α=${alpha}]` });
  parts.push({ dir: stageDir(out, 'extra') });
  for (const s of ECIR_SHARES) {
    for (const kind of ['popularity', 'length']) {
      const g = `${kind}:${SHARE_SPEC[s]}`;
      parts.push({ dir: stageDir(out, s, g), rename: (m) => `${m}[${g}]` });
    }
  }
  const entries = mergeResults(parts, out);
  if (entries.length === 0) throw new Error(`${out}: no finished runs to report`);
  addPerUserGrouping(entries, out, INTERSECTION, groupingLabels(ds, 'popularity:3333×length:3333'), ds);
  writeAtomic(path.join(out, 'results.json'), `${JSON.stringify({ runs: entries }, null, 1)}\n`);
  await writeReport(path.join(out, 'results.json'), path.join(out, 'report'), {
    metrics: ['recall@20', 'ndcg@20', 'ndcg@10', 'recall@10'], fairnessMetrics: [ECIR_SETTINGS.metric],
  });
  const table = ecirTable(entries);
  writeAtomic(path.join(out, 'ecir.json'), `${JSON.stringify(table, null, 1)}\n`);
  writeAtomic(path.join(out, 'ecir.md'), ecirMarkdown(table));
  return { entries, table };
}

export interface EcirCell {
  method: string;
  seeds: number[];
  overall: { mean: number; std: number };
  worst: { mean: number; std: number; groups: Record<string, number> };
  perGroup: Record<string, number>;
}

export interface EcirTable {
  metric: string;
  protocol: string;
  groupings: { grouping: string; groups: string[]; rows: EcirCell[]; cvarVsErm: { cvar: string; overall: number; worst: number; overallInterval: [number, number] | null; worstInterval: [number, number] | null; beatsBoth: boolean | null } | null }[];
}

/** Display order of group labels; an intersection `a×b` in the known order of a, then of b. */
export function orderLabels(labels: readonly string[]): string[] {
  const set = [...new Set(labels)];
  if (!set.every((l) => l.includes('×'))) return orderGroups(set);
  const pa = orderGroups(set.map((l) => l.split('×')[0]!)), pb = orderGroups(set.map((l) => l.split('×')[1]!));
  const pos = (l: string): number => pa.indexOf(l.split('×')[0]!) * pb.length + pb.indexOf(l.split('×')[1]!);
  return set.sort((x, y) => pos(x) - pos(y));
}

/** Rows of the ECIR table for one evaluation grouping: group-agnostic methods and the group-aware ones trained on it. */
function rowsFor(grouping: string, methods: readonly string[]): string[] {
  const train = grouping === INTERSECTION ? ['popularity:3333', 'length:3333'] : [grouping];
  const out: string[] = [];
  const order = ['erm', 'ipw', 'class-balanced', 'class-balanced-log', 'group-dro', 'streaming-dro', 'cvar-dro', 'afsr'];
  for (const m of order) {
    if ((ECIR_AWARE as readonly string[]).includes(m)) for (const g of train) out.push(`${m}[${g}]`);
    else if (m === 'cvar-dro') out.push('cvar-dro', ...CVAR_ALPHAS.map((a) => `cvar-dro[α=${a}]`));
    else out.push(m);
  }
  return out.filter((m) => methods.includes(m));
}

/** The CVaR variant (method name) with the best mean validation NDCG@20, or null without CVaR runs. */
export function cvarByValidation(entries: readonly ResultEntry[]): string | null {
  const names = ['cvar-dro', ...CVAR_ALPHAS.map((a) => `cvar-dro[α=${a}]`)];
  let best: string | null = null, bestV = -Infinity;
  for (const n of names) {
    const v = entries.filter((e) => e.method === n).map((e) => (e.valid as Record<string, number> | undefined)?.[ECIR_SETTINGS.metric] ?? Number.NaN);
    const m = meanStd(v).mean;
    if (v.length > 0 && Number.isFinite(m) && m > bestV) [best, bestV] = [n, m];
  }
  return best;
}

export function ecirTable(entries: readonly ResultEntry[]): EcirTable {
  const metric = ECIR_SETTINGS.metric;
  const cvarName = cvarByValidation(entries);
  const methods = [...new Set(entries.map((e) => e.method))];
  const groupings = [...ECIR_EVAL_GROUPINGS, INTERSECTION];
  const value = (e: ResultEntry): number => e.test.overall[metric] ?? Number.NaN;
  return {
    metric,
    protocol: ECIR_SETTINGS.protocol,
    groupings: groupings.map((g) => {
      const rows: EcirCell[] = [];
      const perSeed = new Map<string, { overall: Map<number, number>; worst: Map<number, number> }>();
      const groups = orderLabels(entries.flatMap((e) => Object.keys(e.test.groups[g] ?? {})));
      for (const m of rowsFor(g, methods)) {
        const es = entries.filter((e) => e.method === m && e.test.groups[g] !== undefined).sort((a, b) => a.seed - b.seed);
        if (es.length === 0) continue;
        const worstGroups: Record<string, number> = {};
        const worst = es.map((e) => {
          const f = groupFairness(e.test.groups[g]!, metric);
          worstGroups[f.worst] = (worstGroups[f.worst] ?? 0) + 1;
          return f.worstValue;
        });
        const overall = es.map(value);
        perSeed.set(m, { overall: new Map(es.map((e, i) => [e.seed, overall[i]!])), worst: new Map(es.map((e, i) => [e.seed, worst[i]!])) });
        const perGroup: Record<string, number> = {};
        for (const l of groups) perGroup[l] = meanStd(es.map((e) => e.test.groups[g]![l]?.[metric] ?? Number.NaN)).mean;
        const o = meanStd(overall), w = meanStd(worst);
        rows.push({ method: m, seeds: es.map((e) => e.seed), overall: { mean: o.mean, std: o.std }, worst: { mean: w.mean, std: w.std, groups: worstGroups }, perGroup });
      }
      const c = cvarName === null ? undefined : perSeed.get(cvarName), b = perSeed.get('erm');
      let cvarVsErm: EcirTable['groupings'][number]['cvarVsErm'] = null;
      if (c && b) {
        const po = pairedComparison(c.overall, b.overall), pw = pairedComparison(c.worst, b.worst);
        const interval = (p: typeof po): [number, number] | null => (Number.isNaN(p.lo) ? null : [p.lo, p.hi]);
        cvarVsErm = {
          cvar: cvarName!,
          overall: po.mean, worst: pw.mean, overallInterval: interval(po), worstInterval: interval(pw),
          // "beats on both": higher mean on both; with an interval (2+ seeds) it must also exclude 0
          beatsBoth: po.n === 0 || pw.n === 0 ? null : po.n >= 2 ? po.lo > 0 && pw.lo > 0 : po.mean > 0 && pw.mean > 0,
        };
      }
      return { grouping: g, groups, rows, cvarVsErm };
    }),
  };
}

function f4(x: number): string {
  return Number.isFinite(x) ? x.toFixed(4) : '–';
}

function signed(x: number): string {
  return Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(4)}` : '–';
}

export function ecirMarkdown(t: EcirTable): string {
  const out: string[] = [
    `# ECIR 2025 setting on ML-100K: SASRec, ${t.protocol} ranking, ${t.metric.toUpperCase()}`,
    '',
    `Per evaluation grouping: overall and worst-group ${t.metric} (mean ± std over seeds; "–" std for one seed), and each group's mean. Group-aware methods are named by the groups they trained on. Generated by src/experiments/ecir.ts; do not edit.`,
  ];
  for (const g of t.groupings) {
    if (g.rows.length === 0) continue;
    out.push('', `## ${g.grouping}`, '');
    out.push(`| method | seeds | overall | worst group | ${g.groups.join(' | ')} |`);
    out.push(`|---|---|---|---|${g.groups.map(() => '---').join('|')}|`);
    const bestO = Math.max(...g.rows.map((r) => r.overall.mean)), bestW = Math.max(...g.rows.map((r) => r.worst.mean));
    for (const r of g.rows) {
      const ms = (x: { mean: number; std: number }, best: number): string => {
        const s = `${f4(x.mean)} ± ${Number.isNaN(x.std) ? '–' : f4(x.std)}`;
        return x.mean === best ? `**${s}**` : s;
      };
      const wg = Object.entries(r.worst.groups).map(([l, n]) => `${l}${r.seeds.length > 1 ? `×${n}` : ''}`).join(', ');
      out.push(`| ${r.method} | ${r.seeds.length} | ${ms(r.overall, bestO)} | ${ms(r.worst, bestW)} (${wg}) | ${g.groups.map((l) => f4(r.perGroup[l] ?? Number.NaN)).join(' | ')} |`);
    }
    const c = g.cvarVsErm;
    if (c) {
      const iv = (x: [number, number] | null): string => (x ? ` [${signed(x[0])}, ${signed(x[1])}]` : ' (one seed: no interval)');
      out.push('', `CVaR DRO (${c.cvar}, the α with the best validation ${t.metric}) − ERM: overall ${signed(c.overall)}${iv(c.overallInterval)}, worst group ${signed(c.worst)}${iv(c.worstInterval)} → CVaR beats ERM on both: **${c.beatsBoth === null ? 'n/a' : c.beatsBoth ? 'yes' : 'no'}**`);
    }
  }
  return `${out.join('\n')}\n`;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), {
    data: { help: 'data spec', default: ECIR_SETTINGS.data },
    out: { help: 'output directory', default: 'runs/fair-ecir' },
    seeds: { help: 'number of seeds or a list', default: '1' },
    stages: { help: 'comma-separated stages in order: agnostic, cvar-alpha, 33, 2060, 1080, extra', default: 'agnostic,cvar-alpha,33,2060,1080,extra' },
    epochs: { help: 'maximum epochs (default 100)' },
    patience: { help: 'early-stopping patience in validations (default 10)' },
    'report-only': { help: 'merge and report the finished runs without training', flag: true },
  }, 'usage: npx tsx src/experiments/ecir.ts [options]');
  const t0 = Date.now();
  const opts: EcirOptions = {
    data: a.data, out: a.out!, seeds: parseSeeds(a.seeds!), stages: a['report-only'] ? [] : a.stages!.split(','),
    epochs: a.epochs !== undefined ? Number(a.epochs) : undefined, patience: a.patience !== undefined ? Number(a.patience) : undefined,
  };
  const { entries } = await runEcir(opts);
  process.stdout.write(`${ecirMarkdown(ecirTable(entries))}\nwrote ${path.join(opts.out, 'results.json')}, ${path.join(opts.out, 'ecir.md')} and ${path.join(opts.out, 'report')}/ (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
}

if (isMain(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`ecir: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
