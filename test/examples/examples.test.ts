/**
 * The scripts of examples/ run as a user runs them (`npx tsx examples/<name>.ts`, importing
 * ../src/index.js, so no build is needed) and typecheck against the current API.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataRoot, hasMl100k, repoRoot } from '../data/helpers.js';

/**
 * Runs a command without blocking the test worker (a long spawnSync starves vitest's RPC):
 * exit status, stdout, stderr.
 */
function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: repoRoot, encoding: 'utf8', timeout: 110_000, env: { ...process.env, ...env } }, (e, stdout, stderr) => {
      resolve({ status: e ? (typeof e.code === 'number' ? e.code : null) : 0, out: stdout, err: stderr });
    });
  });
}

const example = (name: string, env: Record<string, string> = {}) => run(process.execPath, ['--import', 'tsx', path.join('examples', name)], env);

describe('examples/', () => {
  it('1. train-ml100k.ts without the data says where to get it and exits 0', async () => {
    const r = await example('train-ml100k.ts', { SEQFAIR_DATA: '/nonexistent' });
    expect(r.status, r.err).toBe(0);
    expect(r.out).toBe('ML-100K not found: no u.data in /nonexistent/ml-100k. Download it from https://grouplens.org/datasets/movielens/100k/ and set SEQFAIR_DATA to the directory that holds ml-100k/ to run this example.\n');
  });

  it.skipIf(!hasMl100k)('2. train-ml100k.ts trains SASRec on ML-100K and reports NDCG@10 by gender', async () => {
    const r = await example('train-ml100k.ts', { SEQFAIR_DATA: dataRoot, SEQFAIR_EPOCHS: '1' });
    expect(r.status, r.err).toBe(0);
    expect(r.out).toMatch(/^ml-100k: 943 users, 1682 items\nepoch 1: loss \d+\.\d{4}, valid NDCG@10 0\.\d{4}\nbest epoch 1; test NDCG@10 0\.\d{4} overall\n {2}gender F: NDCG@10 0\.\d{4} \(273 users\)\n {2}gender M: NDCG@10 0\.\d{4} \(670 users\)\n$/);
  });

  it('3. custom-objective.ts trains ERM and a loss-power objective and compares the groups', async () => {
    const r = await example('custom-objective.ts');
    expect(r.status, r.err).toBe(0);
    expect(r.out).toMatch(/^erm +NDCG@10 overall 0\.\d{4}, majority 0\.\d{4}, minority 0\.\d{4}\npower-weighted +NDCG@10 overall 0\.\d{4}, majority 0\.\d{4}, minority 0\.\d{4}\n$/);
  });

  it('4. custom-model.ts trains a mean-pooling model that learns something', async () => {
    const r = await example('custom-model.ts');
    expect(r.status, r.err).toBe(0);
    const m = /^MeanPool \((\d+) parameters\), best epoch \d+: test NDCG@10 (0\.\d{4})\n {2}majority: NDCG@10 0\.\d{4} \(240 users\)\n {2}minority: NDCG@10 0\.\d{4} \(60 users\)\n$/.exec(r.out);
    expect(m, r.out).not.toBeNull();
    // 250 items: a random ranking scores NDCG@10 ≈ 0.02
    expect(Number(m![2])).toBeGreaterThan(0.05);
  });

  it('5. the examples typecheck against the API (examples/tsconfig.json)', async () => {
    const r = await run(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'examples/tsconfig.json']);
    expect(r.out + r.err).toBe('');
    expect(r.status).toBe(0);
  });
});
