/**
 * The training-step benchmark cases (bench/cases/model-step.ts, afsr-step.ts) at tiny sizes, so
 * they cannot rot: each peer (tfjs-cpu, tfjs-wasm) must compute the same loss and gradients as
 * seqfair's step on the same weights and batch (what `npm run bench -- --check` checks at full
 * size), the timed call must run, and the tfjs peers must free every tensor. Also the peak-memory
 * helpers and the ML-100K epoch case's skip line.
 */
import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { getBackend } from '../../src/backend/index.js';
import type { BenchCase } from '../../bench/case.js';
import { compare } from '../../bench/check.js';
import { afsrStepCase } from '../../bench/cases/afsr-step.js';
import { CASES } from '../../bench/cases/index.js';
import { narmStepCase, sasrecStepCase } from '../../bench/cases/model-step.js';
import { measurePeak, peakOfCall } from '../../bench/memory.js';
import { useTfjs } from '../../bench/tfjs.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

// tiny models: D = 8, 2 blocks / 1 GRU layer, L = 6, 40 items (A-FSR needs k + 1 = 7 items at least)
const tiny = { B: 6, L: 6, numItems: 40, model: { hiddenSize: 8 } };
const cases: BenchCase[] = [
  sasrecStepCase('sasrec-tiny', tiny),
  narmStepCase('narm-tiny', tiny),
  afsrStepCase('afsr-tiny', tiny),
];

describe('training-step cases at tiny sizes', () => {
  for (const c of cases) {
    it(`${c.name}: both tfjs peers match seqfair's loss and gradients, run, and free their tensors`, async () => {
      const ours = await c.seqfair(getBackend());
      const ref = ours.outputs();
      expect(Number.isFinite(ref['loss']![0])).toBe(true);
      expect(Object.keys(ref).filter((k) => k.startsWith('d:')).length).toBeGreaterThan(3);
      ours.run();
      for (const peer of ['tfjs-cpu', 'tfjs-wasm'] as const) {
        const tf = await useTfjs(peer);
        const before = tf.memory().numTensors;
        const p = c.tfjs(tf);
        const got = p.outputs();
        const verdict = compare(ref, got, c.tolerance ?? 1e-3);
        expect(verdict.ok, `${peer}: ${verdict.text}`).toBe(true);
        p.run();
        p.dispose();
        expect(tf.memory().numTensors).toBe(before);
      }
    }, 60_000);
  }

  it('a peer on other weights fails the check (the comparison can fail)', async () => {
    const ref = (await sasrecStepCase('a', tiny).seqfair(getBackend())).outputs();
    const tf = await useTfjs('tfjs-cpu');
    const p = sasrecStepCase('b', { ...tiny, B: 5 }).tfjs(tf); // another batch
    expect(compare(ref, p.outputs(), 1e-3).ok).toBe(false);
    p.dispose();
  });

  it('the full-size cases are registered under the names of the issue', () => {
    const names = CASES.map((c) => c.name);
    for (const n of ['sasrec-step-b64', 'sasrec-step-b256', 'sasrec-step-20k-b128', 'narm-step-b256', 'afsr-step-b256', 'sasrec-epoch-ml100k']) {
      expect(names).toContain(n);
    }
    expect(CASES.find((c) => c.name === 'sasrec-step-20k-b128')!.memory).toBe(true);
  });
});

describe('peak memory', () => {
  it('peakOfCall sees a 64 MB array touched inside the call', () => {
    let keep: Float32Array | null = null;
    const mb = peakOfCall(() => { keep = new Float32Array(16 * 1024 * 1024).fill(1); });
    expect(keep!.length).toBe(16 * 1024 * 1024);
    expect(mb).toBeGreaterThan(56);
  });

  it('seqfair rows are measured in a child process, tfjs rows by tf.profile', async () => {
    const rss = await measurePeak('grad-norm', { run() {}, outputs: () => ({}), dispose() {} }, 'seqfair-cpu', null, 1);
    expect(rss, String(rss)).toMatchObject({ how: 'rss' });
    expect((rss as { mb: number }).mb).toBeGreaterThanOrEqual(0);
    const tf = await useTfjs('tfjs-cpu');
    const p = { run: () => { tf.tidy(() => tf.ones([1024, 1024]).add(1)); }, outputs: () => ({}), dispose() {} };
    const t = await measurePeak('x', p, 'tfjs-cpu', tf, 1);
    expect(t).toMatchObject({ how: 'tfjs-tensors' });
    expect((t as { mb: number }).mb).toBeGreaterThanOrEqual(8); // two 4 MB tensors alive at once
  }, 60_000);
});

describe('sasrec-epoch-ml100k without the data', () => {
  it('is one skipped line per implementation saying where it looked', async () => {
    const r = await new Promise<{ code: number | null; stdout: string }>((done) => {
      execFile(process.execPath, ['--import', 'tsx', 'bench/main.ts', '--json', '--only', 'sasrec-epoch-ml100k'],
        { cwd: root, encoding: 'utf8', env: { ...process.env, SEQFAIR_DATA: '/nonexistent' }, timeout: 60_000 },
        (err, stdout) => done({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout }));
    });
    expect(r.code).toBe(0);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((o) => o['impl'])).toEqual(['seqfair-cpu', 'tfjs-wasm', 'tfjs-cpu']);
    for (const o of rows) {
      expect(o['status']).toBe('skipped');
      expect(String(o['note'])).toContain('no u.data in /nonexistent/ml-100k');
    }
  }, 60_000);
});
