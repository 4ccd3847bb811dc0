/**
 * The papers' style of tables from a ReportSummary, as one table model rendered three ways:
 * Markdown (best **bold**, second <u>underlined</u>), HTML (<strong>, <u>) and a plain wide CSV
 * (one row per dataset × protocol × model × method, numbers only, no marks).
 *
 * Per section (dataset × protocol):
 *   accuracy              model, method, seeds, R@k / N@k (mean ± std)
 *   fairness-<grouping>   per fairness metric: gap (max − min, Φ for two groups), signed gap (two
 *                         groups), worst group
 *   groups-<grouping>     per fairness metric and group: the group's mean ± std
 *   vs-<baseline>-<g>     Δ of the overall metric, the gap, the signed gap and the worst group
 *                         against the baseline, paired over seeds, with the t interval
 *   published             ML-100K only: the erm rows beside the paper's and the reference
 *                         implementation's numbers (src/report/published.ts)
 */
import type { PairedComparison } from '../eval/fairness-stats.js';
import { PUBLISHED_METHOD, checkPublished, publishedText } from './published.js';
import { type Mark, type ReportSummary, type RowSummary, type SectionSummary, type Stat, metricLabel } from './summary.js';

export interface Cell {
  text: string;
  mark?: Mark;
  /** numbers behind the text (CSV) */
  mean?: number;
  std?: number;
  lo?: number;
  hi?: number;
}

export interface Column {
  /** unique within the section; the CSV column name */
  key: string;
  label: string;
  better?: 'higher' | 'lower';
  /** numeric kind of the cells: a mean ± std, or a difference with an interval */
  kind: 'text' | 'stat' | 'diff';
}

export interface Table {
  id: string;
  section: string;
  title: string;
  caption: string;
  columns: Column[];
  /** the row's model and method first, then one cell per column */
  rows: { model: string; method: string; cells: Cell[] }[];
}

function fmt(x: number, digits: number, signed = false): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? '–' : x > 0 ? '∞' : '−∞';
  const s = Math.abs(x).toFixed(digits);
  const neg = x < 0 && Number(s) !== 0;
  return `${neg ? '−' : signed ? '+' : ''}${s}`;
}

function statCell(s: Stat | undefined, digits: number, signed = false): Cell {
  if (s === undefined || s.n === 0) return { text: '' };
  return { text: `${fmt(s.mean, digits, signed)} ± ${fmt(s.std, digits)}`, mean: s.mean, std: s.std, ...(s.mark ? { mark: s.mark } : {}) };
}

function diffCell(p: PairedComparison | undefined, digits: number): Cell {
  if (p === undefined || p.n === 0) return { text: '' };
  const ci = Number.isNaN(p.lo) ? '' : ` [${fmt(p.lo, digits, true)}, ${fmt(p.hi, digits, true)}]${p.excludesZero ? ' *' : ''}`;
  return { text: `${fmt(p.mean, digits, true)}${ci}`, mean: p.mean, lo: p.lo, hi: p.hi };
}

function seedsCell(r: RowSummary): Cell {
  return { text: String(r.seeds.length), mean: r.seeds.length };
}

