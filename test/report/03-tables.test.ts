/**
 * Tables: mean ± std over seeds, best bold / second underlined with the tie rule, lower is better
 * for gaps, and the Markdown / CSV / JSON renderings.
 */
import { describe, expect, it } from 'vitest';
import {
  type ReportSummary,
  type Stat,
  markColumn,
  parseResults,
  reportCsv,
  reportMarkdown,
  reportTables,
  summarize,
  tableHtml,
  tableMarkdown,
} from '../../src/report/index.js';
import { type FakeRun, fakeGrid } from './fixture.js';

/** One seed per method; recall@5 overall and per gender group chosen by hand. */
function handResults(): { runs: FakeRun[] } {
  const row = (model: string, method: string, seed: number, overall: number, M: number, F: number): FakeRun => ({
    model, method, seed, dataset: 'ml-100k', protocol: 'sampled', negatives: 'popularity', config: {},
    test: { overall: { 'recall@5': overall, 'ndcg@5': overall / 2 }, groups: { gender: { F: { 'recall@5': F, 'ndcg@5': F / 2 }, M: { 'recall@5': M, 'ndcg@5': M / 2 } } } },
  });
  return {
    runs: [
      //                                   overall   M     F      gap   worst
      row('sasrec', 'erm', 1, 0.3, 0.4, 0.2), //  0.20  0.20
      row('sasrec', 'a', 1, 0.35, 0.36, 0.34), // 0.02  0.34  ← best overall (tie with b), best gap (tie with c), best worst
      row('sasrec', 'b', 1, 0.35, 0.38, 0.32), // 0.06  0.32
      row('sasrec', 'c', 1, 0.32, 0.33, 0.31), // 0.02  0.31
      // b ties a at 4 decimals: 0.34999 and 0.35001 both show 0.3500
      row('narm', 'erm', 1, 0.5, 0.5, 0.5), //    a block of one method is not marked
    ].map((r, i) => (i === 2 ? { ...r, test: { ...r.test, overall: { 'recall@5': 0.34999, 'ndcg@5': 0.175 } } } : r)),
  };
}

function rowOf(md: string, model: string, method: string): string[] {
  const line = md.split('\n').find((l) => l.startsWith(`| ${model} | ${method} |`));
  if (line === undefined) throw new Error(`no row ${model} / ${method} in\n${md}`);
  return line.split(' | ').map((c) => c.replace(/^\| |\s\|$/g, ''));
}

const stat = (mean: number, n = 1): Stat => ({ mean, std: Number.NaN, n, seeds: [], values: [] });

