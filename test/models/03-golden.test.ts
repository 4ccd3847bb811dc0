/**
 * 3. The product SASRec is the golden model: the sasrec_steps cases (FORMAT.md 4.16: losses and
 *    seq_losses, every gradient at θ0, every parameter after 3 Adam steps) pass through the
 *    golden runner (src/golden/run.ts → sasrec-steps.ts → src/models/sasrec.ts), on the
 *    reference backend and on the cpu backend.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Backend, referenceBackend, withBackend } from '../../src/backend/index.js';
import { formatResult, runCase } from '../../src/golden/run.js';
import { goldenCases, goldenDir } from '../nn/golden.js';
import { cpuOrNull, cpuSkipNote } from './helpers.js';

const cases = goldenCases('sasrec_steps');
if (cases.length === 0) {
  console.warn(`3. sasrec_steps golden tests SKIPPED: no sasrec_steps-*.json in ${goldenDir} (set SEQFAIR_GOLDEN to the fixture directory)`);
}

const backends: [string, Backend | null, string][] = [
  ['reference', referenceBackend, ''],
  ['cpu', cpuOrNull, cpuSkipNote],
];

describe.skipIf(cases.length === 0)(`3. SASRec equals the golden model (${goldenDir})`, () => {
  for (const [name, be, note] of backends) {
    describe.skipIf(be === null)(`on ${name}${note}`, () => {
      for (const file of cases) {
        it(`3 ${file} on ${name}`, () => {
          const r = withBackend(be!, () => runCase(path.join(goldenDir, file)));
          expect(r.pass, formatResult(r)).toBe(true);
          expect(r.op).toBe('sasrec_steps');
        });
      }
    });
  }
});