/** The tables of one section. */
export function sectionTables(sec: SectionSummary, rep: Pick<ReportSummary, 'digits' | 'baseline' | 'level'>): Table[] {
  const d = rep.digits;
  const tables: Table[] = [];
  const seedsCol: Column = { key: 'seeds', label: 'seeds', kind: 'text' };
  tables.push({
    id: `${sec.id}-accuracy`, section: sec.id, title: `Accuracy, ${sec.label}`,
    caption: 'Overall test metrics, mean ± std over seeds; higher is better.',
    columns: [seedsCol, ...sec.metrics.map((m): Column => ({ key: m, label: metricLabel(m), better: 'higher', kind: 'stat' }))],
    rows: sec.rows.map((r) => ({ model: r.model, method: r.method, cells: [seedsCell(r), ...sec.metrics.map((m) => statCell(r.overall[m], d))] })),
  });
  for (const g of sec.groupings) {
    const cols: Column[] = [];
    for (const m of sec.fairnessMetrics) {
      cols.push({ key: `${g.name} gap ${m}`, label: `gap ${metricLabel(m)}`, better: 'lower', kind: 'stat' });
      if (g.signedOrder) cols.push({ key: `${g.name} ${g.signedOrder[0]}-${g.signedOrder[1]} ${m}`, label: `${g.signedOrder[0]} − ${g.signedOrder[1]} ${metricLabel(m)}`, kind: 'stat' });
      cols.push({ key: `${g.name} worst ${m}`, label: `worst ${metricLabel(m)}`, better: 'higher', kind: 'stat' });
    }
    tables.push({
      id: `${sec.id}-fairness-${g.name}`, section: sec.id, title: `Fairness by ${g.name} (${g.groups.join(', ')}), ${sec.label}`,
      caption: `gap = max − min over the groups${g.groups.length === 2 ? ' (Φ, SIGIR 2024 Eq. 1)' : ''}, lower is better; ${g.signedOrder ? `${g.signedOrder[0]} − ${g.signedOrder[1]} is the signed gap (not ranked); ` : ''}worst = the lowest group per seed, higher is better. Mean ± std over seeds.`,
      columns: [seedsCol, ...cols],
      rows: sec.rows.map((r) => {
        const gs = r.groupings[g.name]!;
        const cells: Cell[] = [seedsCell(r)];
        for (const m of sec.fairnessMetrics) {
          cells.push(statCell(gs.gap[m], d));
          if (g.signedOrder) cells.push(statCell(gs.signed?.[m], d, true));
          cells.push(statCell(gs.worst[m], d));
        }
        return { model: r.model, method: r.method, cells };
      }),
    });
    tables.push({
      id: `${sec.id}-groups-${g.name}`, section: sec.id, title: `Per group by ${g.name}, ${sec.label}`,
      caption: 'Each group\'s mean over its users, then mean ± std over seeds; higher is better.',
      columns: [seedsCol, ...sec.fairnessMetrics.flatMap((m) => g.groups.map((l): Column => ({ key: `${g.name} ${l} ${m}`, label: `${l} ${metricLabel(m)}`, better: 'higher', kind: 'stat' })))],
      rows: sec.rows.map((r) => ({
        model: r.model, method: r.method,
        cells: [seedsCell(r), ...sec.fairnessMetrics.flatMap((m) => g.groups.map((l) => statCell(r.groupings[g.name]!.perGroup[l]?.[m], d)))],
      })),
    });
    const cmp = sec.rows.filter((r) => r.vsBaseline !== null);
    if (cmp.length > 0) {
      const cols: Column[] = [];
      for (const m of sec.fairnessMetrics) {
        cols.push({ key: `vs ${rep.baseline} ${m}`, label: `Δ ${metricLabel(m)}`, kind: 'diff' });
        cols.push({ key: `vs ${rep.baseline} ${g.name} gap ${m}`, label: `Δ gap ${metricLabel(m)}`, kind: 'diff' });
        if (g.signedOrder) cols.push({ key: `vs ${rep.baseline} ${g.name} ${g.signedOrder[0]}-${g.signedOrder[1]} ${m}`, label: `Δ (${g.signedOrder[0]} − ${g.signedOrder[1]}) ${metricLabel(m)}`, kind: 'diff' });
        cols.push({ key: `vs ${rep.baseline} ${g.name} worst ${m}`, label: `Δ worst ${metricLabel(m)}`, kind: 'diff' });
      }
      const pct = `${+(rep.level * 100).toFixed(6)}%`;
      tables.push({
        id: `${sec.id}-vs-${rep.baseline}-${g.name}`, section: sec.id, title: `Against ${rep.baseline} by ${g.name}, ${sec.label}`,
        caption: `Method − ${rep.baseline}, paired by seed: mean difference [${pct} paired t interval]; * the interval excludes 0. A negative Δ gap and a positive Δ worst are improvements.`,
        columns: [{ key: `vs ${rep.baseline} pairs`, label: 'pairs', kind: 'text' }, ...cols],
        rows: cmp.map((r) => {
          const v = r.vsBaseline!;
          const vg = v.groupings[g.name]!;
          const first = Object.values(v.overall)[0];
          const cells: Cell[] = [{ text: String(first?.n ?? 0), mean: first?.n ?? 0 }];
          for (const m of sec.fairnessMetrics) {
            cells.push(diffCell(v.overall[m], d));
            cells.push(diffCell(vg.gap[m], d));
            if (g.signedOrder) cells.push(diffCell(vg.signed?.[m], d));
            cells.push(diffCell(vg.worst[m], d));
          }
          return { model: r.model, method: r.method, cells };
        }),
      });
    }
  }
  return tables;
}

