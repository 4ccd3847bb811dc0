/**
 * One run of the grid: build a model from its seed, train it with a method, evaluate the best
 * weights on validation and test under every protocol, and write the run's files:
 *
 *   <dir>/result.json     the run: what was trained (every hyper-parameter), how long, and its
 *                         validation and test metrics under each protocol (overall and per group)
 *   <dir>/per-user.json   per-user ranks and metric vectors (test; ranks for validation), for
 *                         paired tests across methods and seeds
 *   <dir>/train.jsonl     the training log, one line per epoch
 *   <dir>/checkpoint/     last/ (resume point) and best/model.safetensors
 *
 * A run is trained once and ranked four ways (sampled with popularity negatives, sampled with
 * uniform negatives, full ranking with and without the user's history) from the same scores, because the papers disagree on the
 * protocol (issue 3) and a model's rank under one says little about the others. Validation
 * (early stopping) uses one protocol, recorded in the config.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Generator, Streams } from '../engine/index.js';
import type { Dataset } from '../data/preprocess.js';
import { MODEL_DEFAULTS, createModel, isModelName } from '../models/index.js';
import type { SequentialRecommender } from '../models/types.js';
import { type Grouping, resolveGroupings } from '../eval/groupings.js';
import { type Evaluation, evaluate, flatEvaluation, flatMetrics, parseProtocolKey } from '../eval/evaluate.js';
import { type EpochProgress, type ResolvedTrainConfig, type TrainConfig, resolveTrainConfig, train } from '../train/trainer.js';
import { loadModel } from '../train/checkpoint.js';
import { createMethod } from './methods.js';

/**
 * The sampled/full protocols of a run's config (part of its key; kept as first released so run
 * keys stay stable).
 */
export const EVAL_PROTOCOLS = ['sampled-popularity', 'sampled-uniform', 'full'] as const;

/**
 * Every protocol a run is evaluated under: EVAL_PROTOCOLS and full ranking without the items of
 * the user's history ('full-unseen', what most full-ranking evaluations report; the issue's
 * reference numbers match it). A finished run that lacks one gets it from its checkpoint
 * (completeRun), so adding a protocol never retrains.
 */
export const RUN_PROTOCOLS = [...EVAL_PROTOCOLS, 'full-unseen'] as const;

/** Training hyper-parameters a grid may set (everything of TrainConfig that is a value). */
export type TrainSettings = Omit<TrainConfig, 'objective' | 'log' | 'checkpointDir' | 'onProgress' | 'groups' | 'resume' | 'seed'>;

export interface RunSpec {
  dataset: Dataset;
  /** the data spec as given, recorded in results */
  data: string;
  model: string;
  /** model options on top of the model's defaults (hiddenSize, layers, heads, dropout, maxLen, …) */
  modelOptions?: Record<string, number | boolean | string>;
  method: string;
  methodParams?: Record<string, unknown>;
  seed: number;
  train: TrainSettings;
  /** grouping specs to summarise (gender, popularity:2060, …) */
  groups?: readonly string[];
}

export interface RunConfig {
  data: string;
  dataset: string;
  model: Record<string, unknown>;
  method: { name: string; params: Record<string, unknown> };
  train: ResolvedTrainConfig;
  eval: { protocols: string[]; negatives_seed: number; num_negatives: number };
}

export interface ProtocolResult {
  valid: Record<string, number>;
  valid_loss: number;
  test: ReturnType<typeof flatEvaluation>;
}

export interface RunRecord {
  key: string;
  model: string;
  method: string;
  seed: number;
  dataset: string;
  config: RunConfig;
  epochs_trained: number;
  best_epoch: number | null;
  stopped_early: boolean;
  /** seconds of training (without validation), and of training plus validation, over all epochs */
  train_time_s: number;
  wall_time_s: number;
  mean_epoch_s: number;
  group_sizes: Record<string, Record<string, number>>;
  /** by protocol key (RUN_PROTOCOLS) */
  protocols: Record<string, ProtocolResult>;
}

export interface RunEvent {
  kind: 'epoch';
  progress: EpochProgress;
}

