#!/usr/bin/env node
/** `npm run golden -- <dir>`: runs every golden case in <dir>; exit 1 if any fails. */
import { info } from '../backend/index.js';
import { formatResult, runGolden } from './run.js';

export function goldenMain(dir: string | undefined): number {
  if (!dir) {
    process.stderr.write('usage: golden <dir>   (a directory of *.json cases, see FORMAT.md)\n');
    return 2;
  }
  const i = info();
  process.stdout.write(`golden: ${dir} on backend ${i.backend} (${i.threads} threads, ${i.simd})\n`);
  const results = runGolden(dir, (r) => process.stdout.write(`${formatResult(r)}\n`));
  const failed = results.filter((r) => !r.pass).length;
  process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}

// run when executed directly (not when imported by the CLI)
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  try {
    process.exitCode = goldenMain(process.argv[2]);
  } catch (e) {
    process.stderr.write(`golden: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