describe('1. best and second', () => {
  it('dense ranking on the shown precision: ties share a mark, the next distinct value is second', () => {
    const s = [stat(0.3), stat(0.35), stat(0.34999), stat(0.32)];
    markColumn(s, 'higher', 4);
    expect(s.map((x) => x.mark)).toEqual([undefined, 'best', 'best', 'second']);
    markColumn(s, 'higher', 5); // at 5 decimals they differ
    expect(s.map((x) => x.mark)).toEqual([undefined, 'best', 'second', undefined]);
  });

  it('lower is better for gaps; all tied → all best and no second; fewer than two values → none', () => {
    const g = [stat(0.2), stat(0.02), stat(0.06), stat(0.02)];
    markColumn(g, 'lower', 4);
    expect(g.map((x) => x.mark)).toEqual([undefined, 'best', 'second', 'best']);
    const tied = [stat(0.1), stat(0.1), stat(0.1)];
    markColumn(tied, 'higher', 4);
    expect(tied.map((x) => x.mark)).toEqual(['best', 'best', 'best']);
    const lone = [stat(0.1), stat(Number.NaN, 0), undefined];
    markColumn(lone, 'higher', 4);
    expect(lone[0]!.mark).toBeUndefined();
  });

  it('marks the methods of one model in the tables (Markdown, HTML), never in the CSV', () => {
    const rep = summarize(parseResults(handResults()), { fairnessMetrics: ['recall@5'] });
    const tables = reportTables(rep);
    const acc = tableMarkdown(tables.find((t) => t.id.endsWith('-accuracy'))!);
    // columns: model, method, seeds, R@5, N@5
    expect(rowOf(acc, 'sasrec', 'a')[3]).toBe('**0.3500 ± –**');
    expect(rowOf(acc, 'sasrec', 'b')[3]).toBe('**0.3500 ± –**');
    expect(rowOf(acc, 'sasrec', 'c')[3]).toBe('<u>0.3200 ± –</u>');
    expect(rowOf(acc, 'sasrec', 'erm')[3]).toBe('0.3000 ± –');
    expect(rowOf(acc, 'narm', 'erm')[3]).toBe('0.5000 ± –');

    const fair = tableMarkdown(tables.find((t) => t.id.endsWith('-fairness-gender'))!);
    expect(fair).toContain('| model | method | seeds | gap R@5 | M − F R@5 | worst R@5 |');
    // gap: lower is better (a and c tie at 0.02, b second); signed gap not marked; worst: higher is better
    expect(rowOf(fair, 'sasrec', 'a').slice(3, 6)).toEqual(['**0.0200 ± –**', '+0.0200 ± –', '**0.3400 ± –**']);
    expect(rowOf(fair, 'sasrec', 'c').slice(3, 6)).toEqual(['**0.0200 ± –**', '+0.0200 ± –', '0.3100 ± –']);
    expect(rowOf(fair, 'sasrec', 'b').slice(3, 6)).toEqual(['<u>0.0600 ± –</u>', '+0.0600 ± –', '<u>0.3200 ± –</u>']);
    expect(rowOf(fair, 'sasrec', 'erm').slice(3, 6)).toEqual(['0.2000 ± –', '+0.2000 ± –', '0.2000 ± –']);

    const html = tableHtml(tables.find((t) => t.id.endsWith('-accuracy'))!);
    expect(html).toContain('<td class="best"><strong>0.3500 ± –</strong></td>');
    expect(html).toContain('<td class="second"><u>0.3200 ± –</u></td>');
    const csv = reportCsv(rep, tables);
    expect(csv).not.toMatch(/\*\*|<u>|±/);
    // the JSON summary carries the marks
    const sas = rep.sections[0]!.rows.filter((r) => r.model === 'sasrec');
    expect(sas.map((r) => r.overall['recall@5']!.mark)).toEqual([undefined, 'best', 'best', 'second']);
    expect(sas.map((r) => r.groupings.gender!.gap['recall@5']!.mark)).toEqual([undefined, 'best', 'second', 'best']);
  });
});

