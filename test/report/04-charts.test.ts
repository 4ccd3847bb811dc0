/**
 * Charts: Vega-Lite rendered headless to SVG; every chart file is a non-empty SVG with marks and
 * axis text; nothing is fetched.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type WrittenReport, chartSpecs, parseResults, prefixSvgIds, renderSvg, summarize, writeReport } from '../../src/report/index.js';
import { fakeGrid, writeResultsDir } from './fixture.js';

describe('1. SVG charts', () => {
  let dir: string;
  let rep: WrittenReport;
  beforeAll(async () => {
    dir = writeResultsDir(fakeGrid());
    rep = await writeReport(path.join(dir, 'results.json'), dir, { fairnessMetrics: ['recall@5', 'ndcg@20'] });
  });

  it('one groups chart and one gap chart per grouping × fairness metric', () => {
    // 2 groupings × 2 metrics × 2 kinds
    expect(rep.charts).toHaveLength(8);
    expect(readdirSync(path.join(dir, 'charts')).sort()).toEqual(rep.charts.map((c) => path.basename(c)).sort());
    expect(rep.charts.map((c) => path.basename(c))).toContain('synthetic-sampled-popularity-groups-popularity-2060-recall-at-5.svg');
  });

  it('every chart is a non-empty SVG with bars / points, error bars and axis text', () => {
    for (const file of rep.charts) {
      const svg = readFileSync(file, 'utf8');
      expect(statSync(file).size).toBeGreaterThan(2000);
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      expect(svg).toMatch(/<(rect|path)\b/);
      expect(svg).toContain('role-axis');
      expect(svg).toMatch(/<text[^>]*>[^<]*(R@5|N@20)[^<]*<\/text>/);
      for (const m of ['erm', 'afsr', 'cvar-dro']) expect(svg).toContain(`>${m}</text>`); // legend
      expect(svg).not.toMatch(/NaN/);
    }
    const bars = readFileSync(rep.charts.find((c) => c.includes('-groups-group-recall-at-5'))!, 'utf8');
    expect(bars).toContain('mark-rect');
    expect(bars).toContain('mark-rule'); // error bars
    for (const t of ['>majority</text>', '>minority</text>', '>sasrec</text>', '>narm</text>']) expect(bars).toContain(t);
    // 2 models × 3 methods × 2 groups bars
    expect((bars.match(/<path[^>]*aria-roledescription="bar"/g) ?? []).length).toBe(12);
    const gap = readFileSync(rep.charts.find((c) => c.includes('-gap-group-recall-at-5'))!, 'utf8');
    expect(gap).toContain('mark-symbol');
    expect(gap).toContain('>overall R@5</text>');
    expect((gap.match(/aria-roledescription="point"/g) ?? []).length).toBe(6);
  });

  it('a single seed draws no error bars and no NaN', async () => {
    const one = summarize(parseResults(fakeGrid({ seeds: [2], models: ['sasrec'] })), { fairnessMetrics: ['recall@5'], bootstrap: false });
    const specs = chartSpecs(one);
    expect(specs).toHaveLength(4);
    for (const s of specs) {
      const svg = await renderSvg(s.spec);
      expect(svg).not.toMatch(/NaN/);
      expect(svg).toMatch(/<path\b/);
    }
  });

  it('never fetches: a spec that names a URL is refused', async () => {
    await expect(renderSvg({ data: { url: 'https://example.invalid/data.json' }, mark: 'bar', encoding: { x: { field: 'a', type: 'nominal' } } })).rejects.toThrow(/load no external data/);
  });

  it('ids are prefixed before charts are inlined together', () => {
    const svg = '<svg><defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"><use href="#clip1"/><path id="clip10"/></g></svg>';
    expect(prefixSvgIds(svg, 'c3-')).toBe('<svg><defs><clipPath id="c3-clip1"><rect/></clipPath></defs><g clip-path="url(#c3-clip1)"><use href="#c3-clip1"/><path id="c3-clip10"/></g></svg>');
    expect(prefixSvgIds('<svg><g/></svg>', 'x')).toBe('<svg><g/></svg>');
  });
});
