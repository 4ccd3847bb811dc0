/** Runs every *.json golden case of a directory on the current backend. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { caseRunners } from './cases.js';
import { Comparer, readCase } from './format.js';

export interface CaseResult {
  file: string;
  op: string;
  pass: boolean;
  maxAbs: number;
  maxRel: number;
  /** what failed (mismatching tensors or the error thrown) */
  problems: string[];
}

export function runCase(file: string): CaseResult {
  let op = '?';
  try {
    const c = readCase(file);
    op = c.op;
    const runner = caseRunners[c.op];
    if (!runner) throw new Error(`unknown op "${c.op}" (known: ${Object.keys(caseRunners).join(', ')})`);
    const cmp = new Comparer(c.tolerance);
    runner(c, cmp);
    const r = cmp.result;
    return { file, op, pass: r.mismatches.length === 0, maxAbs: r.maxAbs, maxRel: r.maxRel,
      problems: r.mismatches.map((m) => `${m.name}: ${m.message}`) };
  } catch (e) {
    return { file, op, pass: false, maxAbs: NaN, maxRel: NaN, problems: [(e as Error).message] };
  }
}

export function goldenFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => join(dir, f));
}

export function runGolden(dir: string, onResult?: (r: CaseResult) => void): CaseResult[] {
  const files = goldenFiles(dir);
  if (files.length === 0) throw new Error(`golden: no *.json cases in ${dir}`);
  return files.map((f) => {
    const r = runCase(f);
    onResult?.(r);
    return r;
  });
}

export function formatResult(r: CaseResult): string {
  const name = r.file.split('/').pop();
  const errs = `max abs ${r.maxAbs.toExponential(2)}, max rel ${r.maxRel.toExponential(2)}`;
  return `${r.pass ? 'PASS' : 'FAIL'} ${name} (${r.op}) ${errs}${r.pass ? '' : `\n     ${r.problems.join('\n     ')}`}`;
}
