/** The end-to-end golden case (FORMAT.md 4.16): a tiny SASRec trained for 3 Adam steps. */
import type { Comparer, GoldenCase } from './format.js';

export function runSasrecSteps(_c: GoldenCase, _cmp: Comparer): void {
  throw new Error('sasrec_steps: the SASRec model is not built yet');
}
