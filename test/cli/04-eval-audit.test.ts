/**
 * `seqfair eval` and `seqfair audit` on a checkpoint that `seqfair train` writes in the test:
 * eval reproduces the run's own numbers, reads every form of the checkpoint path and saves JSON;
 * audit lists â, spans and span items and the AUC of â per group; bad paths and options exit 2.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '../../src/cli/commands/audit.js';
import type { CheckpointEvaluation } from '../../src/cli/commands/eval.js';
import type { RunRecord } from '../../src/compare/run.js';
import { tempDir } from '../data/helpers.js';
import { TINY_DATA, TINY_MODEL, seqfair } from './helpers.js';

const tmp = tempDir('seqfair-cli-eval-');
afterAll(() => tmp.cleanup());
const run = path.join(tmp.dir, 'run');
let record: RunRecord;

beforeAll(async () => {
  const r = await seqfair(['train', '--data', TINY_DATA, '--method', 'afsr', '--epochs', '2', ...TINY_MODEL, '--groups', 'group', '--out', run, '--json']);
  expect(r.code, r.err).toBe(0);
  record = JSON.parse(r.out) as RunRecord;
});

describe('1. seqfair eval', () => {
  it('reproduces the run\'s sampled and full-ranking test metrics from its checkpoint (data and groups from the run)', async () => {
    for (const [args, key] of [[['--protocol', 'sampled'], 'sampled-popularity'], [['--protocol', 'sampled', '--negatives', 'uniform'], 'sampled-uniform'], [['--exclude-seen'], 'full-unseen']] as const) {
      const r = await seqfair(['eval', '--checkpoint', run, ...args, '--json']);
      expect(r.code, r.err).toBe(0);
      const j = JSON.parse(r.out) as CheckpointEvaluation;
      expect(j.protocol).toBe(key);
      expect(j.snapshot).toBe('best');
      expect(j.overall).toEqual(record.protocols[key]!.test.overall);
      expect(j.groups).toEqual(record.protocols[key]!.test.groups);
      expect(j.group_sizes).toEqual(record.group_sizes);
    }
  });

  it('prints a table with overall, per-group and gap rows; --out saves the JSON; other groupings and the validation split', async () => {
    const file = path.join(tmp.dir, 'eval', 'e.json');
    const r = await seqfair(['eval', '--checkpoint', run, '--data', TINY_DATA, '--groups', 'group,length:3333', '--out', file]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/sasrec afsr seed 1 \(best weights\) on synthetic\(.*\), test split, full\n/);
    for (const row of ['overall', 'group=majority', 'group=minority', 'group gap (max − min)', 'length:3333=short', 'length:3333=long']) expect(r.out).toContain(row);
    expect(r.out).toContain(`wrote ${file}`);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as CheckpointEvaluation;
    expect(Object.keys(saved.groups)).toEqual(['group', 'length:3333']);
    const v = await seqfair(['eval', '--checkpoint', run, '--split', 'valid', '--json']);
    expect(JSON.parse(v.out)).toMatchObject({ split: 'valid' });
  });

  it('takes the checkpoint/ directory or a snapshot in it', async () => {
    const a = JSON.parse((await seqfair(['eval', '--checkpoint', path.join(run, 'checkpoint'), '--json'])).out) as CheckpointEvaluation;
    expect(a.snapshot).toBe('best');
    const last = await seqfair(['eval', '--checkpoint', path.join(run, 'checkpoint', 'last'), '--json']);
    expect(last.code).toBe(0);
    expect((JSON.parse(last.out) as CheckpointEvaluation).weights).toBe(path.join(run, 'checkpoint', 'last', 'model.safetensors'));
  });

  it('usage errors exit 2 with the option named', async () => {
    const empty = path.join(tmp.dir, 'empty');
    tmp.write('empty/readme.txt', 'x');
    const unfinished = path.join(tmp.dir, 'unfinished');
    tmp.write('unfinished/checkpoint/last/state.json', '{}');
    const cases: [string[], RegExp][] = [
      [['--checkpoint', path.join(tmp.dir, 'nope')], /--checkpoint: no such directory/],
      [['--checkpoint', unfinished], /--checkpoint: .*unfinished holds an unfinished run \(checkpoint\/last but no result\.json\); run the same seqfair train command again/],
      [['--checkpoint', empty], /--checkpoint: .*has no result\.json: expected the --out directory of seqfair train/],
      [['--checkpoint', run, '--negatives', 'uniform'], /--negatives applies to --protocol sampled only/],
      [['--checkpoint', run, '--protocol', 'sampled', '--exclude-seen'], /--exclude-seen applies to --protocol full only/],
      [['--checkpoint', run, '--protocol', 'best'], /argument 'best' is invalid\. expected one of full, sampled/],
      [['--checkpoint', run, '--groups', 'gender'], /--groups: unknown grouping 'gender'/],
      [['--checkpoint', run, '--data', 'synthetic:numUsers=60,numItems=170,maxLen=25,seed=4'], /--checkpoint: .*(parameters|does not fit)/],
      [['--checkpoint', run, '--data', 'ml-100k:/nowhere'], /--data: data: directory \/nowhere does not exist/],
      [[], /required option '--checkpoint <dir>' not specified/],
    ];
    for (const [args, msg] of cases) {
      const r = await seqfair(['eval', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(msg);
    }
  });
});

describe('2. seqfair audit', () => {
  it('--json: top users by â and by loss with their spans, span items, and the AUC of â for each group', async () => {
    const r = await seqfair(['audit', '--checkpoint', run, '--top', '3', '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as AuditReport;
    expect(j.span_size).toBe(3); // the run's A-FSR span size
    expect(j.users).toBe(60);
    expect(j.top_indicator).toHaveLength(3);
    expect(j.top_loss).toHaveLength(3);
    for (let i = 1; i < 3; i++) {
      expect(j.top_indicator[i - 1]!.indicator).toBeGreaterThanOrEqual(j.top_indicator[i]!.indicator);
      expect(j.top_loss[i - 1]!.loss).toBeGreaterThanOrEqual(j.top_loss[i]!.loss);
    }
    for (const u of [...j.top_indicator, ...j.top_loss]) {
      expect(u.items.length).toBe(u.span_from_end.length);
      expect(u.items.length).toBeGreaterThan(0);
      expect(u.attributes.group).toMatch(/^(majority|minority)$/);
    }
    expect(j.span_items.length).toBeLessThanOrEqual(3);
    expect(j.span_items[0]!.count).toBeGreaterThanOrEqual(j.span_items.at(-1)!.count);
    const sep = j.separation.find((s) => s.grouping === 'group')!;
    const [maj, min] = sep.groups;
    expect([maj!.group, min!.group]).toEqual(['majority', 'minority']);
    expect(maj!.users + min!.users).toBe(60);
    // two groups: the AUC of one against the rest is 1 − the other's
    expect(maj!.auc_indicator + min!.auc_indicator).toBeCloseTo(1, 12);
    expect(maj!.auc_loss + min!.auc_loss).toBeCloseTo(1, 12);
  });

  it('prints the audit as text; --span-size and --groups change it', async () => {
    const r = await seqfair(['audit', '--checkpoint', run, '--top', '2', '--span-size', '5', '--groups', 'group,length']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('A-FSR audit of sasrec afsr seed 1 on synthetic(');
    expect(r.out).toContain('span size 5');
    expect(r.out).toContain('Users with the largest group indicator â');
    expect(r.out).toContain('Items most often inside a located span');
    expect(r.out).toMatch(/group\s+minority\s+\d+\s+\d\.\d{4}\s+\d\.\d{4}/);
    expect(r.out).toMatch(/length\s+short\s+\d+/);
  });

  it('usage errors exit 2', async () => {
    for (const [args, msg] of [
      [['--checkpoint', run, '--span-size', '4'], /expected an odd integer >= 1 \(2s\+1\), got '4'/],
      [['--checkpoint', run, '--top', '0'], /option '--top <n>' argument '0' is invalid/],
      [['--checkpoint', path.join(tmp.dir, 'nope')], /--checkpoint: no such directory/],
      [['--checkpoint', run, '--groups', 'age'], /--groups: unknown grouping 'age'/],
    ] as [string[], RegExp][]) {
      const r = await seqfair(['audit', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(msg);
    }
    expect(existsSync(run)).toBe(true);
  });
});
