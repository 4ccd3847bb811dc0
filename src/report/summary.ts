/**
 * The structured summary of a results file: what every table, chart and `seqfair report --json`
 * shows, computed once.
 *
 * Sections: one per (dataset, protocol, negatives); rows: model × method, models and methods in
 * the order they first appear in results.json (the grid order of `seqfair compare`).
 *
 * Per row, over its seeds (src/eval/fairness-stats.ts):
 *   overall[m]                 mean ± sample std (n − 1) of the overall test metric m
 *   groupings[g].perGroup[l][m] the same for group l
 *   groupings[g].gap[m]        max − min over groups per seed (Φ of the SIGIR paper's Eq. 1 for two
 *                              groups), then mean ± std
 *   groupings[g].worst[m]      the lowest group's value per seed (the worst group may differ between
 *                              seeds; worstGroups counts them), then mean ± std
 *   groupings[g].signed[m]     two groups only: value(A1) − value(A2) for the grouping's signedOrder
 *   vsBaseline                 paired by seed against the baseline method (`erm`) of the same model:
 *                              mean difference, paired t interval (and a seeded bootstrap interval)
 *
 * Marks (best / second) compare the methods of one model within a section, column by column, on
 * the means rounded to the shown precision (`digits`): every row that ties for the best shown value
 * is best, every row with the next distinct shown value is second (dense ranking). A column with
 * fewer than two rows with a value is not marked. Higher is better for accuracy, per-group and
 * worst-group values; lower is better for the gap. Signed gaps are not marked: a sign is a
 * direction, and how far it is from zero is what the gap column already ranks.
 */
import {
  type BootstrapOptions,
  type PairedComparison,
  groupFairness,
  meanStd,
  metricKey,
  pairedComparison,
} from '../eval/fairness-stats.js';
import type { ResultRun, ResultsFile } from './schema.js';

export type Mark = 'best' | 'second';

export interface Stat {
  mean: number;
  /** sample standard deviation (n − 1); NaN (null in JSON) for one seed */
  std: number;
  n: number;
  /** per-seed values, aligned with seeds */
  seeds: number[];
  values: number[];
  mark?: Mark;
}

export interface WorstStat extends Stat {
  /** how many seeds had each group as the worst */
  worstGroups: Record<string, number>;
}

export interface GroupingSummary {
  perGroup: Record<string, Record<string, Stat>>;
  gap: Record<string, Stat>;
  worst: Record<string, WorstStat>;
  /** two-group groupings only */
  signed: Record<string, Stat> | null;
}

export interface BaselineComparison {
  baseline: string;
  overall: Record<string, PairedComparison>;
  groupings: Record<string, { gap: Record<string, PairedComparison>; worst: Record<string, PairedComparison>; signed: Record<string, PairedComparison> | null }>;
}

export interface RowSummary {
  model: string;
  method: string;
  seeds: number[];
  overall: Record<string, Stat>;
  groupings: Record<string, GroupingSummary>;
  /** null for the baseline itself, or when the model has no baseline runs */
  vsBaseline: BaselineComparison | null;
}

export interface GroupingInfo {
  name: string;
  /** group labels in display order */
  groups: string[];
  /** [A1, A2] of the signed gap A1 − A2 (two groups only) */
  signedOrder: [string, string] | null;
}

export interface SectionSummary {
  /** file-name-safe id */
  id: string;
  dataset: string;
  protocol: string;
  negatives?: string;
  label: string;
  /** accuracy columns */
  metrics: string[];
  /** metrics of the fairness columns and charts */
  fairnessMetrics: string[];
  groupings: GroupingInfo[];
  models: string[];
  methods: string[];
  rows: RowSummary[];
}

export interface ReportSummary {
  schema: 'seqfair.report/1';
  source: string | null;
  runs: number;
  baseline: string;
  level: number;
  digits: number;
  conventions: string[];
  sections: SectionSummary[];
}

export interface ReportOptions {
  /** accuracy columns (default: recall@k then ndcg@k for every k in 3, 5, 10, 20 present) */
  metrics?: readonly string[];
  /** fairness columns and charts (default: those of recall@5, ndcg@5, ndcg@20 present; else the first two accuracy metrics) */
  fairnessMetrics?: readonly string[];
  /** method the others are compared with, paired by seed (default 'erm') */
  baseline?: string;
  /** confidence level of the intervals (default 0.95) */
  level?: number;
  /** bootstrap intervals beside the t intervals (default 10000 resamples, seed 0; false: none) */
  bootstrap?: BootstrapOptions | false;
  /** orientation [A1, A2] of the signed gap per two-group grouping (default: see KNOWN_ORDERS, else alphabetical) */
  signedOrder?: Readonly<Record<string, readonly [string, string]>>;
  /** decimals shown, and the precision ties are judged at (default 4) */
  digits?: number;
  /** where the results came from, for the header */
  source?: string;
}

