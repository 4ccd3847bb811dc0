/**
 * seqfair: fair sequential recommendation without user demographics, on its own autograd engine.
 * The engine-level library: tensors and ops, modules, optimisers, backends.
 */
export * from './engine/index.js';
export { info, getBackend, setBackend, withBackend, setThreads } from './backend/index.js';
export type { Backend, BackendInfo, BackendName } from './backend/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * from './models/index.js';
export type { SequentialRecommender, ModelName, TargetKind } from './models/types.js';
export { runGolden, runCase } from './golden/run.js';
export { cvarWeights } from './fairness/cvar.js';
export { chi2Weights } from './fairness/chi2.js';
export { exponentiatedStep, robustLoss, streamLosses } from './fairness/group-weights.js';
export * from './api.js';
