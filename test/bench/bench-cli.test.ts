/**
 * The benchmark CLI (bench/main.ts): its JSON lines and its usage errors. Only seqfair's fastest
 * cases run, a few calls each, so this stays within seconds; the TensorFlow.js peers are not
 * loaded. Without the native addon the JSON run must still answer, with error rows.
 */
import { describe, expect, it } from 'vitest';
import { addonLoads, benchScript } from './helpers.js';
import { cudaStatus } from '../../src/backend/cuda.js';

const bench = (args: string[]) => benchScript('main.ts', args);

describe('bench CLI', () => {
  it('1. an unknown case is a usage error (exit 2) listing the valid cases', async () => {
    const r = await bench(['--json', '--only', 'grad-norm,no-such-case']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('unknown case: no-such-case');
    for (const name of ['gemm-1024', 'gemm-2048', 'attention', 'gru', 'proj-ce-1683', 'proj-ce-20000',
      'grad-norm', 'topk-1683', 'topk-100000', 'dirichlet', 'sasrec-step-b64', 'sasrec-step-b256', 'sasrec-step-20k-b128',
      'narm-step-b256', 'afsr-step-b256', 'sasrec-epoch-ml100k']) {
      expect(r.stderr).toContain(name);
    }
  });

  it('2. an unknown implementation or option is a usage error too', async () => {
    const impl = await bench(['--impl', 'seqfair-cpu,tfjs-node']);
    expect(impl.status).toBe(2);
    expect(impl.stderr).toContain('unknown impl: tfjs-node');
    expect(impl.stderr).toContain('tfjs-wasm');
    expect((await bench(['--frobnicate'])).status).toBe(2);
  });

  it('3. --json prints one object per case with the timing fields, nothing else', async () => {
    const r = await bench(['--json', '--only', 'grad-norm,dirichlet', '--impl', 'seqfair-cpu', '--reps', '3']);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    const rows = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((o) => o['case'])).toEqual(['grad-norm', 'dirichlet']);
    for (const o of rows) {
      expect(o['impl']).toBe('seqfair-cpu');
      expect(o).toHaveProperty('median_ms');
      expect(o).toHaveProperty('min_ms');
    }
    if (addonLoads()) {
      expect(r.status, r.stderr).toBe(0);
      for (const o of rows) {
        const median = o['median_ms'] as number, min = o['min_ms'] as number;
        expect(Number.isFinite(median) && median > 0).toBe(true);
        expect(min).toBeGreaterThan(0);
        expect(min).toBeLessThanOrEqual(median);
        expect(o['runs']).toBeGreaterThanOrEqual(1);
        expect(o).not.toHaveProperty('status');
      }
    } else {
      // no addon: the rows say why instead of timing anything, and the run fails
      expect(r.status).toBe(1);
      for (const o of rows) {
        expect(o['median_ms']).toBeNull();
        expect(o['status']).toBe('error');
        expect(String(o['note'])).toContain('addon');
      }
    }
  });

  it('4. seqfair-cuda runs the same cases where a GPU answers, and is skipped with the reason where none does', async () => {
    const r = await bench(['--json', '--only', 'grad-norm', '--impl', 'seqfair-cuda', '--reps', '2']);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((o) => [o['case'], o['impl']])).toEqual([['grad-norm', 'seqfair-cuda']]);
    const o = rows[0]!;
    expect(r.status, r.stderr).toBe(0);
    if (cudaStatus().usable) {
      expect(o['median_ms'] as number).toBeGreaterThan(0);
    } else {
      // no GPU is this machine, not a failure: the row says so and times nothing
      expect(o['status']).toBe('skipped');
      expect(o['median_ms']).toBeNull();
      expect(String(o['note'])).toMatch(/^no usable GPU here \(.+\)$/);
    }
  });

  it('5. by default seqfair-cuda rows appear only where a GPU answers', async () => {
    const r = await bench(['--json', '--only', 'grad-norm', '--impl', 'seqfair-cpu', '--reps', '2']);
    expect(r.stdout).not.toContain('seqfair-cuda');
    const usage = await bench(['--help']);
    expect(usage.stdout).toContain('seqfair-cuda');
  });
});