/**
 * Display order of well-known group labels; the first two-group entries also orient the signed
 * gap: M − F as issue 4 reports it, majority − minority on the synthetic data.
 */
export const KNOWN_ORDERS: readonly (readonly string[])[] = [
  ['M', 'F'],
  ['majority', 'minority'],
  ['niche', 'diverse', 'popular'],
  ['short', 'medium', 'long'],
];

const DEFAULT_KS = [3, 5, 10, 20];
const DEFAULT_FAIRNESS = ['recall@5', 'ndcg@5', 'ndcg@20'];

export function orderGroups(labels: Iterable<string>): string[] {
  const set = [...new Set(labels)];
  for (const known of KNOWN_ORDERS) {
    if (set.every((l) => known.includes(l))) return known.filter((l) => set.includes(l));
  }
  return set.sort();
}

function slug(s: string): string {
  return s.toLowerCase().replace(/@/g, '-at-').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
}

export function metricLabel(m: string): string {
  const { metric, k } = metricKey(m);
  return metric === 'mrr' ? 'MRR' : `${metric === 'recall' ? 'R' : 'N'}@${k}`;
}

function sectionLabel(dataset: string, protocol: string, negatives?: string): string {
  const p = protocol === 'sampled' ? `sampled ranking, ${negatives ?? 'popularity'} negatives` : protocol === 'full' ? 'full ranking' : protocol;
  return `${dataset} · ${p}`;
}

function stat(pairs: readonly (readonly [number, number])[]): Stat {
  const ok = pairs.filter(([, v]) => Number.isFinite(v));
  const { mean, std, n } = meanStd(ok.map(([, v]) => v));
  return { mean, std, n, seeds: ok.map(([s]) => s), values: ok.map(([, v]) => v) };
}

function byFirstAppearance(xs: readonly string[]): string[] {
  return [...new Set(xs)];
}

function presentMetrics(runs: readonly ResultRun[]): Set<string> {
  const s = new Set<string>();
  for (const r of runs) for (const [k, v] of Object.entries(r.test.overall)) if (typeof v === 'number') s.add(k.toLowerCase());
  return s;
}

function defaultMetrics(present: Set<string>): string[] {
  const out: string[] = [];
  for (const kind of ['recall', 'ndcg']) for (const k of DEFAULT_KS) if (present.has(`${kind}@${k}`)) out.push(`${kind}@${k}`);
  return out;
}

function checkMetricNames(names: readonly string[], what: string): string[] {
  return names.map((m) => {
    try {
      metricKey(m);
    } catch {
      throw new RangeError(`${what}: '${m}' is not a metric (expected recall@k, ndcg@k or mrr)`);
    }
    return m.toLowerCase();
  });
}

/** Assigns best/second marks in place (see the file comment for the tie rule). */
export function markColumn(stats: readonly (Stat | undefined)[], better: 'higher' | 'lower', digits: number): void {
  const shown = (s: Stat): number => Number(s.mean.toFixed(digits));
  const valid = stats.filter((s): s is Stat => s !== undefined && s.n > 0 && Number.isFinite(s.mean));
  for (const s of valid) delete s.mark;
  if (valid.length < 2) return;
  const distinct = [...new Set(valid.map(shown))].sort((a, b) => (better === 'higher' ? b - a : a - b));
  for (const s of valid) {
    const v = shown(s);
    if (v === distinct[0]) s.mark = 'best';
    else if (distinct.length > 1 && v === distinct[1]) s.mark = 'second';
  }
}

