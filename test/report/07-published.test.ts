/**
 * The "against published numbers" table: seqfair's erm rows on ML-100K beside the A-FSR paper's
 * Table 3 and the PyTorch reference, with the two-standard-deviation check.
 */
import { describe, expect, it } from 'vitest';
import { PUBLISHED_ML100K, checkPublished, publishedFor, publishedTable, summarize, tableMarkdown } from '../../src/report/index.js';
import type { FakeRun } from './fixture.js';

function run(model: string, method: string, seed: number, protocol: string, negatives: string | undefined, metrics: Record<string, number>, dataset = 'ml-100k'): FakeRun {
  return { model, method, seed, dataset, protocol, ...(negatives ? { negatives } : {}), config: {}, test: { overall: metrics, groups: {} } };
}

describe('published ML-100K numbers', () => {
  it('picks the rows of the section: the paper beside both sampled protocols, the reference by negatives', () => {
    const pop = publishedFor({ dataset: 'ml-100k', protocol: 'sampled', negatives: 'popularity' }, 'sasrec');
    expect(pop.map((p) => p.source).sort()).toEqual(['paper', 'reference']);
    expect(pop.find((p) => p.source === 'reference')!.metrics['recall@5']!.mean).toBe(0.34);
    const full = publishedFor({ dataset: 'ml-100k', protocol: 'full-unseen' }, 'bert4rec');
    expect(full.map((p) => p.source)).toEqual(['reference']);
    expect(publishedFor({ dataset: 'ml-1m', protocol: 'sampled', negatives: 'uniform' }, 'sasrec')).toEqual([]);
    expect(publishedFor({ dataset: 'ml-100k', protocol: 'full' }, 'sasrec')).toEqual([]);
    expect(PUBLISHED_ML100K.every((p) => Object.values(p.metrics).every((m) => m.mean > 0 && m.mean < 1))).toBe(true);
  });

  it('checks "at least the published mean − 2 std", one-sided', () => {
    const stat = (mean: number) => ({ mean, std: 0.01, n: 5, seeds: [1, 2, 3, 4, 5], values: [mean, mean, mean, mean, mean] });
    const sec = { dataset: 'ml-100k', protocol: 'sampled', negatives: 'uniform' };
    // reference BERT4Rec uniform R@5 0.533 ± 0.005: the bar is 0.523
    const low = checkPublished(sec, { model: 'bert4rec', overall: { 'recall@5': stat(0.522) } }).find((c) => c.source === 'reference')!;
    expect(low.withinTwoStd).toBe(false);
    expect(low.diff).toBeCloseTo(-0.011, 10);
    const ok = checkPublished(sec, { model: 'bert4rec', overall: { 'recall@5': stat(0.524) } }).find((c) => c.source === 'reference')!;
    expect(ok.withinTwoStd).toBe(true);
    const high = checkPublished(sec, { model: 'bert4rec', overall: { 'recall@5': stat(0.9) } }).find((c) => c.source === 'reference')!;
    expect(high.withinTwoStd).toBe(true);
    // NARM's reference is one run: no std, no verdict
    const narm = checkPublished(sec, { model: 'narm', overall: { 'recall@5': stat(0.5) } }).find((c) => c.source === 'reference')!;
    expect(narm.withinTwoStd).toBeNull();
  });

  it('renders a table for the erm rows of ML-100K sections only', () => {
    const runs = [1, 2, 3].flatMap((seed) => [
      run('sasrec', 'erm', seed, 'sampled', 'popularity', { 'recall@5': 0.34 + seed * 0.001, 'ndcg@5': 0.23 }),
      run('sasrec', 'cvar-dro', seed, 'sampled', 'popularity', { 'recall@5': 0.3, 'ndcg@5': 0.2 }),
      run('sasrec', 'erm', seed, 'sampled', 'popularity', { 'recall@5': 0.2, 'ndcg@5': 0.1 }, 'synthetic'),
    ]);
    const rep = summarize({ runs } as never, { bootstrap: false });
    const tables = rep.sections.map((s) => publishedTable(s, rep.digits));
    const ml = rep.sections.findIndex((s) => s.dataset === 'ml-100k');
    const syn = rep.sections.findIndex((s) => s.dataset === 'synthetic');
    expect(tables[syn]).toBeNull();
    const t = tables[ml]!;
    expect(t.rows.map((r) => r.method)).toEqual(['erm']);
    const md = tableMarkdown(t);
    expect(md).toContain('0.358 ± 0.014'); // the paper's SASRec R@5
    expect(md).toContain('0.340 ± 0.010'); // the reference's, popularity negatives
    expect(md).toMatch(/\+0\.002 ok/); // R@5 0.342 − 0.340
    expect(md).toMatch(/−0\.006 ok/); // N@5 0.23 − 0.236 (paper)
  });
});
