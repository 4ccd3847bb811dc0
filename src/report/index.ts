/**
 * Reports of finished runs (`seqfair report <dir>`): from a results.json (schema.ts) to
 *
 *   <out>/summary.md      the papers' style of tables (best bold, second underlined)
 *   <out>/summary.csv     the same numbers, one row per dataset × protocol × model × method
 *   <out>/summary.json    the structured summary (summary.ts): every mean, std, per-seed value,
 *                         mark and paired comparison
 *   <out>/charts/*.svg    per-group bars and gap-vs-accuracy scatters (charts.ts)
 *   <out>/index.html      tables and charts in one self-contained page (html.ts)
 *
 * Files are written whole through a temporary name and renamed, so a reader never sees half of one.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chartSpecs, renderSvg } from './charts.js';
import { reportHtml } from './html.js';
import { type ResultsFile, parseResults, readResults } from './schema.js';
import { type ReportOptions, type ReportSummary, summarize } from './summary.js';
import { reportCsv, reportMarkdown, reportTables } from './tables.js';

export { ResultsError, ResultsSchema, RunSchema, parseResults, readResults } from './schema.js';
export type { ResultRun, ResultsFile } from './schema.js';
export { KNOWN_ORDERS, markColumn, orderGroups, summarize } from './summary.js';
export type { BaselineComparison, GroupingInfo, GroupingSummary, Mark, ReportOptions, ReportSummary, RowSummary, SectionSummary, Stat, WorstStat } from './summary.js';
export { publishedTable, reportCsv, reportMarkdown, reportTables, sectionTables, tableHtml, tableMarkdown } from './tables.js';
export { PUBLISHED_METHOD, PUBLISHED_ML100K, checkPublished, publishedFor } from './published.js';
export type { PublishedCheck, PublishedRow, PublishedValue } from './published.js';
export type { Cell, Column, Table } from './tables.js';
export { chartSpecs, prefixSvgIds, renderSvg } from './charts.js';
export type { ChartSpec } from './charts.js';
export { reportHtml } from './html.js';

export interface ReportFiles {
  markdown: string;
  csv: string;
  json: string;
  html: string;
  charts: string[];
}

export interface WrittenReport extends ReportFiles {
  summary: ReportSummary;
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** JSON with NaN/Infinity as null (what JSON.stringify does anyway), pretty-printed. */
export function summaryJson(summary: ReportSummary): string {
  return `${JSON.stringify(summary, null, 1)}\n`;
}

/**
 * Builds the report of a results file (a path to results.json, or its parsed content) into
 * `outDir` and returns the paths written and the summary. A path is read and validated
 * (ResultsError when missing or invalid); an object is validated too.
 */
export async function writeReport(results: string | ResultsFile, outDir: string, options: ReportOptions = {}): Promise<WrittenReport> {
  const source = typeof results === 'string' ? results : undefined;
  const data = typeof results === 'string' ? readResults(results) : parseResults(results, 'results');
  const summary = summarize(data, { ...options, source: options.source ?? source });
  const tables = reportTables(summary);
  const specs = chartSpecs(summary);
  const chartDir = path.join(outDir, 'charts');
  mkdirSync(chartDir, { recursive: true });
  const charts: { file: string; section: string; title: string; svg: string }[] = [];
  for (const c of specs) {
    const svg = await renderSvg(c.spec);
    writeAtomic(path.join(chartDir, c.file), svg);
    charts.push({ file: c.file, section: c.section, title: c.title, svg });
  }
  const files: ReportFiles = {
    markdown: path.join(outDir, 'summary.md'),
    csv: path.join(outDir, 'summary.csv'),
    json: path.join(outDir, 'summary.json'),
    html: path.join(outDir, 'index.html'),
    charts: specs.map((c) => path.join(chartDir, c.file)),
  };
  writeAtomic(files.markdown, reportMarkdown(summary, tables, charts.map((c) => ({ ...c, file: `charts/${c.file}` }))));
  writeAtomic(files.csv, reportCsv(summary, tables));
  writeAtomic(files.json, summaryJson(summary));
  writeAtomic(files.html, reportHtml(summary, tables, charts));
  return { ...files, summary };
}
