/**
 * Tests of src/compare and of the `compare` / `train` commands, on tiny synthetic data with
 * small SASRec/NARM models (a few seconds per run).
 *
 *   1. data specs and option parsing
 *   2. compare(): results.json contract, per-user side files, summary; a second call skips
 *   3. `seqfair compare` / `seqfair train` end to end: exit 0, files, resume; bad options exit 2
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { compare, parseDataSpec, reportedProtocols } from '../../src/compare/index.js';
import { loadDataSpec } from '../../src/compare/data-spec.js';
import { readConfigFile, seedsArg } from '../../src/compare/options.js';
import { main } from '../../src/cli/main.js';
import { parseResults } from '../../src/report/schema.js';
import { tempDir } from '../data/helpers.js';

const tmp = tempDir('seqfair-compare-');
afterAll(() => tmp.cleanup());
const DATA = 'synthetic:numUsers=80,numItems=150,maxLen=25,seed=4';
const small = { hiddenSize: 8, maxLen: 10, layers: 1 };

describe('1. specs and options', () => {
  it('parses data specs and rejects bad ones with the accepted forms', () => {
    expect(parseDataSpec('ml-100k:/data/ml-100k')).toEqual({ kind: 'ml-100k', dir: '/data/ml-100k', name: 'ml-100k' });
    expect(parseDataSpec('ml-1m:/d')).toMatchObject({ kind: 'ml-1m', dir: '/d' });
    expect(parseDataSpec('csv:/x/events.tsv,users=/x/u.csv')).toEqual({ kind: 'csv', file: '/x/events.tsv', users: '/x/u.csv', name: 'events' });
    expect(parseDataSpec('synthetic')).toEqual({ kind: 'synthetic', options: {}, name: 'synthetic' });
    expect(parseDataSpec('synthetic:numUsers=50,seed=3')).toMatchObject({ options: { numUsers: 50, seed: 3 } });
    expect(() => parseDataSpec('ml-100k')).toThrow(/give the directory/);
    expect(() => parseDataSpec('parquet:/x')).toThrow(/unknown data spec 'parquet:\/x': expected ml-100k:<dir>/);
    expect(() => parseDataSpec('synthetic:numUsers=abc')).toThrow(/numUsers must be a number, got 'abc'/);
  });

  it('loads a csv spec with a user-attribute file', async () => {
    const events = ['user,item,timestamp', ...Array.from({ length: 30 }, (_, i) => `u${i % 3},i${i},${i}`)].join('\n');
    const file = tmp.write('events.csv', events);
    const users = tmp.write('users.csv', 'user,gender\nu0,F\nu1,M\nu2,F\n');
    const ds = await loadDataSpec(`csv:${file},users=${users}`);
    expect(ds.numUsers).toBe(3);
    expect(ds.userAttributes.map((a) => a.gender)).toEqual(['F', 'M', 'F']);
  });

  it('parses seeds and config files', () => {
    expect(seedsArg('3')).toEqual([1, 2, 3]);
    expect(seedsArg('7,2')).toEqual([7, 2]);
    expect(() => seedsArg('0')).toThrow(/number of seeds/);
    const ok = tmp.write('ok.json', JSON.stringify({ epochs: 3, validation: { patience: 2 }, model: { hiddenSize: 8 }, models: { narm: { dropout: 0 } } }));
    expect(readConfigFile(ok)).toMatchObject({ train: { epochs: 3, validation: { patience: 2 } }, model: { hiddenSize: 8 }, models: { narm: { dropout: 0 } } });
    const bad = tmp.write('bad.json', JSON.stringify({ epoch: 3 }));
    expect(() => readConfigFile(bad)).toThrow(/config: unknown field 'epoch' \(expected epochs, batchSize/);
    const badV = tmp.write('badv.json', JSON.stringify({ validation: { patiance: 3 } }));
    expect(() => readConfigFile(badV)).toThrow(/unknown field validation.patiance/);
  });

  it('reports the protocols of each choice', () => {
    expect(reportedProtocols('sampled')).toEqual(['sampled-popularity']);
    expect(reportedProtocols('sampled', 'uniform')).toEqual(['sampled-uniform']);
    expect(reportedProtocols('all')).toEqual(['sampled-popularity', 'sampled-uniform', 'full', 'full-unseen']);
    expect(reportedProtocols('full', 'popularity', true)).toEqual(['full-unseen']);
  });
});

describe('2. compare()', () => {
  it('writes results.json with the contract keys, side files and a summary; a second call skips every run', async () => {
    const out = path.join(tmp.dir, 'grid');
    const dataset = await loadDataSpec(DATA);
    const opts = {
      data: DATA, dataset, models: ['sasrec', 'narm'], methods: ['erm'], seeds: [1, 2], protocol: 'sampled' as const,
      groups: ['group', 'length'], out, train: { epochs: 2 }, modelOptions: small,
    };
    const first = await compare(opts);
    expect(first.trained).toBe(4);
    const res = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as { runs: Record<string, any>[] };
    expect(res.runs).toHaveLength(4);
    for (const r of res.runs) {
      for (const k of ['model', 'method', 'seed', 'dataset', 'protocol', 'negatives', 'config', 'epochs_trained', 'best_epoch', 'valid', 'test']) expect(r).toHaveProperty(k);
      expect(r.protocol).toBe('sampled');
      expect(r.negatives).toBe('popularity');
      expect(Object.keys(r.test.overall)).toEqual(expect.arrayContaining(['recall@5', 'ndcg@5', 'recall@20', 'ndcg@20', 'mrr']));
      expect(Object.keys(r.test.groups)).toEqual(['group', 'length']);
      expect(Object.keys(r.test.groups.group).sort()).toEqual(['majority', 'minority']);
      expect(r.test.groups.group.minority['ndcg@5']).toBeTypeOf('number');
      expect(r.config.train).toMatchObject({ epochs: 2, batchSize: 64, lr: 0.001, weightDecay: 0.01, optimizer: 'adamw', seed: r.seed });
      expect(r.config.model).toMatchObject({ name: r.model, hiddenSize: 8, maxLen: 10 });
      const perUser = JSON.parse(readFileSync(path.join(out, r.per_user), 'utf8'));
      expect(perUser.users).toHaveLength(dataset.numUsers);
      expect(perUser.protocols['sampled-popularity'].test['ndcg@5']).toHaveLength(dataset.numUsers);
      expect(perUser.protocols.full.test.ranks).toHaveLength(dataset.numUsers);
    }
    const summary = readFileSync(path.join(out, 'summary.md'), 'utf8');
    expect(summary).toContain('| sasrec | erm | 2 |');
    expect(summary).toContain('### ndcg@5 by group');
    expect(first.summary.trimEnd()).toBe(summary.trimEnd());

    const second = await compare(opts);
    expect(second.trained).toBe(0);
    expect(second.skipped).toBe(4);
    expect(second.runs).toEqual(first.runs);

    // another config (more epochs) is another run, not a finished one
    const third = await compare({ ...opts, models: ['narm'], seeds: [1], train: { epochs: 3 } });
    expect(third.trained).toBe(1);
  });

  it('with --protocol all, reports each protocol of the same trained model', async () => {
    const out = path.join(tmp.dir, 'all');
    const opts = { data: DATA, models: ['sasrec'], methods: ['erm'], seeds: [1], protocol: 'all' as const, out, train: { epochs: 1 }, modelOptions: small };
    const r = await compare(opts);
    expect(r.runs.map((e) => `${e.protocol}/${e.negatives ?? e.exclude_seen}`)).toEqual(['sampled/popularity', 'sampled/uniform', 'full/false', 'full-unseen/true']);
    // the report command accepts the file (one entry per dataset × protocol × negatives × model × method × seed)
    expect(() => parseResults(JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')))).not.toThrow();
    expect(new Set(r.runs.map((e) => e.run_dir)).size).toBe(1);
    expect((r.runs[0]!.config as { train: { validation: { protocol: string } } }).train.validation.protocol).toBe('sampled-popularity');
    // excluding the history can only move the target up
    expect(r.runs[3]!.test.overall['ndcg@20']).toBeGreaterThanOrEqual(r.runs[2]!.test.overall['ndcg@20']!);

    // a finished run that lacks a protocol (an older version's) is completed from its checkpoint
    const file = path.join(out, r.runs[0]!.run_dir as string, 'result.json');
    const rec = JSON.parse(readFileSync(file, 'utf8'));
    delete rec.protocols['full-unseen'];
    writeFileSync(file, JSON.stringify(rec));
    const events: string[] = [];
    const again = await compare({ ...opts, onEvent: (e) => events.push(e.kind) });
    expect(events).toEqual(['skip', 'complete']);
    expect(again.trained).toBe(0);
    expect(again.runs).toEqual(r.runs);
  });
});

describe('3. commands', () => {
  let err = '';
  let out = '';
  beforeEach(() => {
    err = '';
    out = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });

  it('seqfair compare: exit 0, files, JSON output, skips on a second invocation', async () => {
    const dir = path.join(tmp.dir, 'cli-compare');
    const args = ['compare', '--data', DATA, '--models', 'gru4rec', '--seeds', '1', '--epochs', '1', '--hidden', '8', '--max-len', '10', '--groups', 'group', '--out', dir, '--json'];
    expect(await main(args)).toBe(0);
    const printed = JSON.parse(out) as { results: string; trained: number; runs: unknown[] };
    expect(printed.trained).toBe(1);
    expect(existsSync(printed.results)).toBe(true);
    expect(existsSync(path.join(dir, 'summary.md'))).toBe(true);
    expect(err).toMatch(/\[1\/1\] gru4rec erm seed 1 · epoch 1 · loss/);
    out = '';
    expect(await main(args)).toBe(0);
    expect((JSON.parse(out) as { skipped: number }).skipped).toBe(1);
  });

  it('seqfair train: exit 0, then resumes to more epochs from its checkpoint', async () => {
    const dir = path.join(tmp.dir, 'cli-train');
    const base = ['train', '--data', DATA, '--model', 'sasrec', '--seed', '3', '--hidden', '8', '--max-len', '10', '--layers', '1', '--out', dir];
    expect(await main([...base, '--epochs', '1'])).toBe(0);
    expect(out).toMatch(/sasrec erm seed 3 on synthetic\(.*\): 1 epochs/);
    expect(readFileSync(path.join(dir, 'train.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
    out = '';
    expect(await main([...base, '--epochs', '2', '--json'])).toBe(0);
    const r = JSON.parse(out) as { epochs_trained: number };
    expect(r.epochs_trained).toBe(2);
    expect(readFileSync(path.join(dir, 'train.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    // another learning rate on the same directory is refused (exit 1), naming the field
    expect(await main([...base, '--epochs', '2', '--lr', '0.01'])).toBe(1);
    expect(err).toMatch(/another config \(lr: checkpoint 0.001, now 0.01\)/);
  });

  it.each([
    [['compare', '--data', 'nope'], /unknown data spec 'nope'/],
    [['compare', '--data', 'ml-100k:/nonexistent/dir'], /directory \/nonexistent\/dir does not exist/],
    [['compare', '--data', DATA, '--models', 'sasrec,transformer'], /unknown model 'transformer'/],
    [['compare', '--data', DATA, '--methods', 'magic'], /unknown method 'magic' \(known: erm/],
    [['compare', '--data', DATA, '--epochs', 'many'], /'--epochs <n>' argument 'many' is invalid/],
    [['compare', '--data', DATA, '--protocol', 'partial'], /expected one of sampled, full, all, got 'partial'/],
    [['compare', '--data', DATA, '--protocol', 'full', '--negatives', 'uniform'], /--negatives applies to --protocol sampled only/],
    [['compare', '--data', DATA, '--groups', 'gender'], /--groups: unknown grouping 'gender'/],
    [['compare', '--data', DATA, '--exclude-seen'], /--exclude-seen applies to --protocol full only/],
    [['compare', '--data', DATA, '--valid-metric', 'auc'], /metric must be recall@k, hr@k, ndcg@k or mrr, got 'auc'/],
    [['compare', '--data', DATA, '--dropout', '1.5'], /expected a probability in \[0, 1\), got '1.5'/],
    [['compare', '--models', 'sasrec'], /required option '--data <spec>' not specified/],
    [['train', '--data', DATA], /required option '--out <dir>' not specified/],
    [['train', '--data', DATA, '--model', 'bert5rec', '--out', 'x'], /unknown model 'bert5rec'/],
  ])('%j exits 2 with a message', async (args, msg) => {
    expect(await main(args)).toBe(2);
    expect(err).toMatch(msg);
  });

  it('a bad config field exits 2 naming it', async () => {
    const cfg = tmp.write('bad-config.json', JSON.stringify({ lr: 0.001, batchsize: 32 }));
    expect(await main(['compare', '--data', DATA, '--config', cfg, '--out', path.join(tmp.dir, 'x')])).toBe(2);
    expect(err).toMatch(/config.*unknown field 'batchsize'/);
    writeFileSync(cfg, JSON.stringify({ optimizer: 'sgd' }));
    expect(await main(['compare', '--data', DATA, '--config', cfg, '--out', path.join(tmp.dir, 'x')])).toBe(2);
    // (the message is the trainer's check or the command's config schema, whichever runs first)
    expect(err).toMatch(/optimizer.*adamw.*sgd/);
  });
});