function summarizeRow(runs: readonly ResultRun[], sec: { metrics: string[]; fairnessMetrics: string[]; groupings: GroupingInfo[] }): Omit<RowSummary, 'vsBaseline'> {
  const sorted = [...runs].sort((a, b) => a.seed - b.seed);
  const seeds = sorted.map((r) => r.seed);
  const allMetrics = byFirstAppearance([...sec.metrics, ...sec.fairnessMetrics]);
  const value = (rec: Record<string, number | null> | undefined, m: string): number => {
    const v = rec?.[m] ?? (m.startsWith('recall@') ? rec?.[m.replace('recall@', 'hr@')] : undefined);
    return typeof v === 'number' ? v : Number.NaN;
  };
  const overall: Record<string, Stat> = {};
  for (const m of allMetrics) overall[m] = stat(sorted.map((r) => [r.seed, value(r.test.overall, m)]));
  const groupings: Record<string, GroupingSummary> = {};
  for (const g of sec.groupings) {
    const perGroup: Record<string, Record<string, Stat>> = {};
    for (const l of g.groups) {
      perGroup[l] = {};
      for (const m of sec.fairnessMetrics) perGroup[l]![m] = stat(sorted.map((r) => [r.seed, value(r.test.groups[g.name]?.[l], m)]));
    }
    const gap: Record<string, Stat> = {};
    const worst: Record<string, WorstStat> = {};
    const signed: Record<string, Stat> | null = g.signedOrder ? {} : null;
    for (const m of sec.fairnessMetrics) {
      const gaps: [number, number][] = [];
      const worsts: [number, number][] = [];
      const signs: [number, number][] = [];
      const worstGroups: Record<string, number> = {};
      for (const r of sorted) {
        const byGroup = r.test.groups[g.name];
        if (byGroup === undefined) continue;
        let f;
        try {
          f = groupFairness(byGroup, m, g.signedOrder ?? undefined);
        } catch {
          continue; // no group has this metric in this run
        }
        gaps.push([r.seed, f.gap]);
        worsts.push([r.seed, f.worstValue]);
        worstGroups[f.worst] = (worstGroups[f.worst] ?? 0) + 1;
        if (f.signed !== null) signs.push([r.seed, f.signed]);
      }
      gap[m] = stat(gaps);
      worst[m] = { ...stat(worsts), worstGroups };
      if (signed) signed[m] = stat(signs);
    }
    groupings[g.name] = { perGroup, gap, worst, signed };
  }
  return { model: sorted[0]!.model, method: sorted[0]!.method, seeds, overall, groupings };
}

function compareRows(row: RowSummary, base: RowSummary, baseline: string, sec: SectionSummary, opts: { level: number; bootstrap: BootstrapOptions | false }): BaselineComparison {
  const pc = (a: Stat | undefined, b: Stat | undefined): PairedComparison =>
    pairedComparison(new Map((a?.seeds ?? []).map((s, i) => [s, a!.values[i]!])), new Map((b?.seeds ?? []).map((s, i) => [s, b!.values[i]!])), opts);
  const overall: Record<string, PairedComparison> = {};
  for (const m of Object.keys(row.overall)) overall[m] = pc(row.overall[m], base.overall[m]);
  const groupings: BaselineComparison['groupings'] = {};
  for (const g of sec.groupings) {
    const a = row.groupings[g.name]!, b = base.groupings[g.name]!;
    const gap: Record<string, PairedComparison> = {};
    const worst: Record<string, PairedComparison> = {};
    const signed: Record<string, PairedComparison> | null = a.signed && b.signed ? {} : null;
    for (const m of sec.fairnessMetrics) {
      gap[m] = pc(a.gap[m], b.gap[m]);
      worst[m] = pc(a.worst[m], b.worst[m]);
      if (signed) signed[m] = pc(a.signed![m], b.signed![m]);
    }
    groupings[g.name] = { gap, worst, signed };
  }
  return { baseline, overall, groupings };
}