describe('2. mean ± std over seeds, sections and the comparison with erm', () => {
  const data = parseResults(fakeGrid({ protocols: [{ protocol: 'sampled', negatives: 'popularity' }, { protocol: 'full' }] }));
  const rep: ReportSummary = summarize(data, { bootstrap: { samples: 500, seed: 1 } });

  it('one section per dataset × protocol; rows model × method in grid order; default columns', () => {
    expect(rep.sections.map((s) => s.label)).toEqual(['synthetic · sampled ranking, popularity negatives', 'synthetic · full ranking']);
    const s = rep.sections[0]!;
    expect(s.rows.map((r) => `${r.model}/${r.method}`)).toEqual(['sasrec/erm', 'sasrec/afsr', 'sasrec/cvar-dro', 'narm/erm', 'narm/afsr', 'narm/cvar-dro']);
    expect(s.metrics).toEqual(['recall@3', 'recall@5', 'recall@10', 'recall@20', 'ndcg@3', 'ndcg@5', 'ndcg@10', 'ndcg@20']);
    expect(s.fairnessMetrics).toEqual(['recall@5', 'ndcg@5', 'ndcg@20']);
    expect(s.groupings).toEqual([
      { name: 'group', groups: ['majority', 'minority'], signedOrder: ['majority', 'minority'] },
      { name: 'popularity:2060', groups: ['niche', 'diverse', 'popular'], signedOrder: null },
    ]);
  });

  it('mean ± sample std of the per-seed values, gap and worst computed per seed', () => {
    const runs = data.runs.filter((r) => r.protocol === 'sampled' && r.model === 'sasrec' && r.method === 'erm').sort((a, b) => a.seed - b.seed);
    const v = runs.map((r) => r.test.overall['recall@5']!);
    const mean = (v[0]! + v[1]! + v[2]!) / 3;
    const std = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / 2);
    const row = rep.sections[0]!.rows[0]!;
    expect(row.seeds).toEqual([1, 2, 3]);
    expect(row.overall['recall@5']!.mean).toBeCloseTo(mean, 14);
    expect(row.overall['recall@5']!.std).toBeCloseTo(std, 14);
    const gaps = runs.map((r) => r.test.groups.group!.majority!['recall@5']! - r.test.groups.group!.minority!['recall@5']!);
    expect(row.groupings.group!.gap['recall@5']!.values).toEqual(gaps.map((g) => Math.abs(g)));
    expect(row.groupings.group!.signed!['recall@5']!.values).toEqual(gaps);
    expect(row.groupings.group!.worst['recall@5']!.worstGroups).toEqual({ minority: 3 });
    const niche = runs.map((r) => r.test.groups['popularity:2060']!.niche!['ndcg@20']!);
    expect(row.groupings['popularity:2060']!.worst['ndcg@20']!.values).toEqual(niche);
  });

  it('paired differences against erm by seed, with the t interval', () => {
    const s = rep.sections[0]!;
    const afsr = s.rows[1]!;
    const erm = s.rows[0]!;
    expect(erm.vsBaseline).toBeNull();
    const c = afsr.vsBaseline!.groupings.group!.gap['recall@5']!;
    const d = afsr.groupings.group!.gap['recall@5']!.values.map((x, i) => x - erm.groupings.group!.gap['recall@5']!.values[i]!);
    expect(c.n).toBe(3);
    expect(c.mean).toBeCloseTo((d[0]! + d[1]! + d[2]!) / 3, 14);
    expect(c.hi).toBeLessThan(0); // afsr narrows the planted gap on every seed
    expect(c.excludesZero).toBe(true);
    expect(c.bootstrap).toMatchObject({ samples: 500, seed: 1 });
    const md = tableMarkdown(reportTables(rep).find((t) => t.id === `${s.id}-vs-erm-group`)!);
    expect(rowOf(md, 'sasrec', 'afsr')[4]).toMatch(/^−0\.07\d\d \[−0\.\d{4}, −0\.\d{4}\] \*$/);
  });

  it('Markdown document, CSV and JSON', () => {
    const tables = reportTables(rep);
    const md = reportMarkdown(rep, tables, [{ file: 'charts/x.svg', title: 'X', section: rep.sections[0]!.id }]);
    expect(md).toMatch(/^# seqfair report: synthetic\n/);
    expect(md).toContain('sample standard deviation (n − 1)');
    expect(md).toContain('## synthetic · full ranking');
    expect(md).toContain('![X](charts/x.svg)');
    const csv = reportCsv(rep, tables).trim().split('\n');
    expect(csv).toHaveLength(1 + 12);
    const header = csv[0]!.split(',');
    expect(header.slice(0, 6)).toEqual(['dataset', 'protocol', 'negatives', 'model', 'method', 'seeds']);
    expect(header).toContain('recall@5 std');
    expect(header).toContain('group majority-minority recall@5');
    expect(header).toContain('vs erm group gap recall@5 lo');
    const first = csv[1]!.split(',');
    expect(Number(first[header.indexOf('recall@5')])).toBeCloseTo(rep.sections[0]!.rows[0]!.overall['recall@5']!.mean, 14);
    expect(first[header.indexOf('vs erm recall@5')]).toBe(''); // erm against itself
    const json = JSON.parse(JSON.stringify(rep)) as ReportSummary;
    expect(json.schema).toBe('seqfair.report/1');
    expect(json.sections[0]!.rows[0]!.overall['recall@5']!.n).toBe(3);
  });

  it('one seed: std is "–" in the tables and null in the JSON; bad options are named', () => {
    const one = summarize(parseResults(fakeGrid({ seeds: [4], models: ['sasrec'] })));
    expect(one.sections[0]!.rows[0]!.overall['recall@5']!.std).toBeNaN();
    expect(JSON.parse(JSON.stringify(one)).sections[0].rows[0].overall['recall@5'].std).toBeNull();
    expect(tableMarkdown(reportTables(one)[0]!)).toMatch(/\d ± – \|/);
    expect(() => summarize(data, { fairnessMetrics: ['auc'] })).toThrow(/fairness metrics: 'auc' is not a metric/);
    expect(() => summarize(data, { signedOrder: { group: ['majority', 'nobody'] } })).toThrow(/signedOrder\.group: expected two of its groups/);
    const flipped = summarize(data, { signedOrder: { group: ['minority', 'majority'] }, bootstrap: false });
    expect(flipped.sections[0]!.rows[0]!.groupings.group!.signed!['recall@5']!.mean).toBeLessThan(0);
  });
});