/**
 * seqfair's erm rows beside the published numbers of the same model and protocol, one column
 * group per published metric: ours (mean ± std), the paper's, the reference's, and whether ours is
 * at least the reference within two of its standard deviations. Null when nothing was published.
 */
export function publishedTable(sec: SectionSummary, digits: number): Table | null {
  const rows = sec.rows.filter((r) => r.method === PUBLISHED_METHOD);
  const checks = rows.map((r) => checkPublished(sec, r));
  const metrics = [...new Set(checks.flat().map((c) => c.metric))];
  if (metrics.length === 0) return null;
  const columns: Column[] = metrics.flatMap((m): Column[] => [
    { key: `published ${m} seqfair`, label: `${metricLabel(m)} seqfair`, kind: 'stat' },
    ...(['paper', 'reference'] as const).flatMap((src): Column[] => [
      { key: `published ${m} ${src}`, label: `${metricLabel(m)} ${src}`, kind: 'text' },
      { key: `published ${m} vs ${src}`, label: `Δ ${src}`, kind: 'text' },
    ]),
  ]);
  return {
    id: `${sec.id}-published`, section: sec.id, title: `Against published numbers, ${sec.label}`,
    caption: 'seqfair\'s erm (the papers\' Naive) beside the A-FSR paper\'s Table 3 (100 sampled negatives, drawing not stated) and the issue\'s PyTorch reference run on this machine (5 seeds; a single run where no std is shown). Mean ± std over seeds. Δ = seqfair − published; "ok" where seqfair is at least the published mean − 2 of its std, "below" where not.',
    columns,
    rows: rows.map((r, i) => ({
      model: r.model, method: r.method,
      cells: metrics.flatMap((m): Cell[] => [statCell(r.overall[m], digits), ...(['paper', 'reference'] as const).flatMap((src): Cell[] => {
        const c = checks[i]!.find((x) => x.metric === m && x.source === src);
        if (c === undefined) return [{ text: '' }, { text: '' }];
        const verdict = c.withinTwoStd === null ? '' : c.withinTwoStd ? ' ok' : ' below';
        return [{ text: publishedText(c.published), mean: c.published.mean, ...(c.published.std !== undefined ? { std: c.published.std } : {}) },
          { text: `${fmt(c.diff, 3, true)}${verdict}`, mean: c.diff }];
      })]),
    })),
  };
}

export function reportTables(rep: ReportSummary): Table[] {
  return rep.sections.flatMap((s) => {
    const published = publishedTable(s, rep.digits);
    return published ? [...sectionTables(s, rep), published] : sectionTables(s, rep);
  });
}

// ---------------------------------------------------------------------------------------------
// Markdown

function mdEscape(s: string): string {
  return s.replace(/\|/g, '\\|');
}

function mdCell(c: Cell): string {
  const t = mdEscape(c.text);
  return c.mark === 'best' ? `**${t}**` : c.mark === 'second' ? `<u>${t}</u>` : t;
}

export function tableMarkdown(t: Table): string {
  const out = [`| model | method | ${t.columns.map((c) => mdEscape(c.label)).join(' | ')} |`, `| --- | --- | ${t.columns.map(() => '---').join(' | ')} |`];
  for (const r of t.rows) out.push(`| ${mdEscape(r.model)} | ${mdEscape(r.method)} | ${r.cells.map(mdCell).join(' | ')} |`);
  return out.join('\n');
}

