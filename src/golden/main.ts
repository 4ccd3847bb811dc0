/** `npm run golden -- <dir>` / `seqfair golden <dir>`: every golden case in <dir>; 1 if any fails. */
import { info } from '../backend/index.js';
import { formatResult, runGolden } from './run.js';

export function goldenMain(dir: string | undefined): number {
  if (!dir) {
    process.stderr.write('usage: golden <dir>   (a directory of *.json cases, see FORMAT.md)\n');
    return 2;
  }
  const i = info();
  process.stdout.write(`golden: ${dir} on backend ${i.backend} (${i.threads} threads, ${i.simd})\n`);
  let results;
  try {
    results = runGolden(dir, (r) => process.stdout.write(`${formatResult(r)}\n`));
  } catch (e) {
    process.stderr.write(`golden: ${(e as Error).message}\n`);
    return 1;
  }
  const failed = results.filter((r) => !r.pass).length;
  process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}
