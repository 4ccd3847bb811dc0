/**
 * `seqfair compare`: the model × method × seed grid on one data set (src/compare), resumable,
 * writing results.json, summary.md and one directory per run. Also the helpers `seqfair train`
 * shares: the hyper-parameter flags, data/model/method checks and progress lines.
 *
 * Exit status: 0 done, 1 a run failed, 2 usage (bad flag, bad config field, unknown model,
 * method or grouping, missing data directory) — checked before any training starts.
 */
import path from 'node:path';
import { type Command, CommanderError, Option } from 'commander';
import type { Dataset } from '../../data/preprocess.js';
import { MODEL_DEFAULTS, isModelName } from '../../models/index.js';
import { resolveGroupings } from '../../eval/groupings.js';
import { resolveTrainConfig } from '../../train/trainer.js';
import { type CompareEvent, type ProtocolChoice, compare, reportedProtocols } from '../../compare/index.js';
import { checkDataSpec, loadDataSpec, parseDataSpec } from '../../compare/data-spec.js';
import { createMethod, methodNames } from '../../compare/methods.js';
import { buildModel, type RunEvent } from '../../compare/run.js';
import { type FileConfig, type HyperFlags, UsageError, choiceArg, intArg, listArg, mergeSettings, numberArg, seedsArg } from '../../compare/options.js';
import { parseProtocolKey } from '../../eval/evaluate.js';

/** Throws the usage error commander reports with exit status 2. */
export function usage(cmd: Command, message: string): never {
  cmd.error(`error: ${message}`, { exitCode: 2, code: 'seqfair.usage' });
  throw new CommanderError(2, 'seqfair.usage', message); // unreachable: error() throws under exitOverride
}

/** Loads a `--data` spec; a malformed spec or data file is a usage error (exit 2). */
export async function loadDataOption(cmd: Command, data: string): Promise<Dataset> {
  try {
    const spec = parseDataSpec(data);
    checkDataSpec(spec);
    return await loadDataSpec(spec);
  } catch (e) {
    if (e instanceof RangeError) usage(cmd, `--data: ${e.message}`);
    throw e;
  }
}

/** The hyper-parameter flags of compare and train. */
export function addHyperOptions(cmd: Command): Command {
  const prob = numberArg((x) => x >= 0 && x < 1, 'a probability in [0, 1)');
  return cmd
    .option('--config <file>', 'JSON file of hyper-parameters (flags override it)')
    .option('--epochs <n>', 'maximum epochs (default 200)', intArg(1))
    .option('--batch-size <n>', 'batch size (default 64)', intArg(1))
    .option('--lr <x>', 'learning rate (default 0.001)', numberArg((x) => x > 0 && Number.isFinite(x), 'a number > 0'))
    .option('--weight-decay <x>', 'weight decay (default 0.01)', numberArg((x) => x >= 0 && Number.isFinite(x), 'a number >= 0'))
    .addOption(new Option('--optimizer <name>', 'optimizer (default adamw)').argParser(choiceArg(['adamw', 'adam'] as const)))
    .option('--clip-norm <x>', 'clip the gradient norm (default: off)', numberArg((x) => x > 0 && Number.isFinite(x), 'a number > 0'))
    .addOption(new Option('--loss <kind>', 'training loss (default ce: full softmax)').argParser(choiceArg(['ce', 'sampled-softmax', 'bce'] as const)))
    .option('--num-negatives <k>', 'negatives of the sampled losses', intArg(1))
    .option('--mask-prob <p>', 'BERT4Rec masking probability (default 0.2)', numberArg((x) => x > 0 && x <= 1, 'a number in (0, 1]'))
    .addOption(new Option('--last-targets <how>', 'NARM: train on all prefixes (default), one random prefix per user and epoch, or the last item').argParser(choiceArg(['all', 'random', 'last'] as const)))
    .option('--sliding-window <p>', 'SASRec, GRU4Rec, BERT4Rec: train windows of each whole history, every ⌊p·max-len⌋ items; 0: the newest items only (default: BERT4Rec 0.5, as the original; others 0)', numberArg((x) => x >= 0 && x <= 1, 'a number in [0, 1]'))
    .option('--max-len <n>', 'input length (default: the model\'s, 50)', intArg(1))
    .option('--patience <n>', 'validations without improvement before stopping (default 20; 0 = never)', intArg(0))
    .option('--valid-every <n>', 'validate every n epochs (default 1)', intArg(1))
    .option('--valid-metric <m>', 'early-stopping metric (default ndcg@5)')
    .option('--hidden <n>', 'hidden size of every model (default 64)', intArg(1))
    .option('--layers <n>', 'blocks / GRU layers (default: the model\'s)', intArg(1))
    .option('--heads <n>', 'attention heads (default 2)', intArg(1))
    .option('--dropout <p>', 'main dropout rate (default: the model\'s)', prob);
}

