/**
 * The library API: what the `seqfair` command does, as typed functions. Everything here is a
 * re-export or a thin adapter over the implementation modules; the command line
 * (src/cli/commands/*.ts) calls the same functions.
 *
 *   loadDataset(spec)          a data spec string ('ml-100k:<dir>', 'synthetic:numUsers=500', …) or
 *                              its parsed form ({ kind: 'synthetic', options: {…}, name }) → Dataset
 *   train(model, data, cfg)    the training loop (src/train/trainer.ts)
 *   trainRun(spec, dir)        one run as `seqfair train` does it: train, evaluate under every
 *                              protocol, write result.json / per-user.json / checkpoint/ (resumes)
 *   evaluate(model, data, o)   full or sampled ranking, overall and per group (src/eval)
 *   compare(options)           the model × method × seed grid of `seqfair compare`
 *   writeReport(results, dir)  the tables, SVG charts and HTML of `seqfair report`
 *   loadCheckpoint / evaluateCheckpoint / auditCheckpoint / runDemo: `seqfair eval`, `audit`, `demo`
 *   models, objectives         factories and names: models.create('sasrec', {...}),
 *                              objectives.create('cvar-dro', { alpha: 0.3 })
 *
 * The engine (tensors, `nn`, `optim`) is exported beside this from src/index.ts.
 */
import path from 'node:path';
import { type DataSpec, loadDataSpec } from './compare/data-spec.js';
import type { Dataset } from './data/preprocess.js';
import {
  OBJECTIVE_DEFAULTS, OBJECTIVE_NAMES, createObjective, isObjectiveName, needsGroups,
} from './fairness/index.js';
import { MODEL_DEFAULTS, MODEL_NAMES, createModel, isModelName } from './models/index.js';

export { train } from './train/trainer.js';
export type { TrainConfig, TrainResult, EpochRecord, EpochProgress, ResolvedTrainConfig, TrainGroups } from './train/trainer.js';
export { saveModel, loadModel } from './train/checkpoint.js';
export { runOne as trainRun, readRun } from './compare/run.js';
export type { RunSpec, RunRecord, RunConfig, TrainSettings } from './compare/run.js';
export { evaluate, flatEvaluation, flatMetrics, parseProtocolKey, protocolKey } from './eval/evaluate.js';
export type { EvaluateOptions, Evaluation, ProtocolSpec } from './eval/evaluate.js';
export { resolveGroupings } from './eval/groupings.js';
export type { Grouping } from './eval/groupings.js';
export { compare, parseDataSpec, registerMethod, methodNames } from './compare/index.js';
export type { CompareOptions, CompareResult, CompareEvent, DataSpec, MethodFactory, MethodContext } from './compare/index.js';
export { writeReport } from './report/index.js';
export type { WrittenReport, ReportOptions } from './report/index.js';
export { generateSynthetic } from './data/synthetic.js';
export type { SyntheticOptions } from './data/synthetic.js';
export type { Dataset } from './data/preprocess.js';
export type { Objective, ObjectiveContext } from './fairness/index.js';
export { loadCheckpoint, evaluateCheckpoint } from './cli/commands/eval.js';
export type { LoadedCheckpoint, CheckpointEvaluation, EvaluateCheckpointOptions } from './cli/commands/eval.js';
export { auditCheckpoint, auc } from './cli/commands/audit.js';
export type { AuditOptions as CheckpointAuditOptions, AuditReport } from './cli/commands/audit.js';
export { runDemo, DEMO_DEFAULTS } from './cli/commands/demo.js';
export type { DemoOptions, DemoResult } from './cli/commands/demo.js';

/** A data spec's parsed form, its `name` (used in reports) optional. */
export type DatasetOptions = DataSpec extends infer S ? (S extends DataSpec ? Omit<S, 'name'> & { name?: string } : never) : never;

/**
 * Loads and preprocesses a data set (src/compare/data-spec.ts) from a spec string
 * ('ml-100k:/data/ml-100k', 'synthetic:numUsers=500') or options
 * ({ kind: 'synthetic', options: { numUsers: 500 } }, { kind: 'ml-100k', dir: '/data/ml-100k' }).
 */
export function loadDataset(spec: string | DatasetOptions): Promise<Dataset> {
  if (typeof spec === 'string') return loadDataSpec(spec);
  const name = spec.name ?? (spec.kind === 'csv' ? path.basename(spec.file).replace(/\.[^.]+$/, '') : spec.kind);
  return loadDataSpec({ ...spec, name } as DataSpec);
}

/** The sequential recommenders: `models.create(name, options, gen?)`, their names and defaults. */
export const models = Object.freeze({
  create: createModel,
  names: MODEL_NAMES,
  defaults: MODEL_DEFAULTS,
  has: isModelName,
});

/** The training objectives: `objectives.create(name, options, setup?)`, their names and defaults. */
export const objectives = Object.freeze({
  create: createObjective,
  names: OBJECTIVE_NAMES,
  defaults: OBJECTIVE_DEFAULTS,
  has: isObjectiveName,
  needsGroups,
});

