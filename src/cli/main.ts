#!/usr/bin/env node
/**
 * The `seqfair` command. Exit status: 0 ok, 1 failed, 2 usage error.
 */
import { Command, CommanderError } from 'commander';
import { info } from '../backend/index.js';
import { goldenMain } from '../golden/main.js';
import { registerAudit } from './commands/audit.js';
import { registerBench } from './commands/bench.js';
import { registerCompare, usage } from './commands/compare.js';
import { registerDemo } from './commands/demo.js';
import { registerEval } from './commands/eval.js';
import { registerReport } from './commands/report.js';
import { registerTrain } from './commands/train.js';
import { TrainConfigSchema, UsageError, readConfig } from './config.js';

export function buildProgram(): Command {
  const program = new Command('seqfair')
    .description('Fair sequential recommendation without user demographics')
    .showHelpAfterError()
    .exitOverride();

  program.command('info')
    .description('print the backend in use, its threads and vector instruction set')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  seqfair info\n  SEQFAIR_BACKEND=reference seqfair info --json')
    .action((opts: { json?: boolean }) => {
      const i = info();
      if (opts.json) process.stdout.write(`${JSON.stringify(i)}\n`);
      else {
        process.stdout.write(`backend: ${i.backend}\nthreads: ${i.threads}\nsimd: ${i.simd}\n`);
        process.stdout.write(`memory: ${i.memory === 'kept' ? 'freed heap memory kept for reuse (SEQFAIR_MALLOC=default: glibc\'s policy)' : i.memory}\n`);
        if (i.note) process.stdout.write(`note: ${i.note}\n`);
      }
    });

  program.command('golden')
    .description('run every golden case (*.json, see FORMAT.md) in a directory on the current backend')
    .argument('<dir>', 'directory of golden cases')
    .addHelpText('after', '\nExamples:\n  seqfair golden ../shared/golden\n  SEQFAIR_BACKEND=reference seqfair golden ../shared/golden')
    .action((dir: string) => {
      process.exitCode = goldenMain(dir);
    });

  registerDemo(program);
  registerTrain(program);
  registerCompare(program);
  registerEval(program);
  registerAudit(program);
  registerReport(program);
  registerBench(program);
  // train and compare: the config file is checked field by field (zod, src/cli/config.ts) first
  program.hook('preAction', (_program, action) => {
    const file = (action.opts() as { config?: string }).config;
    if (file === undefined || !['train', 'compare'].includes(action.name())) return;
    try {
      readConfig(TrainConfigSchema, file);
    } catch (e) {
      if (e instanceof UsageError) usage(action, e.message);
      throw e;
    }
  });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version exit 0; everything else commander rejects is a usage error
      return e.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(`seqfair: ${(e as Error).message}\n`);
    return 1;
  }
}

if (process.argv[1] && /(?:^|[\\/])(main\.[jt]s|seqfair)$/.test(process.argv[1])) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