/** summary.md: conventions, then every section's tables, then links to the charts. */
export function reportMarkdown(rep: ReportSummary, tables: readonly Table[], charts: readonly { file: string; title: string; section: string }[] = []): string {
  const datasets = [...new Set(rep.sections.map((s) => s.dataset))].join(', ');
  const out: string[] = [`# seqfair report: ${datasets}`, ''];
  out.push(`${rep.runs} runs${rep.source ? ` from \`${rep.source}\`` : ''}.`, '');
  for (const c of rep.conventions) out.push(`- ${c}`);
  out.push('');
  for (const s of rep.sections) {
    out.push(`## ${s.label}`, '');
    for (const t of tables.filter((x) => x.section === s.id)) out.push(`### ${t.title}`, '', t.caption, '', tableMarkdown(t), '');
    const cs = charts.filter((c) => c.section === s.id);
    if (cs.length > 0) {
      out.push('### Charts', '');
      for (const c of cs) out.push(`![${c.title}](${c.file})`, '');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

// ---------------------------------------------------------------------------------------------
// HTML

export function htmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function tableHtml(t: Table): string {
  const cell = (c: Cell): string => {
    const t = htmlEscape(c.text);
    const inner = c.mark === 'best' ? `<strong>${t}</strong>` : c.mark === 'second' ? `<u>${t}</u>` : t;
    return `<td${c.mark ? ` class="${c.mark}"` : ''}>${inner}</td>`;
  };
  const head = `<tr><th>model</th><th>method</th>${t.columns.map((c) => `<th${c.better ? ` title="${c.better} is better"` : ''}>${htmlEscape(c.label)}</th>`).join('')}</tr>`;
  const body = t.rows.map((r) => `<tr><td>${htmlEscape(r.model)}</td><td>${htmlEscape(r.method)}</td>${r.cells.map(cell).join('')}</tr>`).join('\n');
  return `<table id="${htmlEscape(t.id)}">\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

// ---------------------------------------------------------------------------------------------
// CSV

function csvField(v: string | number | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * summary.csv: one row per dataset × protocol × model × method; for each column of every table
 * `<key>` (the mean, or the mean difference) and `<key> std` (or `<key> lo`, `<key> hi` for a
 * difference). Full precision, empty for missing values, no marks.
 */
export function reportCsv(rep: ReportSummary, tables: readonly Table[]): string {
  const header: string[] = ['dataset', 'protocol', 'negatives', 'model', 'method'];
  const seen = new Set(header);
  const rows = new Map<string, Record<string, string | number>>();
  for (const s of rep.sections) {
    for (const r of s.rows) rows.set(JSON.stringify([s.id, r.model, r.method]), { dataset: s.dataset, protocol: s.protocol, negatives: s.negatives ?? '', model: r.model, method: r.method });
  }
  const add = (k: string): void => {
    if (!seen.has(k)) (seen.add(k), header.push(k));
  };
  for (const t of tables) {
    for (const r of t.rows) {
      const row = rows.get(JSON.stringify([t.section, r.model, r.method]))!;
      t.columns.forEach((c, i) => {
        const cell = r.cells[i]!;
        if (c.kind === 'text') {
          add(c.key);
          row[c.key] = cell.mean ?? cell.text;
        } else if (c.kind === 'stat') {
          add(c.key), add(`${c.key} std`);
          if (cell.mean !== undefined) row[c.key] = cell.mean;
          if (cell.std !== undefined) row[`${c.key} std`] = cell.std;
        } else {
          add(c.key), add(`${c.key} lo`), add(`${c.key} hi`);
          if (cell.mean !== undefined) row[c.key] = cell.mean;
          if (cell.lo !== undefined) row[`${c.key} lo`] = cell.lo;
          if (cell.hi !== undefined) row[`${c.key} hi`] = cell.hi;
        }
      });
    }
  }
  const lines = [header.map(csvField).join(',')];
  for (const row of rows.values()) lines.push(header.map((h) => csvField(row[h])).join(','));
  return `${lines.join('\n')}\n`;
}
