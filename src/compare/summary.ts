/**
 * Markdown summary of results.json: per protocol, a table of mean ± standard deviation over seeds
 * for every model × method and metric, and per grouping a table of the groups' NDCG@k and the
 * gap (max − min over groups, Φ of the SIGIR paper's Eq. 1 for two groups), averaged over seeds.
 * The standard deviation is the sample one (n − 1); with one seed it is shown as "–".
 */
export interface ResultEntry {
  model: string;
  method: string;
  seed: number;
  dataset: string;
  protocol: string;
  negatives?: string;
  exclude_seen?: boolean;
  test: { overall: Record<string, number>; groups: Record<string, Record<string, Record<string, number>>> };
  [k: string]: unknown;
}

export const SUMMARY_METRICS = ['recall@5', 'ndcg@5', 'recall@10', 'ndcg@10', 'recall@20', 'ndcg@20', 'mrr'] as const;

export function meanStd(v: readonly number[]): { mean: number; std: number; n: number } {
  const n = v.length;
  const mean = v.reduce((s, x) => s + x, 0) / n;
  const std = n > 1 ? Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1)) : Number.NaN;
  return { mean, std, n };
}

export function fmtMeanStd(v: readonly number[], digits = 4): string {
  if (v.length === 0) return '';
  const { mean, std } = meanStd(v);
  return Number.isNaN(std) ? `${mean.toFixed(digits)} ± –` : `${mean.toFixed(digits)} ± ${std.toFixed(digits)}`;
}

export function protocolLabel(e: { protocol: string; negatives?: string; exclude_seen?: boolean }): string {
  if (e.protocol === 'sampled') return `sampled, ${e.negatives ?? 'popularity'} negatives (100)`;
  return e.protocol === 'full-unseen' || e.exclude_seen ? 'full ranking, history items excluded' : 'full ranking';
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    let l = m.get(k);
    if (l === undefined) m.set(k, (l = []));
    l.push(x);
  }
  return m;
}

/** The Markdown summary of a list of results.json entries. */
export function summaryMarkdown(runs: readonly ResultEntry[], groupMetric = 'ndcg@5'): string {
  const out: string[] = [];
  const dataset = [...new Set(runs.map((r) => r.dataset))].join(', ');
  out.push(`# seqfair compare: ${dataset}`, '');
  for (const [label, rs] of groupBy(runs, protocolLabel)) {
    out.push(`## Test, ${label} (mean ± std over seeds)`, '');
    out.push(`| model | method | seeds | ${SUMMARY_METRICS.map((m) => m.replace('recall', 'R').replace('ndcg', 'N').replace('mrr', 'MRR')).join(' | ')} |`);
    out.push(`| --- | --- | --- | ${SUMMARY_METRICS.map(() => '---').join(' | ')} |`);
    for (const [, cell] of groupBy(rs, (r) => `${r.model}\u0000${r.method}`)) {
      const cols = SUMMARY_METRICS.map((m) => fmtMeanStd(cell.map((r) => r.test.overall[m]!).filter((x) => x !== undefined)));
      out.push(`| ${cell[0]!.model} | ${cell[0]!.method} | ${cell.length} | ${cols.join(' | ')} |`);
    }
    out.push('');
    const groupings = [...new Set(rs.flatMap((r) => Object.keys(r.test.groups)))];
    for (const g of groupings) {
      const labels = [...new Set(rs.flatMap((r) => Object.keys(r.test.groups[g] ?? {})))].sort();
      out.push(`### ${groupMetric} by ${g} (${label})`, '');
      out.push(`| model | method | ${labels.join(' | ')} | gap (max − min) |`);
      out.push(`| --- | --- | ${labels.map(() => '---').join(' | ')} | --- |`);
      for (const [, cell] of groupBy(rs, (r) => `${r.model}\u0000${r.method}`)) {
        const cols = labels.map((l) => fmtMeanStd(cell.map((r) => r.test.groups[g]?.[l]?.[groupMetric]).filter((x): x is number => x !== undefined)));
        const gaps = cell.map((r) => {
          const vals = Object.values(r.test.groups[g] ?? {}).map((s) => s[groupMetric]!).filter((x) => Number.isFinite(x));
          return Math.max(...vals) - Math.min(...vals);
        });
        out.push(`| ${cell[0]!.model} | ${cell[0]!.method} | ${cols.join(' | ')} | ${fmtMeanStd(gaps)} |`);
      }
      out.push('');
    }
  }
  return out.join('\n');
}