/** Loads the data, checks models, methods, groupings and the whole config before training. */
export async function checkSetup(cmd: Command, a: { data: string; models: readonly string[]; methods: readonly string[]; groups: readonly string[]; flags: HyperFlags; seeds: readonly number[] }): Promise<{ dataset: Dataset; settings: FileConfig }> {
  let settings: FileConfig;
  try {
    settings = mergeSettings(a.flags);
  } catch (e) {
    if (e instanceof UsageError) usage(cmd, e.message);
    throw e;
  }
  for (const m of a.models) if (!isModelName(m)) usage(cmd, `unknown model '${m}' (known: ${Object.keys(MODEL_DEFAULTS).join(', ')})`);
  const known = methodNames();
  for (const m of a.methods) if (!known.includes(m)) usage(cmd, `unknown method '${m}' (known: ${known.join(', ')})`);
  for (const m of Object.keys(settings.models)) if (!isModelName(m)) usage(cmd, `config: models.${m}: unknown model`);
  const dataset = await loadDataOption(cmd, a.data);
  try {
    resolveGroupings(dataset, a.groups);
  } catch (e) {
    usage(cmd, `--groups: ${(e as Error).message}`);
  }
  // dry run of every model × method config (cheap: builds the models, trains nothing)
  for (const m of a.models) {
    for (const meth of a.methods) {
      try {
        const model = buildModel(m, dataset, a.seeds[0]!, { ...settings.model, ...(settings.models[m] ?? {}) });
        const setup = createMethod(meth, { dataset, seed: a.seeds[0]!, params: settings.methods[meth] ?? {}, model, batchSize: settings.train.batchSize });
        resolveTrainConfig(model, { epochs: 1, ...settings.train, seed: a.seeds[0]!, objective: setup.objective });
      } catch (e) {
        usage(cmd, `${m} / ${meth}: ${(e as Error).message}`);
      }
    }
  }
  return { dataset, settings };
}

/** One stderr line per epoch (and a live batch line on a terminal). */
export function progressPrinter(prefix: () => string): (e: RunEvent) => void {
  const tty = process.stderr.isTTY === true;
  return (e) => {
    const p = e.progress;
    if (p.phase === 'batch') {
      if (!tty) return;
      const eta = p.batch > 0 ? (p.elapsedS / p.batch) * (p.batches - p.batch) : 0;
      process.stderr.write(`\r${prefix()} · epoch ${p.epoch}/${p.epochs} · batch ${p.batch}/${p.batches} · loss ${p.loss.toFixed(4)} · ${Math.round(p.itemsPerSec)} items/s · ETA ${eta.toFixed(0)}s   `);
      return;
    }
    const r = p.record;
    const valid = r.valid ? ` · valid ndcg@5 ${r.valid['ndcg@5']!.toFixed(4)} (best ${r.best_value!.toFixed(4)} @ ${r.best_epoch})` : '';
    process.stderr.write(`${tty ? '\r' : ''}${prefix()} · epoch ${r.epoch} · loss ${r.train_loss.toFixed(4)}${valid} · ${r.time_s.toFixed(1)}s + ${r.valid_time_s.toFixed(1)}s · ${Math.round(r.items_per_s)} items/s\n`);
  };
}

