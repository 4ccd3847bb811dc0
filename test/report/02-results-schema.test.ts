/**
 * results.json validation: bad and missing fields are named with what was expected.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ResultsError, parseResults, readResults } from '../../src/report/index.js';
import { fakeGrid, writeResultsDir } from './fixture.js';

function problemOf(data: unknown): string {
  try {
    parseResults(data);
  } catch (e) {
    expect(e).toBeInstanceOf(ResultsError);
    return (e as Error).message;
  }
  throw new Error('expected a ResultsError');
}

describe('1. results.json contract', () => {
  it('accepts what compare writes, with extra fields and null metrics (empty groups)', () => {
    const r = fakeGrid({ models: ['sasrec'], methods: ['erm'], seeds: [1] });
    (r.runs[0] as Record<string, unknown>).per_user = 'runs/x/per-user.json';
    r.runs[0]!.test.groups.group!.minority!['recall@5'] = null;
    const parsed = parseResults(r);
    expect(parsed.runs[0]!.test.groups.group!.minority!['recall@5']).toBeNull();
    expect((parsed.runs[0] as Record<string, unknown>).per_user).toBe('runs/x/per-user.json');
    // groups may be absent
    const noGroups = { runs: [{ model: 'm', method: 'erm', seed: 1, dataset: 'd', protocol: 'full', test: { overall: { 'recall@5': 0.1 } } }] };
    expect(parseResults(noGroups).runs[0]!.test.groups).toEqual({});
  });

  it('names a missing field and what was expected', () => {
    const r = fakeGrid({ models: ['sasrec'], methods: ['erm'], seeds: [1, 2] });
    delete (r.runs[1] as Partial<typeof r.runs[1]>).model;
    expect(problemOf(r)).toMatch(/runs\[1\]\.model: missing, expected string/);
  });

  it('names a wrong type with the expected and the received type', () => {
    const r = fakeGrid({ models: ['sasrec'], methods: ['erm'], seeds: [1] });
    (r.runs[0]!.test.overall as Record<string, unknown>)['recall@5'] = '0.3';
    (r.runs[0]!.test.groups.group!.minority as Record<string, unknown>)['ndcg@5'] = true;
    (r.runs[0] as Record<string, unknown>).seed = 1.5;
    const msg = problemOf(r);
    expect(msg).toMatch(/runs\[0\]\.test\.overall\["recall@5"\]: expected number or null, received string/);
    expect(msg).toMatch(/runs\[0\]\.test\.groups\.group\.minority\["ndcg@5"\]: expected number or null, received boolean/);
    expect(msg).toMatch(/runs\[0\]\.seed: .*int/i);
  });

  it('rejects a file without runs, an empty grid, and a seed listed twice', () => {
    expect(problemOf({})).toMatch(/runs: missing, expected array/);
    expect(problemOf({ runs: [] })).toMatch(/runs: no runs: expected at least one run/);
    expect(problemOf([1, 2])).toMatch(/\(top level\): expected object, received array/);
    const r = fakeGrid({ models: ['sasrec'], methods: ['erm'], seeds: [1, 2] });
    r.runs[1]!.seed = 1;
    expect(problemOf(r)).toMatch(/runs\[1\]: repeats runs\[0\] \(model sasrec, method erm, seed 1/);
  });

  it('readResults: a missing file, a directory and a file that is not JSON', () => {
    const dir = writeResultsDir('{"runs": [');
    expect(() => readResults(path.join(dir, 'results.json'))).toThrow(/results\.json is not JSON/);
    expect(() => readResults(path.join(dir, 'nope.json'))).toThrow(/nope\.json does not exist \(expected the results\.json that seqfair compare writes\)/);
    expect(() => readResults(dir)).toThrow(/is a directory/);
    writeFileSync(path.join(dir, 'results.json'), JSON.stringify(fakeGrid({ seeds: [1] })));
    expect(readResults(path.join(dir, 'results.json')).runs).toHaveLength(6);
  });
});
