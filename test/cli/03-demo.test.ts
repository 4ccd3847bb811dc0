/**
 * `seqfair demo` end to end at a tiny size (hidden --users/--items flags, a config for the model):
 * the grid of three methods, the table, the report files, --json, reuse of finished runs, and
 * usage errors (exit 2 with the option or config field named).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseResults } from '../../src/report/schema.js';
import { tempDir } from '../data/helpers.js';
import { seqfair } from './helpers.js';

const tmp = tempDir('seqfair-cli-demo-');
afterAll(() => tmp.cleanup());
const tiny = tmp.write('tiny.json', JSON.stringify({ model: { hiddenSize: 8, layers: 1, maxLen: 10 }, synthetic: { maxLen: 20 } }));
const SIZE = ['--users', '60', '--items', '130', '--epochs', '1', '--config', tiny];

describe('1. seqfair demo', () => {
  const out = path.join(tmp.dir, 'demo');

  it('--json: trains erm, cvar-dro and afsr, writes results, tables, charts and index.html', async () => {
    const r = await seqfair(['demo', ...SIZE, '--out', out, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as {
      out: string; rows: { method: string; overall: Record<string, number>; majority: Record<string, number>; minority: Record<string, number>; gap: Record<string, number> }[];
      report: { html: string; charts: string[] }; results: string; trained: number; reused: number; dataset: { users: number; minority: number };
    };
    expect(j.rows.map((x) => x.method)).toEqual(['erm', 'cvar-dro', 'afsr']);
    for (const row of j.rows) {
      for (const k of ['recall@5', 'recall@10', 'ndcg@5', 'ndcg@10']) {
        expect(row.overall[k]).toBeGreaterThanOrEqual(0);
        expect(row.gap[k]).toBeCloseTo(row.majority[k]! - row.minority[k]!, 12);
      }
    }
    expect(j.trained).toBe(3);
    expect(j.dataset).toMatchObject({ users: 60, minority: 12 });
    expect(parseResults(JSON.parse(readFileSync(j.results, 'utf8'))).runs).toHaveLength(3);
    const html = readFileSync(j.report.html, 'utf8');
    expect(html).toContain('<svg');
    expect(j.report.charts.length).toBeGreaterThanOrEqual(2);
    for (const c of j.report.charts) expect(readFileSync(c, 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    for (const f of ['summary.md', 'summary.csv', 'summary.json', 'index.html', 'results.json']) expect(existsSync(path.join(out, f))).toBe(true);
    expect(readdirSync(path.join(out, 'runs'))).toHaveLength(3);
    // not a terminal and --json: no bar, one line when a run starts and one when it is done
    expect(r.err).not.toMatch(/█|░/);
    expect(r.err).toMatch(/\[3\/3\] sasrec afsr seed 1: done in/);
  });

  it('prints the per-group table and where the report is; a second run reuses the finished runs', async () => {
    const r = await seqfair(['demo', ...SIZE, '--out', out]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/method\s+group\s+R@5\s+R@10\s+N@5\s+N@10/);
    for (const m of ['erm', 'cvar-dro', 'afsr']) expect(r.out).toMatch(new RegExp(`\\n${m}\\s+overall\\s+\\d\\.\\d{4}`));
    expect(r.out).toMatch(/\n\s+majority\s+\d\.\d{4}/);
    expect(r.out).toMatch(/\n\s+minority\s+\d\.\d{4}/);
    expect(r.out).toMatch(/\n\s+gap\s+[+-]\d\.\d{4}/);
    expect(r.out).toContain('Under erm the minority gets NDCG@10');
    expect(r.out).toContain(`Report: ${path.join(out, 'index.html')}`);
    expect(r.out).toContain('(0 runs trained, 3 reused)');
  });

  it('documents the default output directory and the examples', async () => {
    const r = await seqfair(['demo', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('(default: "seqfair-demo")');
    expect(r.out).toContain('Examples:');
    expect(r.out).not.toContain('--users'); // the size flags are for tests, hidden
  });

  it('usage errors exit 2 and name the option or the config field', async () => {
    const cases: [string[], RegExp][] = [
      [['--epochs', '0'], /option '--epochs <n>' argument '0' is invalid\. expected an integer >= 1, got '0'/],
      [['--seed', 'x'], /option '--seed <n>' argument 'x' is invalid/],
      [['--users', '60', '--items', '50'], /--items: expected at least 151 items \(the longest sequence, 50, plus 100 sampled negatives and the target\), got 50/],
      [['--config', path.join(tmp.dir, 'missing.json')], /config .*missing\.json: cannot be read/],
      [['--config', tmp.write('b1.json', JSON.stringify({ epochs: 'two' }))], /config .*b1\.json: epochs: expected an integer >= 1, got "two"/],
      [['--config', tmp.write('b2.json', JSON.stringify({ synthetic: { numUser: 5 } }))], /unknown field 'synthetic\.numUser'/],
      [['--config', tmp.write('b3.json', JSON.stringify({ methods: { afsr: { lamda: 1 } } }))], /sasrec \/ afsr: .*lamda/],
      [['--config', tmp.write('b4.json', JSON.stringify({ model: { hiddenSize: 8, heads: 3 } }))], /sasrec \/ erm: .*head/i],
      [['--bogus'], /unknown option '--bogus'/],
    ];
    for (const [args, msg] of cases) {
      const r = await seqfair(['demo', '--out', path.join(tmp.dir, 'never'), ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(msg);
    }
    expect(existsSync(path.join(tmp.dir, 'never'))).toBe(false);
  });
});
