/**
 * The SIGIR grid's tables (src/experiments/sigir.ts) on hand-made results: |Φ| and the signed gap
 * per seed, the paired Δ against erm, the issue's A-FSR check, and `--report-only`'s reader of a
 * partly finished grid. The grid itself (105 trainings) is the experiment command, not a test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ResultEntry } from '../../src/compare/index.js';
import { finishedRuns, sigirMarkdown, sigirTable } from '../../src/experiments/sigir.js';

function entry(method: string, seed: number, overall: number, men: number, women: number): ResultEntry {
  const m = (x: number) => ({ 'recall@3': x, 'ndcg@3': x, 'recall@5': x, 'ndcg@5': x });
  return {
    model: 'narm', method, seed, dataset: 'ml-100k', protocol: 'sampled', negatives: 'popularity',
    test: { overall: m(overall), groups: { gender: { M: m(men), F: m(women) } } },
  };
}

// erm: signed gaps +0.02, −0.02, +0.04 (|Φ| mean 0.02667), Recall@5 0.40, 0.42, 0.41 (mean 0.41, sd 0.01)
const erm = [entry('erm', 1, 0.40, 0.41, 0.39), entry('erm', 2, 0.42, 0.41, 0.43), entry('erm', 3, 0.41, 0.43, 0.39)];

describe('sigirTable', () => {
  it('averages |Φ| and the signed gap per seed and pairs the signed gap with erm by seed', () => {
    // afsr on seeds 1 and 3 only (a grid still running): gaps +0.01, +0.01
    const rows = sigirTable([...erm, entry('afsr', 3, 0.40, 0.405, 0.395), entry('afsr', 1, 0.39, 0.395, 0.385)], 'gender', ['M', 'F'], null);
    const e = rows.find((r) => r.method === 'erm')!.metrics['recall@5']!;
    expect(e.phi[0]).toBeCloseTo(0.08 / 3, 10);
    expect(e.signed[0]).toBeCloseTo(0.04 / 3, 10);
    const a = rows.find((r) => r.method === 'afsr')!;
    expect(a.seeds).toEqual([1, 3]);
    // paired with erm's seeds 1 and 3: differences 0.01 − 0.02 and 0.01 − 0.04, mean −0.02
    expect(a.metrics['recall@5']!.signedVsErm![0]).toBeCloseTo(-0.02, 10);
    // |Φ| 0.01 < 0.02667: does not widen; Recall@5 mean 0.395 >= 0.41 − 2·0.01 = 0.39
    expect(a.check).toEqual({ widens: false, withinTwoStd: true });
    expect(sigirMarkdown(rows, 'test')).toContain('- narm (2 seeds): widens |Φ_R@5|: no; Recall@5 within 2 std of erm: yes');
  });

  it('fails the check when A-FSR widens |Φ| or loses more than two standard deviations', () => {
    const rows = sigirTable([...erm, entry('afsr', 1, 0.38, 0.43, 0.33)], 'gender', ['M', 'F'], null);
    expect(rows.find((r) => r.method === 'afsr')!.check).toEqual({ widens: true, withinTwoStd: false });
  });
});

describe('finishedRuns (--report-only)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seqfair-sigir-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the entries compare() has written so far', () => {
    writeFileSync(path.join(dir, 'results.json'), JSON.stringify({ runs: erm }));
    expect(finishedRuns(dir).map((e) => e.seed)).toEqual([1, 2, 3]);
  });

  it('says clearly when no run has finished', () => {
    expect(() => finishedRuns(path.join(dir, 'absent'))).toThrow(/results\.json does not exist/);
  });
});