function hash(v: unknown): string {
  return createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 8);
}

/** Builds the model of a run from its seed (init and dropout generators of its own). */
export function buildModel(name: string, ds: Dataset, seed: number, options: Record<string, unknown> = {}): SequentialRecommender {
  if (!isModelName(name)) throw new RangeError(`unknown model '${name}' (known: ${Object.keys(MODEL_DEFAULTS).join(', ')})`);
  return createModel(name, { ...options, numItems: ds.numItems, dropoutGen: new Generator(seed, Streams.dropout) } as never, new Generator(seed, Streams.init));
}

/** The run's full config and its key (model-method-seed plus a hash of everything else). */
export function runConfig(spec: RunSpec, model: SequentialRecommender, trainCfg: ResolvedTrainConfig, methodParams: Record<string, unknown>): { key: string; config: RunConfig } {
  const config: RunConfig = {
    data: spec.data,
    dataset: spec.dataset.name,
    model: {
      name: spec.model, ...MODEL_DEFAULTS[model.modelName], ...(spec.modelOptions ?? {}),
      hiddenSize: model.hiddenSize, maxLen: model.maxLen, numParameters: model.numParameters(),
    },
    method: { name: spec.method, params: methodParams },
    train: trainCfg,
    eval: { protocols: [...EVAL_PROTOCOLS], negatives_seed: spec.seed, num_negatives: 100 },
  };
  const key = `${spec.model}-${spec.method}-seed${spec.seed}-${hash(config)}`;
  return { key, config };
}