export function registerCompare(program: Command): void {
  const cmd = program.command('compare')
    .description('train and evaluate a grid of models × methods × seeds on one data set; writes results.json and summary.md')
    .requiredOption('--data <spec>', 'ml-100k:<dir>, ml-1m:<dir>, csv:<file>[,users=<file>] or synthetic[:key=value,…]')
    .option('--models <list>', 'comma-separated: sasrec, bert4rec, narm, gru4rec', listArg, ['sasrec'])
    .option('--methods <list>', 'comma-separated training methods', listArg, ['erm'])
    .option('--seeds <n|list>', 'number of seeds (1..n) or a list', seedsArg, [1])
    .addOption(new Option('--protocol <p>', 'ranking protocol: sampled (100 negatives), full, or all (sampled popularity/uniform, full with and without history) from the same models').argParser(choiceArg(['sampled', 'full', 'all'] as const)).default('sampled'))
    .addOption(new Option('--negatives <how>', 'sampled negatives: popularity (default) or uniform').argParser(choiceArg(['popularity', 'uniform'] as const)))
    .option('--exclude-seen', 'full ranking without the items of the user\'s history (--protocol full)')
    .option('--valid-protocol <key>', 'validation protocol with --protocol all: sampled-popularity (default), sampled-uniform, full, full-unseen')
    .option('--groups <list>', 'groupings to report: gender, age, occupation, group, popularity[:2060], length[:1080], …', listArg, [])
    .option('--out <dir>', 'output directory', 'out/compare')
    .option('--json', 'print the results as JSON instead of the Markdown table');
  addHyperOptions(cmd);
  cmd.addHelpText('after', `
Examples:
  seqfair compare --data ml-100k:../shared/datasets/ml-100k --models sasrec,bert4rec,narm --methods erm --seeds 5 --protocol sampled --out runs/ml100k
  seqfair compare --data ml-100k:../shared/datasets/ml-100k --models sasrec --protocol all --groups gender --out runs/ml100k-all
  seqfair compare --data synthetic:numUsers=500 --models sasrec --seeds 3 --epochs 20 --groups group --out runs/synthetic

A second invocation with the same options skips finished runs and resumes interrupted ones.`);
  cmd.action(async (opts: HyperFlags & { data: string; models: string[]; methods: string[]; seeds: number[]; protocol: ProtocolChoice; negatives?: 'popularity' | 'uniform'; excludeSeen?: boolean; validProtocol?: string; groups: string[]; out: string; json?: boolean }) => {
    if (opts.negatives !== undefined && opts.protocol !== 'sampled') usage(cmd, `--negatives applies to --protocol sampled only (got --protocol ${opts.protocol})`);
    if (opts.excludeSeen && opts.protocol !== 'full') usage(cmd, `--exclude-seen applies to --protocol full only (got --protocol ${opts.protocol})`);
    if (opts.validProtocol !== undefined) {
      if (opts.protocol !== 'all') usage(cmd, '--valid-protocol applies to --protocol all only (otherwise the reported protocol validates)');
      try {
        parseProtocolKey(opts.validProtocol);
      } catch (e) {
        usage(cmd, `--valid-protocol: ${(e as Error).message}`);
      }
    }
    const { dataset, settings } = await checkSetup(cmd, { data: opts.data, models: opts.models, methods: opts.methods, groups: opts.groups, flags: opts, seeds: opts.seeds });
    let current = '';
    const printer = progressPrinter(() => current);
    const onEvent = (e: CompareEvent): void => {
      if (e.kind === 'skip') process.stderr.write(`[${e.index}/${e.total}] ${e.key}: finished before, skipped\n`);
      else if (e.kind === 'complete') process.stderr.write(`[${e.index}/${e.total}] ${e.key}: evaluating ${e.protocols.join(', ')} from its checkpoint\n`);
      else if (e.kind === 'start') {
        current = `[${e.index}/${e.total}] ${e.model} ${e.method} seed ${e.seed}`;
        process.stderr.write(`${current}: training (${path.join(opts.out, 'runs', e.key)})\n`);
      } else if (e.kind === 'progress') printer(e.event);
      else {
        const r = e.record;
        const k = reportedProtocols(opts.protocol, opts.negatives, opts.excludeSeen)[0]!;
        const t = r.protocols[k]!.test.overall;
        process.stderr.write(`${current}: done in ${r.epochs_trained} epochs (best ${r.best_epoch}), test ${k} recall@5 ${t['recall@5']!.toFixed(4)} ndcg@5 ${t['ndcg@5']!.toFixed(4)}\n`);
      }
    };
    const res = await compare({
      data: opts.data, dataset, models: opts.models, methods: opts.methods, seeds: opts.seeds, protocol: opts.protocol,
      negatives: opts.negatives, excludeSeen: opts.excludeSeen, validProtocol: opts.validProtocol, groups: opts.groups, out: opts.out,
      train: settings.train, modelOptions: settings.model, perModelOptions: settings.models, methodParams: settings.methods, onEvent,
    });
    const files = { results: path.join(opts.out, 'results.json'), summary: path.join(opts.out, 'summary.md') };
    if (opts.json) process.stdout.write(`${JSON.stringify({ ...files, trained: res.trained, skipped: res.skipped, runs: res.runs })}\n`);
    else process.stdout.write(`${res.summary}\nwrote ${files.results} and ${files.summary} (${res.trained} trained, ${res.skipped} skipped)\n`);
  });
}
