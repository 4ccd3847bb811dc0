/**
 * `seqfair bench [args…]`: a pass-through to the benchmark suite (bench/main.ts, `npm run bench`),
 * which lives in the source repository beside src/ and runs under tsx. Every argument after
 * `bench` goes to it unchanged and its exit status is returned (0 ok, 1 a row failed, 2 usage).
 *
 * The suite is spawned as `node --import tsx bench/main.ts …` (what `npm run bench --` runs,
 * without npm's banner on stdout, so `--json` stays parseable) rather than imported: bench/main.ts
 * starts on import with the process's own arguments, and the built CLI (dist/) cannot import a .ts
 * file.
 *
 * Exit status: the suite's; 1 when it is not there (an installed package ships without bench/).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

/** The package root: the directory above src/ (tsx) or dist/ (built). */
export function packageRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

/** Runs bench/main.ts with `args`; resolves to its exit status. */
export function runBench(args: readonly string[], root = packageRoot()): Promise<number> {
  const main = path.join(root, 'bench', 'main.ts');
  if (!existsSync(main)) {
    process.stderr.write(`seqfair bench: the benchmark suite is not here (${main} does not exist); it ships with the source repository: clone it, npm install, then npm run bench\n`);
    return Promise.resolve(1);
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], { cwd: root, stdio: 'inherit' });
    child.on('error', (e) => {
      process.stderr.write(`seqfair bench: cannot start the benchmark suite: ${e.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

export function registerBench(program: Command): void {
  const cmd = program.command('bench')
    .description('run the kernel benchmark suite (bench/main.ts; every argument is passed on)')
    .argument('[args...]', 'arguments of the suite: --json, --only CASES, --impl IMPLS, --full, --check, --reps N, --threads N')
    .allowUnknownOption()
    .allowExcessArguments();
  cmd.addHelpText('after', `
Examples:
  seqfair bench                                  # every case, a table on stdout
  seqfair bench --only gemm-1024,attention --reps 5
  seqfair bench --json --impl seqfair-cpu > bench.jsonl
  seqfair bench -- --help                        # the suite's own usage

Needs the source repository (bench/ and the dev dependencies: tsx, @tensorflow/tfjs).`);
  cmd.action(async (args: string[]) => {
    process.exitCode = await runBench(args);
  });
}