function writeJson(file: string, v: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(v, null, 1)}\n`);
  renameSync(tmp, file);
}

/** Reads a finished run's result.json, or null when there is none. */
export function readRun(dir: string): RunRecord | null {
  const file = path.join(dir, 'result.json');
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RunRecord;
  } catch (e) {
    throw new Error(`${file} cannot be read (${(e as Error).message}); delete it to re-run`);
  }
}

/** Per-user side-file entries (ranks and metric vectors) of the given protocols. */
function perUserProtocols(valid: Evaluation, test: Evaluation): Record<string, unknown> {
  const protocols: Record<string, unknown> = {};
  for (const k of Object.keys(test.protocols)) {
    const t = test.protocols[k]!.perUser;
    const vectors: Record<string, number[]> = {};
    for (const kk of t.ks) {
      vectors[`recall@${kk}`] = [...t.recall[kk]!];
      vectors[`ndcg@${kk}`] = [...t.ndcg[kk]!];
    }
    vectors.mrr = [...t.mrr];
    protocols[k] = { test: { ranks: [...t.ranks], ...vectors }, valid: { ranks: [...valid.protocols[k]!.perUser.ranks] } };
  }
  return protocols;
}

/** Evaluates a trained model of a run on validation and test under the given protocol keys. */
function evaluateRun(model: SequentialRecommender, spec: RunSpec, maxLen: number, keys: readonly string[]): { results: Record<string, ProtocolResult>; valid: Evaluation; test: Evaluation } {
  const ds = spec.dataset;
  const groupings: Grouping[] = resolveGroupings(ds, spec.groups ?? []);
  const labels = Object.fromEntries(groupings.map((g) => [g.name, g.labels]));
  const opts = { protocols: keys.map((k) => parseProtocolKey(k)), seed: spec.seed, groupings: labels, maxLen };
  const valid = evaluate(model, ds, { ...opts, split: 'valid' });
  const test = evaluate(model, ds, { ...opts, split: 'test' });
  const results: Record<string, ProtocolResult> = {};
  for (const k of keys) {
    results[k] = { valid: flatMetrics(valid.protocols[k]!.overall), valid_loss: valid.meanLoss, test: flatEvaluation(test.protocols[k]!) };
  }
  return { results, valid, test };
}

/**
 * Trains and evaluates one run into `dir` (resuming from its checkpoint when one is there).
 * Returns the record also written to `<dir>/result.json`.
 */
export function runOne(spec: RunSpec, dir: string, onEvent?: (e: RunEvent) => void): RunRecord {
  const ds = spec.dataset;
  const groupings: Grouping[] = resolveGroupings(ds, spec.groups ?? []);
  const model = buildModel(spec.model, ds, spec.seed, spec.modelOptions);
  const method = createMethod(spec.method, { dataset: ds, seed: spec.seed, params: spec.methodParams ?? {}, model, batchSize: spec.train.batchSize });
  const cfg: TrainConfig = { ...spec.train, seed: spec.seed, objective: method.objective, groups: method.groups ?? null };
  const resolved = resolveTrainConfig(model, cfg);
  const { key, config } = runConfig(spec, model, resolved, method.params ?? spec.methodParams ?? {});
  mkdirSync(dir, { recursive: true });
  const r = train(model, ds, {
    ...cfg,
    log: path.join(dir, 'train.jsonl'),
    checkpointDir: path.join(dir, 'checkpoint'),
    onProgress: onEvent ? (p) => onEvent({ kind: 'epoch', progress: p }) : undefined,
  });
  const { results, valid, test } = evaluateRun(model, spec, resolved.maxLen, RUN_PROTOCOLS);
  const groupSizes: Record<string, Record<string, number>> = {};
  for (const g of groupings) {
    const counts: Record<string, number> = {};
    for (const l of g.labels) counts[l] = (counts[l] ?? 0) + 1;
    groupSizes[g.name] = Object.fromEntries(Object.keys(counts).sort().map((l) => [l, counts[l]!]));
  }
  const trainTime = r.history.reduce((s, h) => s + h.time_s, 0);
  const record: RunRecord = {
    key, model: spec.model, method: spec.method, seed: spec.seed, dataset: ds.name, config,
    epochs_trained: r.epochsTrained, best_epoch: r.bestEpoch, stopped_early: r.stoppedEarly,
    train_time_s: trainTime,
    wall_time_s: r.history.reduce((s, h) => s + h.time_s + h.valid_time_s, 0),
    mean_epoch_s: r.history.length ? trainTime / r.history.length : 0,
    group_sizes: groupSizes,
    protocols: results,
  };
  writeJson(path.join(dir, 'per-user.json'), {
    note: 'ranks are 0-based and pessimistic on ties; row i of every vector belongs to users[i] (user index) / user_ids[i] (raw id)',
    users: [...test.users], user_ids: [...test.users].map((u) => ds.userIds[u]), valid_users: [...valid.users],
    test_loss: [...test.loss], protocols: perUserProtocols(valid, test),
  });
  writeJson(path.join(dir, 'result.json'), record);
  return record;
}

/**
 * Adds protocols a finished run lacks (a run of an older version) by evaluating its final
 * weights — the best checkpoint when it validated, else the last — without training. Updates
 * result.json and per-user.json in place and returns the completed record.
 */
export function completeRun(spec: RunSpec, dir: string, rec: RunRecord, keys: readonly string[]): RunRecord {
  const missing = keys.filter((k) => rec.protocols[k] === undefined);
  if (missing.length === 0) return rec;
  const model = buildModel(spec.model, spec.dataset, spec.seed, spec.modelOptions);
  const best = path.join(dir, 'checkpoint', 'best', 'model.safetensors');
  const last = path.join(dir, 'checkpoint', 'last', 'model.safetensors');
  const file = rec.config.train.validation !== null && existsSync(best) ? best : last;
  if (!existsSync(file)) throw new Error(`${dir}: the run lacks protocol(s) ${missing.join(', ')} and has no checkpoint to evaluate; delete its result.json to re-run it`);
  loadModel(model, file);
  const { results, valid, test } = evaluateRun(model, spec, rec.config.train.maxLen, missing);
  const updated: RunRecord = { ...rec, protocols: { ...rec.protocols, ...results } };
  const perUserPath = path.join(dir, 'per-user.json');
  const perUser = existsSync(perUserPath) ? JSON.parse(readFileSync(perUserPath, 'utf8')) as { protocols: Record<string, unknown> } : { protocols: {} };
  perUser.protocols = { ...perUser.protocols, ...perUserProtocols(valid, test) };
  writeJson(perUserPath, perUser);
  writeJson(path.join(dir, 'result.json'), updated);
  return updated;
}
