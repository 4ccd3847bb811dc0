/**
 * `seqfair train`: one model, one method, one seed into an output directory (the layout of one
 * compare run: result.json, per-user.json, train.jsonl, checkpoint/). Run again with the same
 * options it resumes from the last checkpoint; once finished it prints the stored result.
 *
 * Exit status: 0 done, 1 failed (e.g. the directory holds a run of another config), 2 usage.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { type RunRecord, readRun, runOne, RUN_PROTOCOLS } from '../../compare/run.js';
import { parseProtocolKey, protocolKey } from '../../eval/evaluate.js';
import { type HyperFlags, choiceArg, intArg, listArg } from '../../compare/options.js';
import { addHyperOptions, checkSetup, progressPrinter, usage } from './compare.js';

function describe(r: RunRecord, reported: string): string {
  const lines = [`${r.model} ${r.method} seed ${r.seed} on ${r.dataset}: ${r.epochs_trained} epochs, best ${r.best_epoch}${r.stopped_early ? ' (stopped early)' : ''}`];
  for (const k of RUN_PROTOCOLS) {
    const t = r.protocols[k]!.test.overall;
    lines.push(`  test ${k.padEnd(18)}${k === reported ? '*' : ' '} recall@5 ${t['recall@5']!.toFixed(4)} ndcg@5 ${t['ndcg@5']!.toFixed(4)} recall@20 ${t['recall@20']!.toFixed(4)} ndcg@20 ${t['ndcg@20']!.toFixed(4)} mrr ${t.mrr!.toFixed(4)}`);
  }
  return lines.join('\n');
}

export function registerTrain(program: Command): void {
  const cmd = program.command('train')
    .description('train one model with one method and seed; resumes from the last checkpoint in --out')
    .requiredOption('--data <spec>', 'ml-100k:<dir>, ml-1m:<dir>, csv:<file>[,users=<file>] or synthetic[:key=value,…]')
    .option('--model <name>', 'sasrec, bert4rec, narm or gru4rec', 'sasrec')
    .option('--method <name>', 'training method', 'erm')
    .option('--seed <n>', 'seed of the initialisation, batches, dropout and negatives', intArg(0), 1)
    .addOption(new Option('--protocol <p>', 'validation protocol: sampled (100 negatives) or full').argParser(choiceArg(['sampled', 'full'] as const)).default('sampled'))
    .addOption(new Option('--negatives <how>', 'sampled negatives: popularity (default) or uniform').argParser(choiceArg(['popularity', 'uniform'] as const)))
    .option('--exclude-seen', 'full ranking without the items of the user\'s history (--protocol full)')
    .option('--groups <list>', 'groupings to report (gender, popularity:2060, …)', listArg, [])
    .requiredOption('--out <dir>', 'output directory (checkpoint, log, result)')
    .option('--json', 'print the result as JSON');
  addHyperOptions(cmd);
  cmd.addHelpText('after', `
Examples:
  seqfair train --data ml-100k:../shared/datasets/ml-100k --model sasrec --method erm --seed 1 --out runs/sasrec-1
  seqfair train --data synthetic --model bert4rec --epochs 30 --groups group --out runs/b4r

The run is evaluated under sampled (popularity and uniform negatives) and full ranking (with and
without the user's history); --protocol chooses the one that validates (early stopping).`);
  cmd.action(async (opts: HyperFlags & { data: string; model: string; method: string; seed: number; protocol: 'sampled' | 'full'; negatives?: 'popularity' | 'uniform'; excludeSeen?: boolean; groups: string[]; out: string; json?: boolean }) => {
    if (opts.negatives !== undefined && opts.protocol !== 'sampled') usage(cmd, '--negatives applies to --protocol sampled only');
    if (opts.excludeSeen && opts.protocol !== 'full') usage(cmd, '--exclude-seen applies to --protocol full only');
    const { dataset, settings } = await checkSetup(cmd, { data: opts.data, models: [opts.model], methods: [opts.method], groups: opts.groups, flags: opts, seeds: [opts.seed] });
    const valid = parseProtocolKey(opts.protocol === 'full' ? (opts.excludeSeen ? 'full-unseen' : 'full') : `sampled-${opts.negatives ?? 'popularity'}`);
    const existing = existsSync(path.join(opts.out, 'result.json')) ? readRun(opts.out) : null;
    const spec = {
      dataset, data: opts.data, model: opts.model, method: opts.method, seed: opts.seed, groups: opts.groups,
      modelOptions: { ...settings.model, ...(settings.models[opts.model] ?? {}) }, methodParams: settings.methods[opts.method] ?? {},
      train: { epochs: 200, ...settings.train, validation: { patience: 20, ...(settings.train.validation || {}), protocol: valid } },
    };
    const prefix = `${opts.model} ${opts.method} seed ${opts.seed}`;
    // runOne resumes from <out>/checkpoint; a finished run is reloaded and re-evaluated at once
    const r = runOne(spec, opts.out, progressPrinter(() => prefix));
    if (existing !== null && existing.key !== r.key) {
      process.stderr.write(`note: ${opts.out} held a finished run of another config (${existing.key}); it was replaced by ${r.key}\n`);
    }
    if (opts.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else process.stdout.write(`${describe(r, protocolKey(valid))}\nwrote ${path.join(opts.out, 'result.json')}\n`);
  });
}
