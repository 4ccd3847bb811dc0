/** Every benchmark case, in the order the table lists them. Names are fixed (CLI and JSON). */
import type { BenchCase } from '../case.js';
import { attentionCase } from './attention.js';
import { dirichletCase } from './dirichlet.js';
import { embeddingCase } from './embedding.js';
import { gemmCase } from './gemm.js';
import { gradNormCase } from './grad-norm.js';
import { gruCase } from './gru.js';
import { projCeCase } from './proj-ce.js';
import { topkCase } from './topk.js';

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
];
