/** Every benchmark case, in the order the table lists them. Names are fixed (CLI and JSON). */
import type { BenchCase } from '../case.js';
import { afsrStepCase } from './afsr-step.js';
import { attentionCase } from './attention.js';
import { dirichletCase } from './dirichlet.js';
import { embeddingCase } from './embedding.js';
import { gemmCase } from './gemm.js';
import { gradNormCase } from './grad-norm.js';
import { gruCase } from './gru.js';
import { narmStepCase, sasrecStepCase } from './model-step.js';
import { projCeCase } from './proj-ce.js';
import { sasrecEpochCase } from './sasrec-epoch.js';
import { topkCase } from './topk.js';

/** the MovieLens-100K item count: the step sizes use it */
const ML100K_ITEMS = 1683;

export const CASES: readonly BenchCase[] = [
  gemmCase(1024),
  gemmCase(2048),
  attentionCase,
  gruCase,
  projCeCase(1683),
  projCeCase(20_000),
  gradNormCase,
  embeddingCase,
  topkCase(1683, null),
  topkCase(100_000, 4096),
  dirichletCase,
  // training steps (model-step.ts, afsr-step.ts) and one epoch through the trainer
  sasrecStepCase('sasrec-step-b64', { B: 64, numItems: ML100K_ITEMS }), // tfjs-cpu: 45 s per call measured
  sasrecStepCase('sasrec-step-b256', { B: 256, numItems: ML100K_ITEMS }, {
    slow: { 'tfjs-cpu': 'over 1 min per call estimated (its output layer alone is proj-ce-1683: 50-70 s)' },
  }),
  sasrecStepCase('sasrec-step-20k-b128', { B: 128, numItems: 20_000 }, {
    memory: true,
    slow: { 'tfjs-cpu': 'minutes per call estimated (its output layer is half of proj-ce-20000: 10-14 min)' },
  }),
  narmStepCase('narm-step-b256', { B: 256, numItems: ML100K_ITEMS }, {
    slow: { 'tfjs-cpu': '78 s per call measured (machine under load)' },
  }),
  afsrStepCase('afsr-step-b256', { B: 256, numItems: ML100K_ITEMS }, {
    slow: { 'tfjs-cpu': 'over 1 min per call estimated (more than sasrec-step-b256)' },
  }),
  sasrecEpochCase,
];
