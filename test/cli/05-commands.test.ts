/**
 * Every command: --help with examples, unknown options and commands exit 2, train/compare config
 * files checked field by field before training; `seqfair bench` passes its arguments and exit
 * status through; the progress display (bar on a terminal, lines elsewhere).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runBench } from '../../src/cli/commands/bench.js';
import { gridProgress } from '../../src/cli/progress.js';
import type { CompareEvent } from '../../src/compare/index.js';
import { repoRoot, tempDir } from '../data/helpers.js';
import { TINY_DATA, seqfair } from './helpers.js';

const tmp = tempDir('seqfair-cli-cmds-');
afterAll(() => tmp.cleanup());

describe('1. every command', () => {
  it('--help shows examples and exits 0', async () => {
    for (const c of ['info', 'golden', 'demo', 'train', 'compare', 'eval', 'audit', 'report', 'bench']) {
      const r = await seqfair([c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.out, c).toContain(`Usage: seqfair ${c}`);
      expect(r.out, c).toContain('Examples:');
    }
  });

  it('an unknown command or option exits 2', async () => {
    expect((await seqfair(['nosuch'])).code).toBe(2);
    const required: Record<string, string[]> = { demo: [], eval: ['--checkpoint', tmp.dir], audit: ['--checkpoint', tmp.dir], train: ['--data', TINY_DATA, '--out', tmp.dir], compare: ['--data', TINY_DATA] };
    for (const [c, req] of Object.entries(required)) {
      const r = await seqfair([c, ...req, '--no-such-flag']);
      expect(r.code, c).toBe(2);
      expect(r.err, c).toContain("unknown option '--no-such-flag'");
    }
  });

  it('train and compare: a bad config field exits 2 naming the field, before any data is loaded', async () => {
    const bad = tmp.write('bad.json', JSON.stringify({ epochs: 2, validation: { every: 0 } }));
    for (const c of ['train', 'compare']) {
      const r = await seqfair([c, '--data', 'ml-100k:/nowhere', '--config', bad, '--out', path.join(tmp.dir, c)]);
      expect(r.code, c).toBe(2);
      expect(r.err, c).toContain(`config ${bad}: validation.every: expected an integer >= 1, got 0`);
    }
    const typo = tmp.write('typo.json', JSON.stringify({ batch_size: 8 }));
    const r = await seqfair(['train', '--data', TINY_DATA, '--config', typo, '--out', path.join(tmp.dir, 't')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown field 'batch_size' \(expected epochs, batchSize/);
  });

  it('the objectives without groups are methods of train and compare', async () => {
    const r = await seqfair(['train', '--data', TINY_DATA, '--method', 'no-such', '--out', path.join(tmp.dir, 'm')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown method 'no-such' \(known: erm, .*cvar-dro.*afsr/);
  });
});

describe('2. seqfair bench', () => {
  // asynchronous: a long spawnSync would starve the test worker's RPC
  const cli = (args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> => new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'bench', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 90_000 }, (e, stdout, stderr) => {
      resolve({ status: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr });
    });
  });

  it('passes the arguments on and returns the suite\'s output and exit status', async () => {
    const ok = await cli(['--json', '--only', 'grad-norm', '--impl', 'seqfair-cpu', '--reps', '2']);
    const rows = ok.stdout.trim().split('\n').map((l) => JSON.parse(l) as { case: string; impl: string });
    expect(rows.map((x) => [x.case, x.impl])).toEqual([['grad-norm', 'seqfair-cpu']]);
    expect([0, 1]).toContain(ok.status); // 1 only where the native addon is missing (an error row)
    const bad = await cli(['--only', 'no-such-case']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown case: no-such-case');
  });

  it('says where the suite should be when it is not there (exit 1)', async () => {
    let err = '';
    const w = process.stderr.write;
    process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
    try {
      expect(await runBench(['--json'], tmp.dir)).toBe(1);
    } finally {
      process.stderr.write = w;
    }
    expect(err).toContain(`${path.join(tmp.dir, 'bench', 'main.ts')} does not exist`);
  });
});

describe('3. progress', () => {
  const events = (): CompareEvent[] => {
    const ev: CompareEvent[] = [{ kind: 'start', index: 1, total: 2, key: 'k', model: 'sasrec', method: 'erm', seed: 1 }];
    for (let epoch = 1; epoch <= 2; epoch++) {
      for (let batch = 1; batch <= 3; batch++) ev.push({ kind: 'progress', index: 1, total: 2, key: 'k', event: { kind: 'epoch', progress: { phase: 'batch', epoch, epochs: 2, batch, batches: 3, loss: 4.5, itemsPerSec: 1234, elapsedS: 0.1 * batch } } });
      ev.push({ kind: 'progress', index: 1, total: 2, key: 'k', event: { kind: 'epoch', progress: { phase: 'epoch', record: { epoch, step: 3 * epoch, train_loss: 4.4, valid: { 'ndcg@10': 0.25 }, valid_loss: 4, best_epoch: epoch, best_value: 0.25, lr: 1e-3, time_s: 0.3, valid_time_s: 0.1, items_per_s: 1234, seqs_per_s: 50 } } } });
    }
    ev.push({ kind: 'done', index: 1, total: 2, key: 'k', record: { epochs_trained: 2, best_epoch: 2 } as never });
    return ev;
  };
  const sink = (tty: boolean) => {
    let text = '';
    const s = new Writable({ write(chunk, _enc, cb) { text += String(chunk); cb(); } }) as unknown as NodeJS.WriteStream;
    Object.assign(s, { isTTY: tty, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
    return { s, text: () => text };
  };

  it('a bar with loss, items/s and ETA on a terminal', () => {
    const out = sink(true);
    const p = gridProgress({ mode: 'bar', stream: out.s });
    for (const e of events()) p.onEvent(e);
    expect(out.text()).toMatch(/\[1\/2\] sasrec erm seed 1 .*\d+% \| epoch \d\/2 \| loss 4\.5000 \| 1234 items\/s \| ETA/);
    expect(out.text()).toContain('[1/2] sasrec erm seed 1: done in');
  });

  it('one line per epoch on a pipe; one line per run when quiet', () => {
    const lines = sink(false);
    const p = gridProgress({ mode: 'lines', stream: lines.s });
    for (const e of events()) p.onEvent(e);
    expect(lines.text().split('\n').filter((l) => l.includes('· epoch'))).toEqual([
      '[1/2] sasrec erm seed 1 · epoch 1 · loss 4.4000 · valid ndcg@10 0.2500 (best epoch 1) · 1234 items/s · 0.3s',
      '[1/2] sasrec erm seed 1 · epoch 2 · loss 4.4000 · valid ndcg@10 0.2500 (best epoch 2) · 1234 items/s · 0.3s',
    ]);
    const runs = sink(false);
    const q = gridProgress({ mode: 'runs', stream: runs.s });
    for (const e of events()) q.onEvent(e);
    expect(runs.text().trim().split('\n')).toHaveLength(2);
  });
});
