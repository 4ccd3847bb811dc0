/**
 * `seqfair report <dir>`: writes the report, --json prints the summary, and usage errors (no such
 * directory, no or invalid results.json, a bad option) exit 2 with a message.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { seqfair as run } from '../cli/helpers.js';
import { fakeGrid, writeResultsDir } from './fixture.js';

const repo = path.resolve(__dirname, '..', '..');

afterEach(() => {
  process.exitCode = undefined;
});

describe('1. seqfair report', () => {
  it('rebuilds the tables, charts and HTML from <dir>/results.json', async () => {
    const dir = writeResultsDir(fakeGrid({ models: ['sasrec'], seeds: [1, 2] }));
    const r = await run(['report', dir, '--fairness-metrics', 'recall@5']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^wrote .*summary\.md, .*summary\.csv, .*summary\.json, .*index\.html and 4 charts in .*charts\n$/);
    for (const f of ['summary.md', 'summary.csv', 'summary.json', 'index.html']) expect(existsSync(path.join(dir, f))).toBe(true);
    expect(readFileSync(path.join(dir, 'summary.md'), 'utf8')).toContain('| sasrec | afsr |');
  });

  it('--json prints the files and the structured summary; --out writes elsewhere', async () => {
    const dir = writeResultsDir(fakeGrid({ models: ['narm'], seeds: [1, 2, 3] }));
    const out = path.join(dir, 'report');
    const r = await run(['report', dir, '--json', '--out', out, '--metrics', 'recall@5,ndcg@5', '--fairness-metrics', 'ndcg@5']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { files: { html: string; charts: string[] }; summary: { schema: string; sections: { metrics: string[]; rows: unknown[] }[] } };
    expect(j.files.html).toBe(path.join(out, 'index.html'));
    expect(j.files.charts).toHaveLength(4);
    expect(j.summary.schema).toBe('seqfair.report/1');
    expect(j.summary.sections[0]!.metrics).toEqual(['recall@5', 'ndcg@5']);
    expect(j.summary.sections[0]!.rows).toHaveLength(3);
    expect(existsSync(path.join(out, 'charts'))).toBe(true);
    expect(existsSync(path.join(dir, 'index.html'))).toBe(false);
  });

  it('exit 2 with a message: no such directory, no results.json, not JSON, a bad field, a bad option', async () => {
    const missing = path.join(tmpdir(), 'seqfair-report-no-such-dir');
    let r = await run(['report', missing]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`error: no such directory: ${missing}`);

    const empty = mkdtempSync(path.join(tmpdir(), 'seqfair-report-empty-'));
    r = await run(['report', empty]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/results\.json does not exist \(expected the results\.json that seqfair compare writes\)/);

    writeFileSync(path.join(empty, 'results.json'), '{"runs": [');
    r = await run(['report', empty]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/results\.json is not JSON/);

    const bad = fakeGrid({ models: ['sasrec'], methods: ['erm'], seeds: [1] });
    (bad.runs[0] as Record<string, unknown>).method = 3;
    writeFileSync(path.join(empty, 'results.json'), JSON.stringify(bad));
    r = await run(['report', empty]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is not a valid results file:\n\s+runs\[0\]\.method: expected string, received number/);

    const good = writeResultsDir(fakeGrid({ models: ['sasrec'], seeds: [1] }));
    r = await run(['report', good, '--fairness-metrics', 'auc@5']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--fairness-metrics: metric must be recall@k, hr@k, ndcg@k or mrr, got 'auc@5'/);
    r = await run(['report']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/missing required argument 'dir'/);
  });

  it('--help shows examples; the command line process exits with status 2 on a bad directory', async () => {
    const help = await run(['report', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/Examples:\n\s+seqfair report runs\/ml100k/);
    const tsx = path.join(repo, 'node_modules', '.bin', 'tsx');
    const bad = spawnSync(tsx, [path.join(repo, 'src', 'cli', 'main.ts'), 'report', path.join(tmpdir(), 'seqfair-report-no-such-dir')], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/no such directory/);
  });
});