/** Builds the summary (see the file comment). */
export function summarize(results: ResultsFile, options: ReportOptions = {}): ReportSummary {
  const baseline = options.baseline ?? 'erm';
  const level = options.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  const digits = options.digits ?? 4;
  if (!Number.isInteger(digits) || digits < 0 || digits > 12) throw new RangeError(`digits must be an integer in [0, 12], got ${digits}`);
  const bootstrap = options.bootstrap === undefined ? { samples: 10_000, seed: 0 } : options.bootstrap;
  const userMetrics = options.metrics ? checkMetricNames(options.metrics, 'metrics') : undefined;
  const userFair = options.fairnessMetrics ? checkMetricNames(options.fairnessMetrics, 'fairness metrics') : undefined;

  const bySection = new Map<string, ResultRun[]>();
  for (const r of results.runs) {
    const key = JSON.stringify([r.dataset, r.protocol, r.negatives ?? null]);
    let l = bySection.get(key);
    if (l === undefined) bySection.set(key, (l = []));
    l.push(r);
  }
  const usedIds = new Set<string>();
  const sections: SectionSummary[] = [];
  for (const runs of bySection.values()) {
    const first = runs[0]!;
    const present = presentMetrics(runs);
    const metrics = userMetrics ?? defaultMetrics(present);
    let fairnessMetrics = userFair ?? DEFAULT_FAIRNESS.filter((m) => present.has(m));
    if (fairnessMetrics.length === 0) fairnessMetrics = metrics.slice(0, 2);
    const groupNames = byFirstAppearance(runs.flatMap((r) => Object.keys(r.test.groups)));
    const groupings: GroupingInfo[] = groupNames.map((name) => {
      const groups = orderGroups(runs.flatMap((r) => Object.keys(r.test.groups[name] ?? {})));
      let signedOrder: [string, string] | null = null;
      if (groups.length === 2) {
        const given = options.signedOrder?.[name];
        if (given !== undefined) {
          if (!(given.length === 2 && groups.includes(given[0]) && groups.includes(given[1]) && given[0] !== given[1])) {
            throw new RangeError(`signedOrder.${name}: expected two of its groups (${groups.join(', ')}), got ${JSON.stringify(given)}`);
          }
          signedOrder = [given[0], given[1]];
        } else signedOrder = [groups[0]!, groups[1]!];
      }
      return { name, groups, signedOrder };
    });
    let id = slug([first.dataset, first.protocol, first.negatives ?? ''].join('-'));
    for (let i = 2; usedIds.has(id); i++) id = `${slug([first.dataset, first.protocol, first.negatives ?? ''].join('-'))}-${i}`;
    usedIds.add(id);
    const models = byFirstAppearance(runs.map((r) => r.model));
    const methods = byFirstAppearance(runs.map((r) => r.method));
    const sec: SectionSummary = {
      id, dataset: first.dataset, protocol: first.protocol, ...(first.negatives ? { negatives: first.negatives } : {}),
      label: sectionLabel(first.dataset, first.protocol, first.negatives), metrics, fairnessMetrics, groupings, models, methods, rows: [],
    };
    for (const model of models) {
      for (const method of methods) {
        const cell = runs.filter((r) => r.model === model && r.method === method);
        if (cell.length > 0) sec.rows.push({ ...summarizeRow(cell, sec), vsBaseline: null });
      }
    }
    for (const model of models) {
      const block = sec.rows.filter((r) => r.model === model);
      const base = block.find((r) => r.method === baseline);
      if (base !== undefined) for (const r of block) if (r !== base) r.vsBaseline = compareRows(r, base, baseline, sec, { level, bootstrap });
      for (const m of new Set([...metrics, ...fairnessMetrics])) markColumn(block.map((r) => r.overall[m]), 'higher', digits);
      for (const g of groupings) {
        for (const m of fairnessMetrics) {
          markColumn(block.map((r) => r.groupings[g.name]!.gap[m]), 'lower', digits);
          markColumn(block.map((r) => r.groupings[g.name]!.worst[m]), 'higher', digits);
          for (const l of g.groups) markColumn(block.map((r) => r.groupings[g.name]!.perGroup[l]![m]), 'higher', digits);
        }
      }
    }
    sections.push(sec);
  }
  const pct = `${+(level * 100).toFixed(6)}%`;
  return {
    schema: 'seqfair.report/1',
    source: options.source ?? null,
    runs: results.runs.length,
    baseline,
    level,
    digits,
    conventions: [
      'mean ± std over seeds; std is the sample standard deviation (n − 1), "–" (null in JSON) for a single seed',
      'gap = max − min of the group means per seed (Φ of the SIGIR 2024 paper\'s Eq. 1 for two groups), then mean ± std over seeds; lower is better',
      'worst = the lowest group mean per seed (the worst group may change between seeds), then mean ± std; higher is better',
      'signed = A1 − A2 for two groups (orientation in the column name), not ranked',
      `best in bold and second underlined among the methods of one model, on the means rounded to ${digits} decimals: all rows tied for the best shown value are bold, all rows with the next distinct value underlined`,
      `Δ vs ${baseline}: mean of the per-seed differences (method − ${baseline}, paired by seed) with a ${pct} paired t interval (t quantile with n − 1 degrees of freedom); * marks an interval that excludes 0${bootstrap ? `; the JSON also has a percentile bootstrap interval over seeds (${bootstrap.samples ?? 10_000} resamples, seed ${bootstrap.seed ?? 0})` : ''}`,
    ],
    sections,
  };
}
